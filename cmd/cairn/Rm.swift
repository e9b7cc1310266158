import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Rm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove the value at PATH from the working set.",
        discussion: "In a table: a row, every row under a key prefix, or a cell (it becomes missing). Key columns cannot be removed.")

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
