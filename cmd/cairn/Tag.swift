import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List, create, move (--force) or delete tags.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .short, help: "Delete the tag NAME.") var d = false
    @Argument(help: "The tag.") var name: String?
    @Argument(help: "What it names (default: HEAD).") var rev: String?
    @Flag(help: "Move the tag NAME if it exists.") var force = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        if d {
            guard let name, rev == nil else { throw CLIError.usage("tag -d takes one NAME") }
            try ctx.repo.deleteTag(name)
            return
        }
        guard let name else {
            for (t, _) in try ctx.repo.tags() { print(t) }
            return
        }
        try ctx.repo.setTag(name, at: try ctx.repo.resolveCommit(rev ?? "HEAD").hash, force: force)
    }
}
