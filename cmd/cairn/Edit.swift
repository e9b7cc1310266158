import ArgumentParser
import CairnVersioning

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set the value at PATH in the working set.",
        discussion: "The last segment is created if missing; the segments before it must exist.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A JSON Pointer, such as /people/k1/name.") var path: String
    @Argument(help: "The value, as JSON.") var json: String

    func run() throws {
        let p = try ValuePath(parsing: path)
        guard !p.segments.isEmpty else { throw CLIError.usage("cannot replace the whole root; name a path below it") }
        if p.segments.count == 1 { try Repository.validateTableName(p.segments[0]) }
        let ctx = try Context(global)
        defer { ctx.close() }
        let value = try JSON.parse(json, store: ctx.repo.store)
        try ctx.repo.edit(at: p, value: value)
    }
}

struct Rm: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove the value at PATH from the working set.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A JSON Pointer, such as /people/k1.") var path: String

    func run() throws {
        let p = try ValuePath(parsing: path)
        guard !p.segments.isEmpty else { throw CLIError.usage("cannot remove the whole root") }
        let ctx = try Context(global)
        defer { ctx.close() }
        try ctx.repo.edit(at: p, value: nil)
    }
}
