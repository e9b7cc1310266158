import CairnStore
/// What a difference is: the one kind of change every diff reports (trees, tables, roots).
public enum DiffOp: String, Sendable { case add, remove, modify }

/// One difference between two keyed trees, with the encodings of what changed.
public struct EncodedDiff: Sendable {
    public typealias Op = DiffOp
    public let op: Op
    public let key: [UInt8]
    /// Absent on `add`.
    public let old: [UInt8]?
    /// Absent on `remove`.
    public let new: [UInt8]?
}

/// The differences from one keyed tree to another, pulled one at a time in key order. Walks
/// both trees at once and skips every pair of subtrees with equal hashes, so d changes cost
/// about d × depth node reads, not the size of the trees. Two of these side by side are how a
/// three-way merge streams base→ours and base→theirs.
public struct TreeDiffIterator {
    private var x: TreeCursor?
    private var y: TreeCursor?
    private let a: TreeRoot, b: TreeRoot
    private let store: NodeStore
    private let valued: Bool
    private var started = false
    private var done: Bool

    init(_ a: TreeRoot, _ b: TreeRoot, store: NodeStore, valued: Bool) {
        self.a = a
        self.b = b
        self.store = store
        done = a.hash == b.hash
        self.valued = valued
    }

    /// The next difference, or nil when there are no more.
    public mutating func next() throws -> EncodedDiff? {
        if done { return nil }
        if !started {
            // The roots are read on the first call, so equal trees cost nothing.
            x = TreeCursor(store: store, root: try store.rootNode(a))
            y = TreeCursor(store: store, root: try store.rootNode(b))
            x!.normalize()
            y!.normalize()
            started = true
        }
        // The cursors are moved out while they work, so their paths stay uniquely referenced
        // and are never copied.
        guard var cx = x.take(), var cy = y.take() else { return nil }
        defer {
            x = cx
            y = cy
        }
        if let d = try Self.step(&cx, &cy, valued: valued) { return d }
        done = true
        return nil
    }

    /// Skips every difference whose key is below `key` without reading what lies between:
    /// both trees are entered afresh at `key`. Only for moving forward: `key` must not be below
    /// the key of a difference already returned.
    public mutating func skip(to key: [UInt8]) throws {
        if done { return }
        let ra = try store.rootNode(a), rb = try store.rootNode(b)
        x = try key.withUnsafeBytes { try TreeCursor.seek(store: store, root: ra, key: $0) }
        y = try key.withUnsafeBytes { try TreeCursor.seek(store: store, root: rb, key: $0) }
        if ra.count == 0 { x!.path.removeAll() }
        if rb.count == 0 { y!.path.removeAll() }
        started = true
    }

    private static func step(_ x: inout TreeCursor, _ y: inout TreeCursor, valued: Bool) throws -> EncodedDiff? {
        func value(_ c: TreeCursor) -> [UInt8]? { valued ? c.node.valueBytes(c.index) : nil }
        while !x.atEnd || !y.atEnd {
            if x.atEnd {
                try y.descendToLeaf()
                defer { y.advance() }
                return EncodedDiff(op: .add, key: y.node.keyBytes(y.index), old: nil, new: value(y))
            }
            if y.atEnd {
                try x.descendToLeaf()
                defer { x.advance() }
                return EncodedDiff(op: .remove, key: x.node.keyBytes(x.index), old: value(x), new: nil)
            }
            guard try alignAtLeaves(&x, &y) else { continue }
            // Entries whose bytes are the same on both sides are no difference: skip the whole
            // run of them with one comparison of bytes instead of entry by entry.
            let same = Node.equalEntryRun(x.node, x.index, y.node, y.index)
            if same > 0 {
                x.advance(within: same)
                y.advance(within: same)
                continue
            }
            let order = x.node.withKey(x.index) { k in y.node.withKey(y.index) { KeyOrder.compare(k, $0) } }
            if order == 0 {
                defer { x.advance(); y.advance() }
                if valued && !x.node.valueEquals(x.index, y.node, y.index) {
                    return EncodedDiff(op: .modify, key: x.node.keyBytes(x.index), old: x.node.valueBytes(x.index),
                                       new: y.node.valueBytes(y.index))
                }
            } else if order < 0 {
                defer { x.advance() }
                return EncodedDiff(op: .remove, key: x.node.keyBytes(x.index), old: value(x), new: nil)
            } else {
                defer { y.advance() }
                return EncodedDiff(op: .add, key: y.node.keyBytes(y.index), old: nil, new: value(y))
            }
        }
        return nil
    }
}

extension OrderedTree {
    /// Streams the differences from `a` to `b` in key order (see ``TreeDiffIterator``).
    /// `body` returns false to stop.
    static func diff(_ a: TreeRoot, _ b: TreeRoot, store: NodeStore, valued: Bool,
                     _ body: (EncodedDiff) throws -> Bool) throws {
        var it = TreeDiffIterator(a, b, store: store, valued: valued)
        while let d = try it.next() {
            if try !body(d) { return }
        }
    }
}

/// One difference between two maps.
public struct MapDiff: Sendable {
    public let op: DiffOp
    public let key: Value
    public let old: Value?
    public let new: Value?
}

extension ProllyMap {
    /// The differences from this map to `other`, pulled one at a time, as encodings.
    public func diffIterator(to other: ProllyMap) -> TreeDiffIterator {
        TreeDiffIterator(root, other.root, store: store, valued: true)
    }

    /// Streams the differences from this map to `other`, in key order, as encodings.
    public func diffEncoded(to other: ProllyMap, _ body: (EncodedDiff) throws -> Bool) throws {
        try OrderedTree.diff(root, other.root, store: store, valued: true, body)
    }

    /// Streams the differences from this map to `other`, in key order.
    public func diff(to other: ProllyMap, _ body: (MapDiff) throws -> Bool) throws {
        try diffEncoded(to: other) { d in
            try body(MapDiff(op: d.op, key: try Value.decode(d.key, store: store),
                             old: try d.old.map { try Value.decode($0, store: store) },
                             new: try d.new.map { try Value.decode($0, store: store) }))
        }
    }

    /// Applies a diff (as from ``diff(to:_:)``) to this map.
    public func applying(_ diff: [MapDiff]) throws -> ProllyMap {
        try editing(diff.map { ($0.key, $0.op == .remove ? nil : $0.new) })
    }
}
