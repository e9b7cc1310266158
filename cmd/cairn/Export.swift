import ArgumentParser
import CairnVersioning
#if canImport(Glibc)
import Glibc
#endif

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a value out: a table as CSV or NDJSON, any value as JSON, a Blob's bytes.",
        discussion: "CSV export gives back the imported columns in their order and the rows in key order.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("What to export, e.g. main:/people or /people.", valueName: "REV:PATH")) var target: String
    @Option(help: "json, csv, ndjson or blob (default: csv for a table imported from CSV, else json).") var format: String?
    @Option(help: ArgumentHelp("Write a missing CSV field as TEXT (default: empty).", valueName: "TEXT")) var null: String?
    @Option(name: .short, help: ArgumentHelp("Write to FILE instead of stdout.", valueName: "FILE")) var output: String?

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let rp = try RevPath(target)
        guard let path = rp.path, !path.segments.isEmpty else { throw CLIError.usage("export needs REV:PATH, e.g. HEAD:/people") }
        let root = try ctx.repo.rootValue(rp.rev)
        guard let value = try path.resolve(in: .map(root)) else { throw RepositoryError.noSuchPath(path.description) }
        let schema = path.segments.count == 1 ? try ctx.repo.schema(of: path.segments[0], in: root) : nil
        let fmt = format ?? (schema?.format == "csv" ? "csv" : (schema?.format == "ndjson" ? "ndjson" : "json"))
        // A composite key nests rows one Map level per key column; export flattens them.
        let keyLevels = max(1, schema?.key.count ?? 1)
        var sink = try Sink(path: output)
        defer { sink.abandon() }
        switch fmt {
        case "json":
            var w = JSONWriter(pretty: true) { sink.write($0) }
            try w.write(value)
            w.out.append(0x0A)
            w.flush()
        case "blob":
            guard case .blob(let b) = value else { throw CLIError.usage("\(path) is not a Blob") }
            try b.forEachPiece { sink.write(Array($0)); return true }
        case "ndjson":
            guard case .map(let m) = value else { throw CLIError.usage("\(path) is not a table") }
            var w = JSONWriter()
            let line = { (w: inout JSONWriter) in
                w.out.append(0x0A)
                sink.write(w.out)
                w.out.removeAll(keepingCapacity: true)
            }
            if keyLevels == 1 {
                // Rows straight from the leaves' bytes.
                try m.forEachValueBytes { row in
                    try w.write(encoded: row, store: ctx.repo.store)
                    line(&w)
                    return true
                }
            } else {
                try Self.forEachRow(m, levels: keyLevels) { row in
                    try w.write(row)
                    line(&w)
                    return true
                }
            }
        case "csv":
            guard case .map(let m) = value else { throw CLIError.usage("\(path) is not a table") }
            var lines = try CSVLines(columns: try schema.map { $0.columns } ?? Self.columns(of: m), missing: null ?? "",
                                     store: ctx.repo.store)
            sink.write(lines.header)
            if keyLevels == 1 {
                // Rows straight from the leaves' bytes.
                try m.forEachValueBytes { row in
                    try lines.row(encoded: row)
                    sink.write(lines.line)
                    return true
                }
            } else {
                try Self.forEachRow(m, levels: keyLevels) { row in
                    guard case .map(let r) = row else { throw CLIError.usage("\(path) holds a row that is not a map") }
                    try lines.row(r)
                    sink.write(lines.line)
                    return true
                }
            }
        default:
            throw CLIError.usage("unknown format '\(fmt)': use json, csv, ndjson or blob")
        }
        try sink.finish()
    }

    /// Calls `body` with each row, `levels` Map levels down, in key order.
    static func forEachRow(_ m: ProllyMap, levels: Int, _ body: (Value) throws -> Bool) throws {
        try m.forEach { _, v in
            if levels > 1, case .map(let inner) = v {
                var go = true
                try forEachRow(inner, levels: levels - 1) { go = try body($0); return go }
                return go
            }
            return try body(v)
        }
    }

    /// Columns of a table with no schema: every field name, in the order first seen.
    static func columns(of m: ProllyMap) throws -> [String] {
        var cols: [String] = []
        var seen = Set<String>()
        try m.forEach { _, row in
            if case .map(let r) = row {
                try r.forEach { k, _ in
                    if case .string(let s) = k, seen.insert(s).inserted { cols.append(s) }
                    return true
                }
            }
            return true
        }
        return cols
    }
}

/// Where export writes: a file, written whole or not at all (to a temporary name beside it,
/// renamed into place by `finish`, removed by `abandon`), or stdout.
struct Sink {
    private let fd: Int32
    private let path: String?
    private let temp: String?
    private var buffer: [UInt8] = []
    /// errno of the first write that failed; later writes are dropped.
    private var failure: Int32 = 0
    private var done = false

    init(path: String?) throws {
        self.path = path
        if let path {
            let t = path + ".cairn-tmp"
            fd = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw CLIError.usage("cannot write \(path): \(String(cString: strerror(errno)))") }
            temp = t
        } else {
            fd = 1
            temp = nil
        }
    }

    mutating func write(_ b: [UInt8]) {
        buffer.append(contentsOf: b)
        if buffer.count > 1 << 16 { flush() }
    }

    private mutating func flush() {
        if failure == 0 { failure = writeAll(fd, buffer) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out what is buffered and, for a file, syncs it and renames it into place.
    /// Throws when any write failed; the file is then removed and the target left as it was.
    mutating func finish() throws {
        flush()
        if failure == 0, temp != nil, fsync(fd) != 0 { failure = errno }
        guard failure == 0 else {
            let reason = String(cString: strerror(failure))
            abandon()
            throw CLIError.failed("cannot write \(path ?? "to standard output"): \(reason)")
        }
        done = true
        if let temp, let path {
            Glibc.close(fd)
            guard rename(temp, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temp)
                throw CLIError.failed("cannot write \(path): \(reason)")
            }
        }
    }

    /// Drops an unfinished file. Does nothing after `finish`, or for stdout.
    mutating func abandon() {
        guard !done else { return }
        done = true
        if let temp {
            Glibc.close(fd)
            unlink(temp)
        }
    }
}
