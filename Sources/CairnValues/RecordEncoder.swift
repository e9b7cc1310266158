/// Encodes records with fixed column names (the rows of a table) straight to the encoding of a
/// Map from column name to value, without building a ``ProllyMap`` per row. The names are
/// encoded and sorted once; a row is then a few appends.
public struct RecordEncoder: Sendable {
    public let columns: [String]
    /// Column indexes in the map's key order.
    private let order: [Int]
    private let encodedNames: [[UInt8]]

    /// The encoded names back to back, in the map's key order, and where each one is.
    private let namesInOrder: [UInt8]
    private let nameSpans: [(column: Int, start: Int, end: Int)]

    public init(columns: [String]) {
        self.columns = columns
        let names: [[UInt8]] = columns.map { c in
            var w = ByteWriter()
            w.byte(Tag.string.rawValue)
            w.string(c)
            return w.bytes
        }
        encodedNames = names
        order = columns.indices.sorted { KeyOrder.compare(names[$0], names[$1]) < 0 }
        var flat: [UInt8] = [], spans: [(column: Int, start: Int, end: Int)] = []
        for i in order {
            spans.append((i, flat.count, flat.count + names[i].count))
            flat += names[i]
        }
        namesInOrder = flat
        nameSpans = spans
    }

    /// A CSV cell already typed. Text stays where it is, as a range of the record's bytes, so
    /// typing and encoding a cell costs no allocation and no reference counting.
    public enum Cell {
        case int(Int64)
        case float(Double)
        /// UTF-8 text (the caller has checked it is valid): a range of the record's bytes.
        case text(Range<Int>)
    }

    /// Appends a cell's value encoding; `record` holds the bytes text cells point into.
    static func write(_ cell: Cell, record: UnsafeRawBufferPointer, to w: inout ByteWriter, refs: inout [Hash],
                      store: NodeStore) throws {
        switch cell {
        case .int(let i):
            w.byte(Tag.int.rawValue)
            w.signed(i)
        case .float(let d):
            try w.value(.float(d), refs: &refs, store: store)
        case .text(let range):
            let bytes = UnsafeRawBufferPointer(rebasing: record[range])
            if bytes.count > Format.stringInlineLimit {
                try w.value(.string(String(decoding: bytes, as: UTF8.self)), refs: &refs, store: store)
            } else {
                w.byte(Tag.string.rawValue)
                w.varint(UInt64(bytes.count))
                w.append(bytes)
            }
        }
    }

    /// The encoding of a cell as a key.
    public static func encodeKey(_ cell: Cell, record: UnsafeRawBufferPointer, store: NodeStore) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        try encodeKey(cell, record: record, store: store, appendingTo: &out)
        return out
    }

    /// Appends the encoding of a cell as a key to `out` (a buffer the caller reuses).
    public static func encodeKey(_ cell: Cell, record: UnsafeRawBufferPointer, store: NodeStore,
                                 appendingTo out: inout [UInt8]) throws {
        var refs: [Hash] = []
        try Self.writing(into: &out) { w in try write(cell, record: record, to: &w, refs: &refs, store: store) }
    }

    /// Like ``encode(_:store:refs:)`` for typed cells, `nil` marking a missing field.
    public func encode(cells: [Cell?], record: UnsafeRawBufferPointer, store: NodeStore, refs: inout [Hash]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        try encode(cells: cells, record: record, store: store, refs: &refs, appendingTo: &out)
        return out
    }

    /// Appends the row's encoding to `out` (a buffer the caller reuses, so a row costs no
    /// allocation).
    public func encode(cells: [Cell?], record: UnsafeRawBufferPointer, store: NodeStore, refs: inout [Hash],
                       appendingTo out: inout [UInt8]) throws {
        var present = 0
        for c in cells where c != nil { present += 1 }
        // The common case written out without closures: names from one buffer, cells in place.
        let start = out.count, mark = refs.count
        let small: Bool = try {
            var w = ByteWriter()
            swap(&w.bytes, &out)
            defer { swap(&w.bytes, &out) }
            w.byte(Tag.mapLeaf.rawValue)
            w.varint(UInt64(present))
            try namesInOrder.withUnsafeBytes { names in
                for span in nameSpans {
                    guard let c = cells[span.column] else { continue }
                    w.append(UnsafeRawBufferPointer(rebasing: names[span.start..<span.end]))
                    try Self.write(c, record: record, to: &w, refs: &refs, store: store)
                }
            }
            if w.bytes.count - start - 1 - ByteWriter.varintSize(UInt64(present)) < Boundary.minSize { return true }
            w.bytes.removeSubrange(start...)
            return false
        }()
        if small { return }
        refs.removeSubrange(mark...)
        let values: [Value?] = cells.map { c in
            switch c {
            case nil: return nil
            case .int(let i)?: return .int(i)
            case .float(let d)?: return .float(d)
            case .text(let r)?: return .string(String(decoding: UnsafeRawBufferPointer(rebasing: record[r]), as: UTF8.self))
            }
        }
        out += try encode(values, store: store, refs: &refs)
    }

    /// Runs `body` with a writer over `out`'s storage (moved in and back, not copied).
    private static func writing<T>(into out: inout [UInt8], _ body: (inout ByteWriter) throws -> T) rethrows -> T {
        var w = ByteWriter()
        swap(&w.bytes, &out)
        defer { swap(&w.bytes, &out) }
        return try body(&w)
    }

    /// Appends the row as an inline map leaf when its entries total under 512 bytes (the
    /// boundary rule never splits there) and returns true; when it is larger, leaves `w` and
    /// `refs` as they were and returns false. `write` appends column `i`'s value and says
    /// whether the row has one.
    private func smallRow(present: Int, into w: inout ByteWriter, refs: inout [Hash],
                          write: (Int, inout ByteWriter, inout [Hash]) throws -> Bool) throws -> Bool {
        let start = w.bytes.count
        w.byte(Tag.mapLeaf.rawValue)
        w.varint(UInt64(present))
        let mark = refs.count
        try encodedNames.withUnsafeBufferPointer { names in
            for i in order {
                let nameStart = w.bytes.count
                names[i].withUnsafeBytes { w.append($0) }
                if try !write(i, &w, &refs) { w.bytes.removeSubrange(nameStart...) }
            }
        }
        if w.bytes.count - start - 1 - ByteWriter.varintSize(UInt64(present)) < Boundary.minSize { return true }
        w.bytes.removeSubrange(start...)
        refs.removeSubrange(mark...)
        return false
    }

    /// The encoding of a key.
    public func encodeKey(_ key: Value, store: NodeStore) throws -> [UInt8] {
        try key.encoded(store: store)
    }

    /// The encoded map of one row, `nil` marking a missing field. Rows under 512 bytes, nearly
    /// all of them, become inline leaves directly; a larger row goes through the tree builder.
    public func encode(_ values: [Value?], store: NodeStore, refs: inout [Hash]) throws -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        if try smallRow(present: values.reduce(0) { $0 + ($1 == nil ? 0 : 1) }, into: &w, refs: &refs, write: { i, w, refs in
            guard let v = values[i] else { return false }
            try w.value(v, refs: &refs, store: store)
            return true
        }) { return w.bytes }
        // Too large for the fast path: build it as any map.
        var entries: [(Value, Value)] = []
        for i in order { if let v = values[i] { entries.append((.string(columns[i]), v)) } }
        let map = try ProllyMap.build(entries, store: store)
        var out = ByteWriter()
        out.tree(map.root, refTag: .mapRef, refs: &refs)
        return out.bytes
    }
}
