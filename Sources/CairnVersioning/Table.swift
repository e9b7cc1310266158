import CairnValues

/// How an import types and keys a table, kept under `root[".schema"][name]` so export gives
/// back the columns in their order.
public struct TableSchema: Sendable, Equatable {
    public var columns: [String]
    public var key: [String]
    public var format: String
    public var null: String?
    public var infer: Bool

    public init(columns: [String], key: [String], format: String, null: String?, infer: Bool) {
        self.columns = columns
        self.key = key
        self.format = format
        self.null = null
        self.infer = infer
    }

    func value(store: NodeStore) throws -> Value {
        var fields: [(Value, Value)] = [
            (.string("columns"), .list(try ProllyList.build(columns.map { .string($0) }, store: store))),
            (.string("key"), .list(try ProllyList.build(key.map { .string($0) }, store: store))),
            (.string("format"), .string(format)),
            (.string("infer"), .bool(infer)),
        ]
        if let null { fields.append((.string("null"), .string(null))) }
        return .map(try ProllyMap.build(fields, store: store))
    }

    init?(_ v: Value) throws {
        guard case .map(let m) = v, case .list(let cols)? = try m.get(.string("columns")),
              case .list(let key)? = try m.get(.string("key")) else { return nil }
        columns = try cols.elements().compactMap { if case .string(let s) = $0 { s } else { nil } }
        self.key = try key.elements().compactMap { if case .string(let s) = $0 { s } else { nil } }
        if case .string(let f)? = try m.get(.string("format")) { format = f } else { format = "csv" }
        if case .string(let n)? = try m.get(.string("null")) { null = n } else { null = nil }
        if case .bool(let b)? = try m.get(.string("infer")) { infer = b } else { infer = true }
    }
}

/// Types one CSV cell: an Int when its text is the canonical decimal of an Int64, a Float when
/// it is a finite number that prints back exactly as written, else a String. So `007` stays a
/// String and export gives back the same text.
public func typedCell(_ text: String, infer: Bool) -> Value {
    guard infer, let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) else {
        return .string(text)
    }
    if let i = Int64(text), String(i) == text { return .int(i) }
    if let d = Double(text), d.isFinite, d.description == text { return .float(d) }
    return .string(text)
}

/// ``typedCell(_:infer:)`` on the cell's bytes `f` (found at `offset` in its record), without
/// making a String for text; nil when the bytes are not UTF-8.
public func typedCell(bytes f: UnsafeRawBufferPointer, at offset: Int, infer: Bool) -> RecordEncoder.Cell? {
    let range = offset..<(offset + f.count)
    if infer, let first = f.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) {
        if let i = canonicalInt(f) { return .int(i) }
        // Anything else numeric-looking goes the slow, exact way.
        guard let s = String(validating: f.bindMemory(to: UInt8.self), as: UTF8.self) else { return nil }
        switch typedCell(s, infer: true) {
        case .float(let d): return .float(d)
        default: return .text(range)
        }
    }
    var ascii = true
    for b in f where b >= 0x80 { ascii = false; break }
    if !ascii && String(validating: f.bindMemory(to: UInt8.self), as: UTF8.self) == nil { return nil }
    return .text(range)
}

/// The Int64 whose canonical decimal is exactly these bytes: no `+`, no leading zeros, no `-0`.
func canonicalInt(_ f: UnsafeRawBufferPointer) -> Int64? {
    var i = f.startIndex
    let negative = f[i] == UInt8(ascii: "-")
    if negative { i += 1 }
    guard i < f.endIndex, f.endIndex - i <= 19 else { return nil }
    if f[i] == UInt8(ascii: "0") && (f.endIndex - i > 1 || negative) { return nil }
    var v: Int64 = 0
    while i < f.endIndex {
        let d = f[i]
        guard d >= 0x30 && d <= 0x39 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d - 0x30)) : m.addingReportingOverflow(Int64(d - 0x30))
        guard !o1 && !o2 else { return nil }
        v = a
        i += 1
    }
    return v
}

/// The text a cell is written back as: the inverse of ``typedCell(_:infer:)``.
public func cellText(_ v: Value) throws -> String {
    switch v {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .float(let d): return d.isFinite ? d.description : try JSON.string(v)
    case .bool(let b): return b ? "true" : "false"
    case .null: return ""
    default: return try JSON.string(v)
    }
}

/// What an import did.
public struct ImportSummary: Sendable {
    public let table: String
    public let rows: UInt64
    public let columns: [String]
}

extension Repository {
    /// Top-level names starting with `.` are reserved (`.schema`, `.rules`); names are
    /// non-empty and hold no `/`.
    public static func validateTableName(_ name: String) throws {
        if name.hasPrefix(".") { throw RepositoryError.reservedName(name) }
        if name.isEmpty || name.contains("/") { throw RepositoryError.badName(name, kind: "table") }
    }

    /// Imports a CSV file into the working set as table `name`, replacing any table of that
    /// name. Streams the file; either applies whole or not at all.
    @discardableResult
    public func importCSV(path: String, table name: String, key keyColumns: [String]?, infer: Bool = true,
                          null nullText: String? = nil, tempDirectory: String,
                          progress: ((Int, Int) -> Void)? = nil) throws -> ImportSummary {
        try Self.validateTableName(name)
        let file = try FileReader(path: path, text: true)
        file.progress = progress
        var csv = CSVReader(refill: file.read)
        guard let header = try csv.next() else { throw ImportError("\(path) is empty: no header row") }
        let columns = header.fields
        if let dup = firstDuplicate(columns) { throw ImportError("line 1: column '\(dup)' appears twice") }
        if columns.contains(where: \.isEmpty) { throw ImportError("line 1: a column has no name") }
        let key = keyColumns ?? [columns[0]]
        if let dup = firstDuplicate(key) { throw ImportError("key column '\(dup)' is named twice") }
        var keyIndexes: [Int] = []
        for k in key {
            guard let i = columns.firstIndex(of: k) else {
                throw ImportError("key column '\(k)' is not in the header (\(columns.joined(separator: ",")))")
            }
            keyIndexes.append(i)
        }
        let composite = key.count > 1
        let encoder = RecordEncoder(columns: columns)
        let order: (([UInt8], [UInt8]) -> Int)? = composite ? { EncodedOrder.compareTuples($0, $1) } : nil
        let builder = UnsortedMapBuilder(store: store, directory: tempDirectory, duplicates: .refuse, compare: order)
        var lines = LineIndex()
        let tableMap: ProllyMap
        let nullBytes = nullText.map { Array($0.utf8) }
        var record = CSVRecord()
        // Reused for every row: encoding a row allocates nothing.
        var keyBytes: [UInt8] = [], valueBytes: [UInt8] = [], rowRefs: [Hash] = []
        var cells: [RecordEncoder.Cell?] = Array(repeating: nil, count: columns.count)
        do {
            while let line = try csv.next(into: &record) {
                if record.count == 1 && record.bytes.isEmpty { continue }  // a blank line
                guard record.count == columns.count else {
                    throw ImportError("line \(line): \(record.count) fields, the header has \(columns.count)")
                }
                try record.bytes.withUnsafeBytes { raw in
                    for i in 0..<record.count {
                        let range = record.range(i)
                        let f = UnsafeRawBufferPointer(rebasing: raw[range])
                        if f.isEmpty || (nullBytes.map { f.elementsEqual($0) } ?? false) {
                            cells[i] = nil
                        } else {
                            guard let cell = typedCell(bytes: f, at: range.lowerBound, infer: infer) else {
                                throw ImportError("line \(line): not valid UTF-8")
                            }
                            cells[i] = cell
                        }
                    }
                    keyBytes.removeAll(keepingCapacity: true)
                    for (n, i) in keyIndexes.enumerated() {
                        guard let keyCell = cells[i] else { throw ImportError("line \(line): the key column '\(key[n])' is empty") }
                        try RecordEncoder.encodeKey(keyCell, record: raw, store: store, appendingTo: &keyBytes)
                    }
                    valueBytes.removeAll(keepingCapacity: true)
                    try encoder.encode(cells: cells, record: raw, store: store, refs: &rowRefs, appendingTo: &valueBytes)
                }
                lines.append(line: line)  // before append: a duplicate is reported by it
                try keyBytes.withUnsafeBytes { k in
                    try valueBytes.withUnsafeBytes { v in try builder.append(key: k, value: v, refs: rowRefs) }
                }
                rowRefs.removeAll(keepingCapacity: true)
            }
            if composite {
                let nested = NestedMapBuilder(store: store, depth: key.count)
                try builder.finish { k, v, r in try nested.add(parts: EncodedOrder.splitTuple(k), value: v, refs: r) }
                tableMap = try nested.finish()
            } else {
                tableMap = try builder.finish()
            }
        } catch let e as UnsortedMapBuilder.DuplicateKey {
            let keyText = EncodedOrder.splitTuple(e.key).map { part in
                (try? Value.decode(part, store: store)).map { (try? cellText($0)) ?? "?" } ?? "?"
            }.joined(separator: ",")
            throw ImportError("line \(lines[e.second]): duplicate key '\(keyText)' (first at line \(lines[e.first]))")
        }
        let schema = TableSchema(columns: columns, key: key, format: "csv", null: nullText, infer: infer)
        try replaceTable(name, with: .map(tableMap), schema: schema)
        return ImportSummary(table: name, rows: UInt64(lines.count), columns: columns)
    }

    /// Sets `root[name]` and its schema in the working set, in one move of the working ref.
    public func replaceTable(_ name: String, with value: Value, schema: TableSchema?) throws {
        let before = try workingRoot()
        var root = try before.setting(.string(name), to: value)
        var schemas = try ProllyMap.empty(store: store)
        if case .map(let s)? = try root.get(.string(".schema")) { schemas = s }
        if let schema {
            schemas = try schemas.setting(.string(name), to: try schema.value(store: store))
        } else {
            schemas = try schemas.removing(.string(name))
        }
        root = try schemas.isEmpty ? root.removing(.string(".schema")) : root.setting(.string(".schema"), to: .map(schemas))
        try setWorkingRoot(root, expected: before)
    }

    /// The schema recorded for table `name` in `root`.
    public func schema(of name: String, in root: ProllyMap) throws -> TableSchema? {
        guard case .map(let s)? = try root.get(.string(".schema")), let v = try s.get(.string(name)) else { return nil }
        return try TableSchema(v)
    }
}

func firstDuplicate(_ xs: [String]) -> String? {
    var seen = Set<String>()
    for x in xs where !seen.insert(x).inserted { return x }
    return nil
}
