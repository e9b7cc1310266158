import CairnStore
/// Builds a map from entries appended in strictly increasing key order.
public final class MapBuilder {
    let builder: TreeBuilder
    let store: NodeStore
    private let lastKey = ByteArena()
    private var empty = true

    public init(store: NodeStore) {
        self.store = store
        builder = TreeBuilder(kind: .map, store: store)
    }

    public func append(_ key: Value, _ value: Value) throws {
        var refs: [Hash] = []
        var kw = ByteWriter(), vw = ByteWriter()
        try kw.value(key, refs: &refs, store: store)
        try vw.value(value, refs: &refs, store: store)
        try appendEncoded(key: kw.bytes, value: vw.bytes, refs: refs)
    }

    /// Appends an entry already encoded. Keys must strictly increase.
    public func appendEncoded(key: [UInt8], value: [UInt8], refs: [Hash] = []) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try appendEncoded(key: k, value: v, refs: refs) } }
    }

    /// Appends an entry already encoded, from bytes the caller keeps. Keys must strictly increase.
    public func appendEncoded(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, refs: [Hash] = []) throws {
        if !empty, KeyOrder.compare(lastKey.bytes(0, lastKey.count), key) >= 0 { throw ValueError.keysOutOfOrder }
        lastKey.removeAll()
        lastKey.append(key)
        empty = false
        try builder.appendMapEntry(key: key, value: value, refs: refs)
    }

    /// Appends an entry whose key the caller has already checked to follow the last one.
    func appendOrdered(key: [UInt8], value: [UInt8], refs: [Hash]) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try builder.appendMapEntry(key: k, value: v, refs: refs) } }
    }

    func appendOrdered(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, refs: [Hash]) throws {
        try builder.appendMapEntry(key: key, value: value, refs: refs)
    }

    /// The encoding of `value` as a key or value, for ``appendEncoded(key:value:refs:)``.
    public func encode(_ value: Value, refs: inout [Hash]) throws -> [UInt8] {
        var w = ByteWriter()
        try w.value(value, refs: &refs, store: store)
        return w.bytes
    }

    public func finish() throws -> ProllyMap { ProllyMap(store: store, root: try builder.finish()) }
}
