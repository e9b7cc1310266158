import ArgumentParser
import CairnVersioning

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a file into the working set as a table or document.",
        discussion: """
            CSV: the first row is the header; rows become maps keyed by --key (default: the first \
            column); cells are typed one by one (canonical integers, exact floats, else strings); \
            an empty cell, or one equal to --null, is a missing field. NDJSON: one object a line, \
            keyed by --key. JSON: the value it spells. blob: the bytes. A re-import replaces the \
            table, so the next diff shows just what changed. The file is streamed; an import \
            applies whole or not at all.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The file to import.") var file: String
    @Option(help: "The name to import as (a top-level name; not starting with '.').") var table: String
    @Option(help: ArgumentHelp("The key column (CSV, NDJSON); A,B for a composite key, one map level per column.", valueName: "COL[,COL...]")) var key: String?
    @Option(help: "csv, json, ndjson or blob (default: from the file's extension).") var format: String?
    @Flag(help: "Keep every CSV cell a string.") var noInfer = false
    @Option(help: ArgumentHelp("A CSV cell equal to TEXT is a missing field.", valueName: "TEXT")) var null: String?

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let fmt = try format ?? Self.formatFromExtension(file)
        let keys = key.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        switch fmt {
        case "csv":
            let bar = ProgressBar(label: "importing")
            let s = try ctx.repo.importCSV(path: file, table: table, key: keys, infer: !noInfer, null: null,
                                           tempDirectory: try ctx.tempDirectory(), progress: bar?.update)
            bar?.finish()
            print("imported \(counted(Int(s.rows), "row")) into \(table) (\(counted(s.columns.count, "column")))")
        case "json":
            let reader = try FileReader(path: file, text: true)
            var parser = JSONParser(source: ByteSource(refill: reader.read), store: ctx.repo.store)
            let value = try parser.document()
            try Repository.validateTableName(table)
            try ctx.repo.replaceTable(table, with: value, schema: nil)
            print("imported \(file) into \(table)")
        case "ndjson":
            guard let keys, keys.count == 1 else { throw CLIError.usage("NDJSON import needs --key COL") }
            let n = try ctx.repo.importNDJSON(path: file, table: table, key: keys[0], tempDirectory: try ctx.tempDirectory())
            print("imported \(counted(Int(n), "row")) into \(table)")
        case "blob":
            try Repository.validateTableName(table)
            let reader = try FileReader(path: file)
            // A read error ends the pieces and is thrown after, so a failed read never
            // imports a truncated Blob.
            var readError: Error?
            let pieces = AnyIterator<[UInt8]> {
                do {
                    let b = try reader.read()
                    return b.isEmpty ? nil : b
                } catch {
                    readError = error
                    return nil
                }
            }
            let blob = try Blob.build(streaming: pieces.lazy, store: ctx.repo.store)
            if let readError { throw readError }
            try ctx.repo.replaceTable(table, with: .blob(blob), schema: nil)
            print("imported \(blob.count) bytes into \(table)")
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

struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit",
        abstract: "Record the working set as a commit on the current branch.",
        discussion: "Prints the new commit's hash. With nothing to commit, exits 1 and changes nothing.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "The commit message.") var message: String
    @Option(help: "The author (default: CAIRN_AUTHOR, the user.name setting, or your user name).") var author: String?
    @Flag(help: "Commit even when nothing changed.") var allowEmpty = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let c = try ctx.repo.commitWorkingSet(message: message, author: try defaultAuthor(author, ctx.repo), allowEmpty: allowEmpty)
        print(c.hash.description)
    }
}

/// "1 row", "2 rows".
func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
