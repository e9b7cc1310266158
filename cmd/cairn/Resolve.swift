import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Settle a conflict of the merge in progress.",
        discussion: """
            --ours keeps the working set's value, --theirs takes the merged branch's (removing \
            the value where that side deleted it), both for every conflict at or under PATH (a \
            table, a row); --value JSON sets the value at PATH.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The conflict's path, or a path above several.") var path: String
    @Flag(help: "Keep ours.") var ours = false
    @Flag(help: "Take theirs.") var theirs = false
    @Option(help: "Set this value (JSON).") var value: String?
    @Flag(help: "Read Cairn's tagged JSON forms in --value.") var tagged = false

    func run() throws {
        guard [ours, theirs, value != nil].filter({ $0 }).count == 1 else {
            throw CLIError.usage("resolve takes exactly one of --ours, --theirs or --value JSON")
        }
        let p = try ValuePath(parsing: path)
        let ctx = try Context(global)
        defer { ctx.close() }
        let resolution: Repository.Resolution
        if let value { resolution = .value(try JSON.parse(value, store: ctx.repo.store, tagged: tagged)) } else {
            resolution = ours ? .ours : .theirs
        }
        let settled = try ctx.repo.resolve(p, with: resolution)
        let left = try ctx.repo.conflicts().count
        print("Resolved \(settled.count) conflict\(settled.count == 1 ? "" : "s"); \(left) left"
            + (left == 0 ? ": run 'cairn merge --continue' to commit the merge" : ""))
    }
}
