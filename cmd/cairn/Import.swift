import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a file into the working set as a table or document.",
        discussion: """
            CSV: the first row is the header; each row is keyed by --key (default: the first \
            column; A,B for a composite key, one path segment per key column); cells are typed \
            one by one (canonical integers, exact floats, else strings); an empty cell, or one \
            equal to --null, is a missing cell. NDJSON: one object a line, keyed by --key. JSON: \
            the value it spells, or with --key an array of objects as a table. blob: the bytes. \
            FILE '-' reads standard input. A re-import replaces the table, so the next diff shows \
            just what changed. The file is streamed; an import applies whole or not at all.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The file to import ('-' for standard input).") var file: String
    @Option(help: "The name to import as (a top-level name; not starting with '.').") var table: String
    @Option(help: ArgumentHelp("The key column(s): A,B for a composite key, one path segment per column.", valueName: "COL[,COL...]")) var key: String?
    @Option(help: "csv, json, ndjson or blob (default: from the file's extension).") var format: String?
    @Flag(help: "Keep every CSV cell a string.") var noInfer = false
    @Option(help: ArgumentHelp("A CSV cell equal to TEXT is a missing cell; export writes it back.", valueName: "TEXT")) var null: String?
    @Flag(help: "Read Cairn's tagged JSON forms ({\"$set\": [...]}, ...) as their kinds.") var tagged = false

    func run() throws {
        let fmt = try format.map { $0.lowercased() } ?? Self.formatFromExtension(file)
        let keys = key.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let keys, keys.contains(where: \.isEmpty) { throw CLIError.usage("--key names an empty column") }
        let ctx = try Context(global)
        defer { ctx.close() }
        let bar = ProgressBar(label: "importing")
        defer { bar?.finish() }
        switch fmt {
        case "csv":
            let s = try ctx.repo.importCSV(path: file, table: table, options: .init(key: keys, infer: !noInfer, null: null),
                                           tempDirectory: try ctx.tempDirectory(), progress: bar?.update)
            bar?.finish()
            print("imported \(counted(Int(s.rows), "row")) into \(table) (\(counted(s.columns.count, "column")))")
        case "json":
            let s = try ctx.repo.importJSON(path: file, table: table, key: keys, tagged: tagged,
                                            tempDirectory: try ctx.tempDirectory(), progress: bar?.update)
            bar?.finish()
            print(keys == nil ? "imported \(file) into \(table)"
                : "imported \(counted(Int(s.rows), "row")) into \(table) (\(counted(s.columns.count, "column")))")
        case "ndjson":
            guard let keys else { throw CLIError.usage("NDJSON import needs --key COL") }
            let s = try ctx.repo.importNDJSON(path: file, table: table, key: keys, tempDirectory: try ctx.tempDirectory(),
                                              progress: bar?.update)
            bar?.finish()
            print("imported \(counted(Int(s.rows), "row")) into \(table) (\(counted(s.columns.count, "column")))")
        case "blob":
            let n = try ctx.repo.importBlob(path: file, name: table)
            bar?.finish()
            print("imported \(n) bytes into \(table)")
        default:
            throw CLIError.usage("unknown format '\(fmt)': use csv, json, ndjson or blob")
        }
    }

    static func formatFromExtension(_ path: String) throws -> String {
        let lower = path.lowercased()
        for (ext, f) in [(".csv", "csv"), (".ndjson", "ndjson"), (".jsonl", "ndjson"), (".json", "json")] where lower.hasSuffix(ext) {
            return f
        }
        throw CLIError.usage("cannot tell the format of \(path) from its extension; use --format csv|json|ndjson|blob")
    }
}

/// "1 row", "2 rows".
func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
