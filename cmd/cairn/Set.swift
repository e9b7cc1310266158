import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set the value at PATH in the working set.",
        discussion: """
            The last segment is created if missing; the segments before it must exist. In a \
            table, /TABLE/KEY... names a row (set it from a JSON object) and /TABLE/KEY.../COLUMN \
            a cell; a new column is added to the schema. A key segment is typed as an imported \
            cell would be. JSON that starts with '-' (a negative number) is taken as JSON.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A JSON Pointer, such as /people/k1/name.") var path: String
    @Argument(help: "The value, as JSON.") var json: String
    @Flag(help: "Read Cairn's tagged JSON forms ({\"$set\": [...]}, ...) as their kinds.") var tagged = false

    func run() throws {
        let p = try ValuePath(parsing: path)
        guard !p.segments.isEmpty else { throw CLIError.usage("cannot replace the whole root; name a path below it") }
        if p.segments.count == 1 { try Repository.validateTableName(p.segments[0]) }
        let ctx = try Context(global)
        defer { ctx.close() }
        let value = try JSON.parse(json, store: ctx.repo.store, tagged: tagged)
        try ctx.repo.edit(at: p, value: value)
    }
}
