import CairnStore
/// A sorted set of ``Value``s stored as a prolly tree, history-independent like ``ProllyMap``.
public struct ProllySet: Sendable, Hashable {
    public let store: NodeStore
    public let root: TreeRoot

    public init(store: NodeStore, root: TreeRoot) {
        self.store = store
        self.root = root
    }

    public static func == (a: ProllySet, b: ProllySet) -> Bool { a.root == b.root }
    public func hash(into h: inout Hasher) { h.combine(root) }

    public static func empty(store: NodeStore) throws -> ProllySet {
        var c = LevelChunker(kind: .set, level: 0)
        return ProllySet(store: store, root: try c.closeAsRoot(store: store))
    }

    public var count: UInt64 { root.count }
    public var hash: Hash { root.hash }

    public func contains(_ element: Value) throws -> Bool {
        let k = try element.encoded(store: store)
        return try k.withUnsafeBytes { try OrderedTree.find($0, root: root, store: store) } != nil
    }

    public func forEach(from: Value? = nil, _ body: (Value) throws -> Bool) throws {
        let start = try from.map { try $0.encoded(store: store) }
        try OrderedTree.forEach(root: root, store: store, from: start) { node, i in
            try body(Value.decode(node.keyBytes(i), store: store))
        }
    }

    public func elements() throws -> [Value] {
        var out: [Value] = []
        try forEach { out.append($0); return true }
        return out
    }

    public func element(at index: UInt64) throws -> Value {
        let (node, i) = try OrderedTree.entry(at: index, root: root, store: store)
        return try Value.decode(node.keyBytes(i), store: store)
    }

    public func rank(of element: Value) throws -> UInt64 {
        let k = try element.encoded(store: store)
        return try k.withUnsafeBytes { try OrderedTree.rank($0, root: root, store: store) }
    }

    /// Builds a set from elements in any order; duplicates collapse.
    public static func build(_ elements: some Sequence<Value>, store: NodeStore) throws -> ProllySet {
        var encoded: [(bytes: [UInt8], refs: [Hash])] = []
        for e in elements {
            var refs: [Hash] = []
            var w = ByteWriter()
            try w.value(e, refs: &refs, store: store)
            encoded.append((w.bytes, refs))
        }
        encoded.sort { KeyOrder.compare($0.bytes, $1.bytes) < 0 }
        let builder = TreeBuilder(kind: .set, store: store)
        for (i, e) in encoded.enumerated() where i + 1 == encoded.count || KeyOrder.compare(e.bytes, encoded[i + 1].bytes) != 0 {
            try e.bytes.withUnsafeBytes { try builder.appendElement($0, refs: e.refs) }
        }
        return ProllySet(store: store, root: try builder.finish())
    }

    /// Inserts (`true`) and removes (`false`) elements in one batch; the last word on an
    /// element wins.
    public func editing(_ edits: some Sequence<(Value, Bool)>) throws -> ProllySet {
        var batch: [LevelEdit] = []
        for (e, insert) in edits {
            var refs: [Hash] = []
            var w = ByteWriter()
            try w.value(e, refs: &refs, store: store)
            batch.append(LevelEdit(key: w.bytes, entry: insert ? w.bytes : nil, keyLength: w.bytes.count, subtree: 1, refs: refs))
        }
        return ProllySet(store: store, root: try OrderedTree.apply(sortedUnique(batch), to: root, kind: .set, store: store))
    }

    public func inserting(_ e: Value) throws -> ProllySet { try editing([(e, true)]) }
    public func removing(_ e: Value) throws -> ProllySet { try editing([(e, false)]) }

    /// Streams the elements added (`.add`) and removed (`.remove`) from this set to `other`.
    public func diff(to other: ProllySet, _ body: (EncodedDiff.Op, Value) throws -> Bool) throws {
        try OrderedTree.diff(root, other.root, store: store, valued: false) { d in
            try body(d.op, try Value.decode(d.key, store: store))
        }
    }
}
