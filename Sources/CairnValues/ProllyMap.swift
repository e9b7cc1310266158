import CairnStore
/// A sorted map from ``Value`` to ``Value`` stored as a prolly tree: history-independent, so the
/// same contents give the same root hash whatever the order of edits.
public struct ProllyMap: Sendable, Hashable {
    public let store: NodeStore
    public let root: TreeRoot

    public init(store: NodeStore, root: TreeRoot) {
        self.store = store
        self.root = root
    }

    public static func == (a: ProllyMap, b: ProllyMap) -> Bool { a.root == b.root }
    public func hash(into h: inout Hasher) { h.combine(root) }

    /// The empty map.
    public static func empty(store: NodeStore) throws -> ProllyMap {
        var c = LevelChunker(kind: .map, level: 0)
        return ProllyMap(store: store, root: try c.closeAsRoot(store: store))
    }

    public var count: UInt64 { root.count }
    public var isEmpty: Bool { root.count == 0 }
    /// The hash of the map's root node: equal maps have equal hashes.
    public var hash: Hash { root.hash }

    // MARK: Reading

    public func get(_ key: Value) throws -> Value? {
        let k = try key.encoded(store: store)
        guard let (node, i) = try k.withUnsafeBytes({ try OrderedTree.find($0, root: root, store: store) }) else { return nil }
        return try Value.decode(node.valueBytes(i), store: store)
    }

    /// The encoded value under an encoded key.
    public func getEncoded(_ key: [UInt8]) throws -> [UInt8]? {
        guard let (node, i) = try key.withUnsafeBytes({ try OrderedTree.find($0, root: root, store: store) }) else { return nil }
        return node.valueBytes(i)
    }

    public func contains(_ key: Value) throws -> Bool {
        let k = try key.encoded(store: store)
        return try k.withUnsafeBytes { try OrderedTree.find($0, root: root, store: store) } != nil
    }

    /// Calls `body` with each entry in key order, from the first key ≥ `from` (or the start),
    /// until it returns false.
    public func forEach(from: Value? = nil, _ body: (Value, Value) throws -> Bool) throws {
        let start = try from.map { try $0.encoded(store: store) }
        try OrderedTree.forEach(root: root, store: store, from: start) { node, i in
            try body(Value.decode(node.keyBytes(i), store: store), Value.decode(node.valueBytes(i), store: store))
        }
    }

    /// Like ``forEach(from:_:)`` with the encodings, for callers that compare or copy bytes.
    public func forEachEncoded(from: [UInt8]? = nil, _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws {
        try OrderedTree.forEach(root: root, store: store, from: from) { node, i in
            try body(node.keyBytes(i), node.valueBytes(i))
        }
    }

    /// All entries in key order, in memory: for small maps and tests.
    public func entries() throws -> [(key: Value, value: Value)] {
        var out: [(key: Value, value: Value)] = []
        try forEach { k, v in out.append((k, v)); return true }
        return out
    }

    /// The entries with `from` ≤ key < `to`, in order.
    public func range(from: Value, to: Value) throws -> [(key: Value, value: Value)] {
        let end = try to.encoded(store: store)
        var out: [(key: Value, value: Value)] = []
        try OrderedTree.forEach(root: root, store: store, from: try from.encoded(store: store)) { node, i in
            if node.withKey(i, { k in end.withUnsafeBytes { KeyOrder.compare(k, $0) } }) >= 0 { return false }
            out.append((try Value.decode(node.keyBytes(i), store: store), try Value.decode(node.valueBytes(i), store: store)))
            return true
        }
        return out
    }

    /// The entry at position `index` in key order.
    public func entry(at index: UInt64) throws -> (key: Value, value: Value) {
        let (node, i) = try OrderedTree.entry(at: index, root: root, store: store)
        return (try Value.decode(node.keyBytes(i), store: store), try Value.decode(node.valueBytes(i), store: store))
    }

    /// How many keys sort before `key`.
    public func rank(of key: Value) throws -> UInt64 {
        let k = try key.encoded(store: store)
        return try k.withUnsafeBytes { try OrderedTree.rank($0, root: root, store: store) }
    }

    /// The tree's height: 1 when the root is a leaf.
    public var height: Int { root.height }
}

// MARK: - Building and editing

extension ProllyMap {
    /// Builds a map from entries in strictly increasing key order, in bounded memory.
    public static func build(sorted entries: some Sequence<(Value, Value)>, store: NodeStore) throws -> ProllyMap {
        let builder = MapBuilder(store: store)
        for (k, v) in entries { try builder.append(k, v) }
        return try builder.finish()
    }

    /// Builds a map from entries in any order (the last value of a repeated key wins).
    /// Keys and values are encoded back to back into one buffer and sorted as spans of it, so
    /// a small map (a JSON object, a row) costs a few allocations, not a few per entry.
    public static func build(_ entries: some Sequence<(Value, Value)>, store: NodeStore) throws -> ProllyMap {
        var w = ByteWriter()
        var refs: [Hash] = []
        var spans: [EntrySpan] = []
        spans.reserveCapacity(entries.underestimatedCount)
        for (k, v) in entries {
            let k0 = w.bytes.count, r0 = refs.count
            try w.value(k, refs: &refs, store: store)
            let v0 = w.bytes.count
            try w.value(v, refs: &refs, store: store)
            spans.append(EntrySpan(key: k0, value: v0, end: w.bytes.count, refs: r0..<refs.count))
        }
        return try build(encoded: w.bytes, spans: spans, refs: refs, store: store)
    }

    /// Builds a map from entries encoded back to back in `bytes`, in any order (the last of a
    /// repeated key wins); each span's chunk references are its range of `refs`.
    static func build(encoded bytes: [UInt8], spans: [EntrySpan], refs: [Hash], store: NodeStore) throws -> ProllyMap {
        try bytes.withUnsafeBytes { buf in
            func key(_ s: EntrySpan) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buf[s.key..<s.value]) }
            // A stable sort keeps the last of equal keys last; then only that one is kept.
            let sorted = spans.enumerated().sorted {
                let c = KeyOrder.compare(key($0.element), key($1.element))
                return c != 0 ? c < 0 : $0.offset < $1.offset
            }
            var kept: [EntrySpan] = []
            kept.reserveCapacity(sorted.count)
            for (i, e) in sorted.enumerated() where i + 1 == sorted.count || KeyOrder.compare(key(e.element), key(sorted[i + 1].element)) != 0 {
                kept.append(e.element)
            }
            let size = kept.reduce(0) { $0 + $1.end - $1.key }
            if size < Boundary.minSize {
                // No boundary can fall below the minimum size: one leaf, inline.
                var leaf = ByteWriter(capacity: size + 12)
                leaf.byte(Format.version)
                leaf.byte(Tag.mapLeaf.rawValue)
                leaf.varint(UInt64(kept.count))
                var leafRefs: [Hash] = []
                for e in kept {
                    leaf.append(UnsafeRawBufferPointer(rebasing: buf[e.key..<e.end]))
                    leafRefs.append(contentsOf: refs[e.refs])
                }
                return ProllyMap(store: store, root: TreeRoot(inlineLeaf: leaf.bytes, count: UInt64(kept.count), refs: leafRefs))
            }
            let builder = MapBuilder(store: store)
            for e in kept {
                try builder.appendEncoded(key: key(e), value: UnsafeRawBufferPointer(rebasing: buf[e.value..<e.end]),
                                          refs: Array(refs[e.refs]))
            }
            return try builder.finish()
        }
    }

    /// Applies a batch of edits (`nil` removes the key). Only the nodes on the paths the edits
    /// touch are rewritten. A later edit of the same key wins.
    public func editing(_ edits: some Sequence<(Value, Value?)>) throws -> ProllyMap {
        var batch: [LevelEdit] = []
        for (k, v) in edits {
            var refs: [Hash] = []
            var w = ByteWriter()
            try w.value(k, refs: &refs, store: store)
            let key = w.bytes
            if let v {
                try w.value(v, refs: &refs, store: store)
                batch.append(LevelEdit(key: key, entry: w.bytes, keyLength: key.count, subtree: 1, refs: refs))
            } else {
                batch.append(LevelEdit(key: key, entry: nil, keyLength: key.count, subtree: 1, refs: []))
            }
        }
        return ProllyMap(store: store, root: try OrderedTree.apply(sortedUnique(batch), to: root, kind: .map, store: store))
    }

    /// Like ``editing(_:)`` with keys and values already encoded (`nil` removes), each with
    /// the chunks its value references.
    public func editingEncoded(_ edits: [(key: [UInt8], value: [UInt8]?, refs: [Hash])]) throws -> ProllyMap {
        var batch: [LevelEdit] = []
        batch.reserveCapacity(edits.count)
        for (k, v, refs) in edits {
            batch.append(LevelEdit(key: k, entry: v.map { k + $0 }, keyLength: k.count, subtree: 1, refs: v == nil ? [] : refs))
        }
        return ProllyMap(store: store, root: try OrderedTree.apply(sortedUnique(batch), to: root, kind: .map, store: store))
    }

    public func setting(_ key: Value, to value: Value) throws -> ProllyMap { try editing([(key, value)]) }
    public func removing(_ key: Value) throws -> ProllyMap { try editing([(key, nil)]) }
}

/// Sorts edits by key; of equal keys the last given wins.
func sortedUnique(_ edits: [LevelEdit]) -> [LevelEdit] {
    // Edits that come from a diff or a merge are in order already: one pass sees it.
    if zip(edits, edits.dropFirst()).allSatisfy({ KeyOrder.compare($0.key, $1.key) < 0 }) { return edits }
    let sorted = edits.enumerated().sorted {
        let c = KeyOrder.compare($0.element.key, $1.element.key)
        return c != 0 ? c < 0 : $0.offset < $1.offset
    }.map(\.element)
    var out: [LevelEdit] = []
    out.reserveCapacity(sorted.count)
    for (i, e) in sorted.enumerated() where i + 1 == sorted.count || KeyOrder.compare(e.key, sorted[i + 1].key) != 0 {
        out.append(e)
    }
    return out
}

/// Where one entry sits in a buffer of encoded entries: key at `key..<value`, value at
/// `value..<end`, and its chunk references in a side array.
struct EntrySpan {
    let key: Int
    let value: Int
    let end: Int
    let refs: Range<Int>
}
