import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a value out: a table as CSV, NDJSON or JSON rows, any value as JSON, a Blob's bytes.",
        discussion: """
            CSV export gives back the imported columns in their schema order and the rows in key \
            order, each byte for byte as imported; a key prefix (/weather/EWR) exports the rows \
            under it. REV: alone exports the whole root as JSON.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("What to export, e.g. main:/people, /people, or HEAD: for the whole root.", valueName: "REV:[PATH]")) var target: String
    @Option(help: "json, csv, ndjson or blob (default: the table's import format, else json).") var format: String?
    @Option(help: ArgumentHelp("Write a missing CSV cell as TEXT (default: the --null recorded at import, else empty).", valueName: "TEXT")) var null: String?
    @Flag(help: "Write Cairn's tagged JSON forms for kinds JSON lacks (sets, counters, blobs...).") var tagged = false
    @Option(name: .short, help: ArgumentHelp("Write to FILE instead of stdout (whole or not at all).", valueName: "FILE")) var output: String?

    func run() throws {
        let rp = try RevPath(target)
        guard rp.rev != nil || rp.path != nil else { throw CLIError.usage("export needs REV:PATH, e.g. HEAD:/people") }
        let fmt = try format.map { f -> TableExport.Format in
            guard let x = TableExport.Format(rawValue: f.lowercased()) else {
                throw CLIError.usage("unknown format '\(f)': use json, csv, ndjson or blob")
            }
            return x
        }
        // An export reads each chunk once, in order: with a small page cache and no memory map,
        // whose pages would count as this process's memory (1.3 GB for a 1 GB Blob).
        var options = SQLiteChunkStore.Options()
        options.mmapBytes = 0
        options.cacheKiB = 8192
        let ctx = try Context(global, options: options)
        defer { ctx.close() }
        let root = try ctx.repo.rootValue(rp.rev)
        let path = rp.path ?? ValuePath(segments: [])
        guard let target = try path.target(in: .map(root)) else { throw RepositoryError.noSuchPath(path.description) }
        var sink = try Sink(path: output)
        defer { sink.abandon() }
        switch target {
        case .value(let v):
            try TableExport.value(v, format: fmt ?? TableExport.defaultFormat(for: v), missing: null, tagged: tagged) { sink.write($0) }
        case .rows(let t, let prefix), .row(let t, let prefix, _):
            try TableExport.table(t, under: prefix, format: fmt ?? TableExport.defaultFormat(for: .table(t)), missing: null,
                                  tagged: tagged) { sink.write($0) }
        }
        try sink.finish()
    }
}
