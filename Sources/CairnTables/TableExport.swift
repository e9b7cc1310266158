import CairnStore
import CairnValues

/// Writing tables and values out: CSV, NDJSON, JSON, a Blob's bytes. Each streams to `write`,
/// which gets the text in pieces of about 64 KiB.
public enum TableExport {
    public enum Format: String, Sendable, CaseIterable {
        case csv, json, ndjson, blob
    }

    /// The format a value exports in by default: the one its table was imported from, else JSON.
    public static func defaultFormat(for value: Value) -> Format {
        if case .table(let t) = value { return Format(rawValue: t.schema.format) == .csv ? .csv : (t.schema.format == "ndjson" ? .ndjson : .json) }
        return .json
    }

    /// Writes the rows of `table` whose key starts with `prefix`.
    /// - CSV: the header, then a line per row in key order; a missing cell is written as
    ///   `missing`, by default the `--null` recorded at import, else empty.
    /// - NDJSON: one row object a line, key columns included. JSON: an array of row objects.
    public static func table(_ table: Table, under prefix: [Value] = [], format: Format, missing: String? = nil,
                             tagged: Bool = false, write: @escaping ([UInt8]) -> Void) throws {
        switch format {
        case .csv:
            var lines = CSVLines(table: table, missing: missing ?? table.schema.null ?? "")
            var buffer = lines.header
            try table.forEachRow(under: prefix) { k, r in
                try lines.row(key: k, row: r)
                buffer += lines.line
                if buffer.count >= 1 << 16 {
                    write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
                return true
            }
            write(buffer)
        case .ndjson:
            var w = JSONWriter(tagged: tagged)
            let layout = Table.RowLayout(table)
            try table.forEachRow(under: prefix) { k, r in
                try w.writeRow(layout, key: k, row: r)
                w.out.append(0x0A)
                if w.out.count >= 1 << 16 {
                    write(w.out)
                    w.out.removeAll(keepingCapacity: true)
                }
                return true
            }
            write(w.out)
        case .json:
            var w = JSONWriter(pretty: true, tagged: tagged, drain: write)
            try w.writeRows(table, under: prefix)
            w.out.append(0x0A)
            w.flush()
        case .blob:
            throw ExportError("a table has no bytes to export as a blob")
        }
    }

    /// Writes any value: a table as ``table(_:under:format:missing:tagged:write:)`` does; a
    /// Blob's bytes; anything else as JSON (CSV and NDJSON need a table).
    public static func value(_ value: Value, format: Format, missing: String? = nil, tagged: Bool = false,
                             write: @escaping ([UInt8]) -> Void) throws {
        if case .table(let t) = value, format != .blob {
            return try table(t, format: format, missing: missing, tagged: tagged, write: write)
        }
        switch format {
        case .json:
            var w = JSONWriter(pretty: true, tagged: tagged, drain: write)
            try w.write(value)
            w.out.append(0x0A)
            w.flush()
        case .blob:
            guard case .blob(let b) = value else { throw ExportError("the value is a \(value.kind.name), not a Blob") }
            try b.forEachPiece { write(Array($0)); return true }
        case .csv, .ndjson:
            throw ExportError("the value is a \(value.kind.name), not a table: export it as json")
        }
    }
}

/// A value that cannot be written in the format asked for.
public struct ExportError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
