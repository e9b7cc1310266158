import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Show a table's columns, their ids and its key; rename or drop a column.",
        discussion: """
            A column's id survives renames and moves, so a rename changes no row and diff shows \
            it as one schema change. Dropping a column removes its cells from the rows that have \
            one. Key columns cannot be dropped.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The table (a top-level name).") var table: String
    @Flag(help: "Print one JSON document: columns (name, id), key.") var json = false
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Rename column OLD to NEW.", valueName: "OLD NEW")) var rename: [String] = []
    @Option(help: ArgumentHelp("Drop COLUMN and its cells.", valueName: "COLUMN")) var drop: String?

    func run() throws {
        guard rename.isEmpty || rename.count == 2 else { throw CLIError.usage("--rename takes OLD NEW") }
        guard rename.isEmpty || drop == nil else { throw CLIError.usage("use --rename or --drop, not both") }
        let ctx = try Context(global)
        defer { ctx.close() }
        if rename.count == 2 {
            try ctx.repo.renameColumn(table: table, from: rename[0], to: rename[1])
            return
        }
        if let drop {
            try ctx.repo.dropColumn(table: table, column: drop)
            return
        }
        let t = try ctx.repo.table(table, in: try ctx.repo.workingRoot())
        if json {
            let cols = t.schema.columns.map {
                JSONObject().add("name", $0.name).add("id", RootDiff.columnIDText($0.id)).text
            }
            let key = t.schema.keyColumns.map { jsonQuoted($0.name) }
            var doc = JSONObject().add(raw: "columns", "[" + cols.joined(separator: ",") + "]")
                .add(raw: "key", "[" + key.joined(separator: ",") + "]")
                .add("format", t.schema.format)
                .add(raw: "infer", t.schema.infer ? "true" : "false")
            if let n = t.schema.null { doc = doc.add("null", n) }
            print(doc.text)
        } else {
            for c in t.schema.columns {
                print("\(RootDiff.columnIDText(c.id))  \(c.name)\(c.isKey ? "  (key)" : "")")
            }
            print("key: " + t.schema.keyColumns.map(\.name).joined(separator: ", "))
        }
    }
}
