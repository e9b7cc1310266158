/// Encodes records with fixed column names (the rows of a table) straight to the encoding of a
/// Map from column name to value, without building a ``ProllyMap`` per row. The names are
/// encoded and sorted once; a row is then a few appends.
public struct RecordEncoder: Sendable {
    public let columns: [String]
    /// Column indexes in the map's key order.
    private let order: [Int]
    private let encodedNames: [[UInt8]]

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
    }

    /// The encoding of a key.
    public func encodeKey(_ key: Value, store: NodeStore) throws -> [UInt8] {
        try key.encoded(store: store)
    }

    /// The encoded map of one row, `nil` marking a missing field. Rows under 512 bytes, nearly
    /// all of them, become inline leaves directly; a larger row goes through the tree builder.
    public func encode(_ values: [Value?], store: NodeStore, refs: inout [Hash]) throws -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        w.byte(Tag.mapLeaf.rawValue)
        var present = 0
        for v in values where v != nil { present += 1 }
        w.varint(UInt64(present))
        let mark = refs.count
        for i in order {
            guard let v = values[i] else { continue }
            w.append(encodedNames[i])
            try w.value(v, refs: &refs, store: store)
        }
        if w.bytes.count - 1 - ByteWriter.varintSize(UInt64(present)) < Boundary.minSize { return w.bytes }
        // Too large for the fast path: build it as any map.
        refs.removeSubrange(mark...)
        var entries: [(Value, Value)] = []
        for i in order { if let v = values[i] { entries.append((.string(columns[i]), v)) } }
        let map = try ProllyMap.build(entries, store: store)
        var out = ByteWriter()
        out.tree(map.root, refTag: .mapRef, refs: &refs)
        return out.bytes
    }
}
