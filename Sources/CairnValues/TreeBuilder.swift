import CairnStore
/// A node that a ``LevelChunker`` closed and wrote.
struct ClosedNode {
    let hash: Hash
    let bytes: [UInt8]
    let refs: [Hash]
    /// Leaf entries (bytes for Blob) under it.
    let subtree: UInt64
    /// The last key under it (Map, Set), encoded; empty otherwise.
    let lastKey: [UInt8]

    /// Its entry in the level above: (last key,) hash, subtree count.
    func parentEntry(keyed: Bool) -> [UInt8] {
        var w = ByteWriter(capacity: lastKey.count + 30)
        if keyed { w.append(lastKey) }
        w.hash(hash)
        w.varint(subtree)
        return w.bytes
    }
}

/// The open node of one tree level: takes encoded entries, and closes (writes) the node
/// after an entry that is a boundary (docs/format.md, Boundary).
struct LevelChunker {
    let kind: TreeKind
    let level: Int
    private(set) var entries = ByteWriter(capacity: 256)
    private(set) var n = 0
    private(set) var size = 0
    private var subtree: UInt64 = 0
    /// Where the last entry's key lies in `entries` (keyed trees): copied out only when the
    /// node closes, not on every entry.
    private var lastKeyRange: Range<Int> = 0..<0
    private var refs: [Hash] = []

    init(kind: TreeKind, level: Int) {
        self.kind = kind
        self.level = level
    }

    var isEmpty: Bool { n == 0 && size == 0 }

    /// Appends one entry. `key` is the part of `entry` whose hash decides the boundary (and,
    /// for keyed trees, the node's last key). Returns the node if the entry closed it.
    mutating func append(entry: UnsafeRawBufferPointer, key: Range<Int>, subtree count: UInt64, refs entryRefs: [Hash],
                         store: NodeStore) throws -> ClosedNode? {
        let before = size
        let start = entries.bytes.count
        entries.append(entry)
        n += 1
        size += entry.count
        subtree += count
        if !entryRefs.isEmpty { refs.append(contentsOf: entryRefs) }
        let keyBytes = UnsafeRawBufferPointer(rebasing: entry[key])
        if kind.isKeyed { lastKeyRange = (start + key.lowerBound)..<(start + key.upperBound) }
        if Boundary.splits(sizeBefore: before, itemSize: entry.count, keyHash: Boundary.keyHash(keyBytes, level: level)) {
            return try close(store: store)
        }
        return nil
    }

    /// Appends a Map leaf entry given as key and value; the key decides the boundary.
    mutating func appendMapEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, refs entryRefs: [Hash],
                                 store: NodeStore) throws -> ClosedNode? {
        let before = size
        lastKeyRange = entries.bytes.count..<(entries.bytes.count + key.count)
        entries.append(key)
        entries.append(value)
        n += 1
        size += key.count + value.count
        subtree += 1
        if !entryRefs.isEmpty { refs.append(contentsOf: entryRefs) }
        if Boundary.splits(sizeBefore: before, itemSize: key.count + value.count, keyHash: Boundary.keyHash(key, level: level)) {
            return try close(store: store)
        }
        return nil
    }

    /// Appends Blob bytes to an open leaf (level 0 of a Blob); the caller decides boundaries.
    mutating func appendBlobBytes(_ bytes: UnsafeRawBufferPointer) {
        entries.append(bytes)
        size += bytes.count
        subtree += UInt64(bytes.count)
    }

    /// The chunk bytes of the open node.
    func nodeBytes() -> [UInt8] {
        var w = ByteWriter(capacity: entries.bytes.count + 16)
        w.byte(Format.version)
        if level == 0 {
            w.byte(kind.leafTag.rawValue)
            w.varint(UInt64(kind == .blob ? entries.bytes.count : n))
        } else {
            w.byte(kind.nodeTag.rawValue)
            w.varint(UInt64(level))
            w.varint(UInt64(n))
        }
        w.append(entries.bytes)
        return w.bytes
    }

    /// Writes the open node (if any) and starts an empty one.
    mutating func close(store: NodeStore) throws -> ClosedNode? {
        guard !isEmpty else { return nil }
        let bytes = nodeBytes()
        let hash = try store.write(bytes, refs: refs, recordsRefs: level == 0)
        let lastKey = kind.isKeyed ? Array(entries.bytes[lastKeyRange]) : []
        let closed = ClosedNode(hash: hash, bytes: bytes, refs: refs, subtree: subtree, lastKey: lastKey)
        reset()
        return closed
    }

    /// The open node as a root: an inline leaf when small enough, else written.
    mutating func closeAsRoot(store: NodeStore) throws -> TreeRoot {
        let bytes = nodeBytes()
        let count = subtree, r = refs
        reset()
        if TreeRoot.isInline(level: level, chunkBytes: bytes.count) {
            return TreeRoot(inlineLeaf: bytes, count: count, refs: r)
        }
        let hash = try store.write(bytes, refs: r, recordsRefs: level == 0)
        return TreeRoot(hash: hash, count: count, height: level + 1)
    }

    private mutating func reset() {
        entries.bytes.removeAll(keepingCapacity: true)
        n = 0
        size = 0
        subtree = 0
        refs.removeAll(keepingCapacity: true)
    }
}

extension ClosedNode {
    /// As a root: a node at `level`; a small leaf becomes inline.
    func asRoot(level: Int) -> TreeRoot {
        if TreeRoot.isInline(level: level, chunkBytes: bytes.count) {
            return TreeRoot(inlineLeaf: bytes, count: subtree, refs: refs)
        }
        return TreeRoot(hash: hash, count: subtree, height: level + 1)
    }
}

/// Builds a prolly tree from its leaf entries in order, in bounded memory: one open node per
/// level, each written as soon as it closes. Batched edits use the same chunkers over a window
/// of the old tree, so both give the same nodes for the same contents.
final class TreeBuilder {
    let kind: TreeKind
    let store: NodeStore
    private var levels: [LevelChunker]
    /// Blob leaves: the gear hash of the open leaf.
    private var gear: UInt64 = 0
    /// The last node closed at each level, in case it turns out to be the root.
    private var lastClosed: [ClosedNode?] = [nil]

    init(kind: TreeKind, store: NodeStore, startLevel: Int = 0) {
        self.kind = kind
        self.store = store
        levels = [LevelChunker(kind: kind, level: startLevel)]
    }

    private var baseLevel: Int { levels[0].level }

    /// Appends a Map entry, key and value already encoded.
    func appendMapEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, refs: [Hash]) throws {
        if let closed = try levels[0].appendMapEntry(key: key, value: value, refs: refs, store: store) {
            try promote(closed, from: 0)
        }
    }

    /// Appends a Set or List element, already encoded.
    func appendElement(_ element: UnsafeRawBufferPointer, refs: [Hash]) throws {
        try append(entry: element, key: 0..<element.count, subtree: 1, refs: refs)
    }

    /// Appends an entry at the base level (a leaf entry, or an internal entry when the builder
    /// starts above the leaves).
    func append(entry: UnsafeRawBufferPointer, key: Range<Int>, subtree: UInt64, refs: [Hash]) throws {
        if let closed = try levels[0].append(entry: entry, key: key, subtree: subtree, refs: refs, store: store) {
            try promote(closed, from: 0)
        }
    }

    /// Appends Blob bytes, cutting leaves where the gear hash says.
    func appendBytes(_ data: UnsafeRawBufferPointer) throws {
        var closed: [ClosedNode] = []
        try BlobLeafCutter.feed(data, gear: &gear, leaf: &levels[0], store: store) { closed.append($0) }
        for c in closed { try promote(c, from: 0) }
    }

    /// Adds a closed node's entry to the level above.
    private func promote(_ closed: ClosedNode, from k: Int) throws {
        lastClosed[k] = closed
        if levels.count == k + 1 {
            levels.append(LevelChunker(kind: kind, level: baseLevel + k + 1))
            lastClosed.append(nil)
        }
        let entry = closed.parentEntry(keyed: kind.isKeyed)
        let keyRange = kind.isKeyed ? 0..<closed.lastKey.count : closed.lastKey.count..<(closed.lastKey.count + Hash.byteCount)
        let up = try entry.withUnsafeBytes {
            try levels[k + 1].append(entry: $0, key: keyRange, subtree: closed.subtree, refs: [closed.hash], store: store)
        }
        if let up { try promote(up, from: k + 1) }
    }

    /// Closes every open node and returns the root. A root that is one leaf of at most
    /// `Format.inlineLimit` bytes is returned inline, not written.
    func finish() throws -> TreeRoot {
        var k = 0
        while true {
            if k == levels.count - 1 {
                if k > 0 && levels[k].n == 1, let child = lastClosed[k - 1] {
                    // One entry at the top: its child is the root.
                    return child.asRoot(level: baseLevel + k - 1)
                }
                return try levels[k].closeAsRoot(store: store)
            }
            if let closed = try levels[k].close(store: store) { try promote(closed, from: k) }
            k += 1
        }
    }
}

/// Cuts Blob bytes into leaves: a gear hash over the bytes, reset at each cut; a cut after a
/// byte where the leaf holds at least 1 KiB and the hash's top 12 bits are zero, or at 16 KiB.
enum BlobLeafCutter {
    static func feed(_ data: UnsafeRawBufferPointer, gear: inout UInt64, leaf: inout LevelChunker, store: NodeStore,
                     onClose: (ClosedNode) throws -> Void) throws {
        let table = BlobBoundary.gear
        var start = 0
        var i = 0
        while i < data.count {
            gear = (gear << 1) &+ table[Int(data[i])]
            i += 1
            let size = leaf.size + (i - start)
            if (size >= BlobBoundary.minSize && gear & BlobBoundary.mask == 0) || size >= BlobBoundary.maxSize {
                leaf.appendBlobBytes(UnsafeRawBufferPointer(rebasing: data[start..<i]))
                if let closed = try leaf.close(store: store) { try onClose(closed) }
                start = i
                gear = 0
            }
        }
        if start < data.count { leaf.appendBlobBytes(UnsafeRawBufferPointer(rebasing: data[start...])) }
    }
}
