import CairnStore
/// A table: a ``Schema`` and its rows, in one prolly tree keyed by the whole key.
///
/// - The key of a row is its key column's value, or, for a composite key, the ``Value/tuple(_:)``
///   of its key columns' values in key order, compared element by element.
/// - A row stores its non-key cells by slot (``Schema/Column/slot``), with no column names and
///   no copy of the key; a missing cell costs one byte and trailing missing cells nothing. A
///   row too large for a node is stored out of line (docs/format.md, "Tables").
public struct Table: Sendable, Hashable {
    public let schema: Schema
    /// Encoded key → encoded row. Its values are rows, not values: read them through the
    /// table (``row(key:)``, ``forEachRow(under:_:)``), never as `Value`s.
    public let rows: ProllyMap

    public init(schema: Schema, rows: ProllyMap) {
        self.schema = schema
        self.rows = rows
    }

    public static func empty(schema: Schema, store: NodeStore) throws -> Table {
        Table(schema: schema, rows: try ProllyMap.empty(store: store))
    }

    public var store: NodeStore { rows.store }
    public var count: UInt64 { rows.count }

    public func withSchema(_ schema: Schema) -> Table { Table(schema: schema, rows: rows) }

    // MARK: Keys

    /// The key of a row whose key columns hold `values` (in key order).
    public func key(_ values: [Value]) -> Value { values.count == 1 ? values[0] : .tuple(values) }

    public func encodeKey(_ values: [Value]) throws -> [UInt8] { try key(values).encoded(store: store) }

    /// The key columns' values of an encoded key, in key order.
    public func decodeKey(_ bytes: [UInt8]) throws -> [Value] {
        let v = try Value.decode(bytes, store: store)
        if schema.key.count == 1 { return [v] }
        guard case .tuple(let xs) = v, xs.count == schema.key.count else {
            throw StoreError.corruptChunk(rows.hash, reason: "a row key does not match the table's key columns")
        }
        return xs
    }

    /// The encodings of the first `n` elements of an encoded key (all of a single-column key).
    package static func keyElements(_ key: UnsafeRawBufferPointer, columns: Int) -> [UnsafeRawBufferPointer] {
        guard columns > 1 else { return [key] }
        var r = ByteReader(key, at: 1)
        guard key.first == Tag.tuple.rawValue, let n = try? r.varint() else { return [] }
        var out: [UnsafeRawBufferPointer] = []
        for _ in 0..<n {
            let s = r.pos
            guard (try? r.skipValue()) != nil else { return out }
            out.append(UnsafeRawBufferPointer(rebasing: key[s..<r.pos]))
        }
        return out
    }

    // MARK: Rows

    /// The cells of the row with this key, by slot (nil: missing); nil when there is no row.
    public func row(key values: [Value]) throws -> [Value?]? {
        guard let bytes = try rows.getEncoded(encodeKey(values)) else { return nil }
        return try decodeRow(bytes)
    }

    /// Calls `body` with each row's encoded key and encoded row, in key order, from the rows
    /// whose key starts with `prefix` (every row when it is empty), until it returns false.
    /// The bytes are valid only during the call.
    public func forEachRow(under prefix: [Value] = [],
                           _ body: (_ key: UnsafeRawBufferPointer, _ row: UnsafeRawBufferPointer) throws -> Bool) throws {
        let keyColumns = schema.key.count
        precondition(prefix.count <= keyColumns)
        var start: [UInt8]? = nil
        var want: [[UInt8]] = []
        if !prefix.isEmpty {
            want = try prefix.map { try $0.encoded(store: store) }
            start = try (prefix.count == keyColumns ? key(prefix) : .tuple(prefix)).encoded(store: store)
        }
        try OrderedTree.forEach(root: rows.root, store: store, from: start) { node, i in
            try node.bytes.withUnsafeBytes { raw in
                let k = UnsafeRawBufferPointer(rebasing: raw[Int(node.keyStarts[i])..<Int(node.valueStarts[i])])
                if !want.isEmpty {
                    let parts = Self.keyElements(k, columns: keyColumns)
                    guard parts.count >= want.count else { return false }
                    for (p, w) in zip(parts, want) where !w.withUnsafeBytes({ $0.elementsEqual(p) }) { return false }
                }
                let v = UnsafeRawBufferPointer(rebasing: raw[Int(node.valueStarts[i])..<Int(node.keyStarts[i + 1])])
                return try body(k, v)
            }
        }
    }

    /// How many rows have a key that starts with `prefix`, counting up to `limit`.
    public func count(under prefix: [Value], limit: UInt64 = .max) throws -> UInt64 {
        if prefix.isEmpty { return min(count, limit) }
        var n: UInt64 = 0
        try forEachRow(under: prefix) { _, _ in n += 1; return n < limit }
        return n
    }

    /// The table with these rows set (`nil` cells: the row is removed). Keys are the key
    /// columns' values, cells are by slot.
    public func editing(_ edits: [(key: [Value], cells: [Value?]?)]) throws -> Table {
        var encoded: [(key: [UInt8], value: [UInt8]?, refs: [Hash])] = []
        for e in edits {
            let (k, keyRefs) = try key(e.key).encodedWithRefs(store: store)
            if let cells = e.cells {
                let (row, refs) = try encodeRow(cells)
                encoded.append((k, row, keyRefs + refs))
            } else {
                encoded.append((k, nil, []))
            }
        }
        return Table(schema: schema, rows: try rows.editingEncoded(encoded))
    }

    /// The encoding of a row with these cells (by slot, nil: missing), and the chunks it
    /// references. A row larger than ``Format/rowInlineLimit`` is written out of line.
    public func encodeRow(_ cells: [Value?]) throws -> (bytes: [UInt8], refs: [Hash]) {
        var w = ByteWriter()
        var refs: [Hash] = []
        let n = (cells.lastIndex { $0 != nil } ?? -1) + 1
        w.byte(Tag.row.rawValue)
        w.varint(UInt64(n))
        for c in cells.prefix(n) {
            if let c { try w.value(c, refs: &refs, store: store, depth: 2) } else { w.byte(Tag.missingCell.rawValue) }
        }
        return try Self.outOfLineIfLarge(w.bytes, refs: refs, store: store)
    }

    /// Appends the encoding of a row whose cells (by slot, nil: missing) are ranges of
    /// `values`, trailing missing cells dropped. Not yet out of line.
    package static func appendRowEncoding(cells: [Range<Int>?], values: [UInt8], to out: inout [UInt8]) {
        var n = cells.count
        while n > 0 && cells[n - 1] == nil { n -= 1 }
        ByteWriter.writing(into: &out) { w in
            w.byte(Tag.row.rawValue)
            w.varint(UInt64(n))
            values.withUnsafeBytes { v in
                for c in cells.prefix(n) {
                    if let c { w.append(UnsafeRawBufferPointer(rebasing: v[c])) } else { w.byte(Tag.missingCell.rawValue) }
                }
            }
        }
    }

    /// Appends the encoding of a key whose columns' values (in key order) are ranges of
    /// `values`: the one, or a tuple.
    package static func appendKeyEncoding(parts: [Range<Int>], values: [UInt8], to out: inout [UInt8]) {
        ByteWriter.writing(into: &out) { w in
            if parts.count > 1 {
                w.byte(Tag.tuple.rawValue)
                w.varint(UInt64(parts.count))
            }
            values.withUnsafeBytes { v in for p in parts { w.append(UnsafeRawBufferPointer(rebasing: v[p])) } }
        }
    }

    /// A row's encoding as it goes in the tree: itself, or when it is larger than
    /// ``Format/rowInlineLimit`` a Ref to a chunk holding it.
    package static func outOfLineIfLarge(_ row: [UInt8], refs: [Hash], store: NodeStore) throws -> (bytes: [UInt8], refs: [Hash]) {
        guard row.count > Format.rowInlineLimit else { return (row, refs) }
        let h = try store.write([Format.version] + row, refs: refs)
        var w = ByteWriter()
        w.byte(Tag.rowRef.rawValue)
        w.hash(h)
        return (w.bytes, [h])
    }

    /// The cells of an encoded row, by slot (nil: missing), `slotCount` of them at least.
    public func decodeRow(_ bytes: [UInt8]) throws -> [Value?] {
        try bytes.withUnsafeBytes { try decodeRow($0) }
    }

    public func decodeRow(_ raw: UnsafeRawBufferPointer) throws -> [Value?] {
        var cells: [Value?] = []
        try Self.forEachCell(raw, store: store) { slot, cell in
            cells.append(try cell.map { try Value.decode(Array($0), store: store) })
        }
        if cells.count < schema.slotCount { cells += Array(repeating: nil, count: schema.slotCount - cells.count) }
        return cells
    }

    /// Calls `body` with each slot of an encoded row and its cell's encoding (nil: missing),
    /// reading a row stored out of line from the store.
    public static func forEachCell(_ raw: UnsafeRawBufferPointer, store: NodeStore,
                                   _ body: (_ slot: Int, _ cell: UnsafeRawBufferPointer?) throws -> Void) throws {
        if raw.first == Tag.rowRef.rawValue {
            let chunk = try outOfLineRow(raw, store: store)
            return try chunk.withUnsafeBytes { try forEachCell(UnsafeRawBufferPointer(rebasing: $0[1...]), store: store, body) }
        }
        try forEachCellRange(raw) { slot, range in try body(slot, range.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }) }
    }

    /// The one walk over an inline row (`14`, n, cells): `body` gets each slot and where its
    /// cell's encoding is in `raw` (nil: missing). Refuses a row that runs past its bytes, has
    /// bytes after it, or ends with a missing cell (not canonical: trailing ones are dropped).
    static func forEachCellRange(_ raw: UnsafeRawBufferPointer, _ body: (_ slot: Int, _ cell: Range<Int>?) throws -> Void) throws {
        guard raw.first == Tag.row.rawValue else { throw DecodeError("not a table row", at: 0) }
        var r = ByteReader(raw, at: 1)
        let n = try r.count(minItemSize: 1)
        for slot in 0..<n {
            guard r.pos < raw.count else { throw DecodeError("a row ends before its cells", at: r.pos) }
            if raw[r.pos] == Tag.missingCell.rawValue {
                guard slot < n - 1 else { throw DecodeError("a row ends with a missing cell", at: r.pos) }
                r.pos += 1
                try body(slot, nil)
            } else {
                let s = r.pos
                try r.skipValue(depth: 2)
                try body(slot, s..<r.pos)
            }
        }
        guard r.atEnd else { throw DecodeError("trailing bytes after a row", at: r.pos) }
    }

    /// Where each column's value of a row comes from, in display order, and the columns'
    /// names as JSON strings: worked out once per scan, not once per row.
    public struct RowLayout: Sendable {
        public enum Source: Sendable { case slot(Int), key(Int) }
        public let sources: [Source]
        /// The columns' names as JSON strings, back to back, and where each one is.
        let quotedNames: [UInt8]
        let nameRanges: [Range<Int>]
        public let slotCount: Int
        public let keyColumns: Int
        let store: NodeStore

        public init(_ t: Table) {
            sources = t.schema.columns.map { c in
                if let s = c.slot { return .slot(s) }
                return .key(t.schema.key.firstIndex(of: c.id)!)
            }
            var names: [UInt8] = [], ranges: [Range<Int>] = []
            for c in t.schema.columns {
                let start = names.count
                names += Array(JSON.quoted(c.name).utf8)
                ranges.append(start..<names.count)
            }
            quotedNames = names
            nameRanges = ranges
            slotCount = t.schema.slotCount
            keyColumns = t.schema.key.count
            store = t.store
        }
    }

    /// The chunk (format version first) holding a row stored out of line, from its Ref.
    static func outOfLineRow(_ raw: UnsafeRawBufferPointer, store: NodeStore) throws -> [UInt8] {
        var r = ByteReader(raw, at: 1)
        let h = try r.hash()
        let chunk = try store.chunkBytes(h)
        guard chunk.first == Format.version, chunk.count > 1, chunk[1] == Tag.row.rawValue else {
            throw StoreError.corruptChunk(h, reason: "not a table row")
        }
        // Only a row too large to be inline is stored out of line: one row, one encoding.
        guard chunk.count - 1 > Format.rowInlineLimit else {
            throw StoreError.corruptChunk(h, reason: "a row of \(chunk.count - 1) bytes stored out of line")
        }
        return chunk
    }

    // MARK: Rows as maps

    /// A row as users see it: a Map from column name to value, key columns included.
    public func rowMap(key values: [Value], cells: [Value?]) throws -> ProllyMap {
        var entries: [(Value, Value)] = []
        for (c, v) in zip(schema.keyColumns, values) { entries.append((.string(c.name), v)) }
        for c in schema.columns {
            if let s = c.slot, s < cells.count, let v = cells[s] { entries.append((.string(c.name), v)) }
        }
        return try ProllyMap.build(entries, store: store)
    }
}
