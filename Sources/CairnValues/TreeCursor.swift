import CairnStore
/// A position in a tree: the path of (node, entry index) from the root down to `path.last`.
///
/// When `path.last` is an internal node the cursor is *lazy*: it stands at the start of the
/// child at that index, not yet loaded. Diff uses this to compare subtrees by hash before
/// reading them; iteration descends at once.
struct TreeCursor {
    let store: NodeStore
    var path: [(node: Node, index: Int)]
    /// Whether leaves read on the way go into the node cache (a full scan turns this off).
    var cachesLeaves = true

    init(store: NodeStore, root: Node) {
        self.store = store
        path = [(root, 0)]
    }

    var node: Node { path[path.count - 1].node }
    var index: Int { path[path.count - 1].index }
    var isLazy: Bool { !path.isEmpty && !node.isLeaf }
    var atEnd: Bool { path.isEmpty }
    var level: Int { node.level }
    /// The hash of the subtree a lazy cursor stands at.
    var childHash: Hash { node.children[index] }

    /// Skips an empty root leaf.
    mutating func normalize() {
        if path.count == 1 && node.count == 0 { path.removeAll() }
    }

    /// Loads the child a lazy cursor stands at.
    mutating func descend() throws {
        let child = try store.node(childHash, caching: cachesLeaves || node.level > 1)
        path.append((child, 0))
    }

    /// Descends to the first leaf entry at or below the current position.
    mutating func descendToLeaf() throws {
        while isLazy { try descend() }
    }

    /// Moves past the current entry at the current depth: a leaf entry, or the whole subtree a
    /// lazy cursor stands at. Climbs when the node is done; the result may be lazy.
    mutating func advance() {
        while !path.isEmpty {
            path[path.count - 1].index += 1
            if path[path.count - 1].index < node.count { return }
            path.removeLast()
        }
    }

    /// Moves past `n` ≥ 1 entries of the current node (at most those left in it).
    mutating func advance(within n: Int) {
        path[path.count - 1].index += n - 1
        advance()
    }

    /// Moves to the next leaf entry (descending), or to the end.
    mutating func next() throws {
        advance()
        try descendToLeaf()
    }

    /// Positions at the first leaf entry whose key is ≥ `key` (keyed trees).
    static func seek(store: NodeStore, root: Node, key: UnsafeRawBufferPointer) throws -> TreeCursor {
        var c = TreeCursor(store: store, root: root)
        while true {
            let n = c.node
            let i = n.lowerBound(key)
            if n.isLeaf {
                c.path[c.path.count - 1].index = i
                if i >= n.count { c.advanceFromEnd() }
                return c
            }
            if i >= n.count {
                // Beyond every key: the end.
                c.path.removeAll()
                return c
            }
            c.path[c.path.count - 1].index = i
            try c.descend()
        }
    }

    /// Positions at leaf position `p` (0-based), or at the end when `p` ≥ count.
    static func seek(store: NodeStore, root: Node, position p: UInt64) throws -> TreeCursor {
        var c = TreeCursor(store: store, root: root)
        guard p < root.subtreeCount else {
            c.path.removeAll()
            return c
        }
        var offset = p
        while !c.node.isLeaf {
            guard c.node.count > 0 else { throw StoreError.corruptChunk(c.node.hash, reason: "an internal node with no entries") }
            let (i, rest) = c.node.childFor(position: offset)
            c.path[c.path.count - 1].index = i
            offset = rest
            try c.descend()
        }
        // A node whose counts say more than its child holds (damaged or hostile bytes).
        guard offset < UInt64(c.node.count) else {
            throw StoreError.corruptChunk(c.node.hash, reason: "its parent counts more entries than the \(c.node.count) it holds")
        }
        c.path[c.path.count - 1].index = Int(offset)
        return c
    }

    /// Used when a leaf search lands past its last entry: step to the next leaf.
    private mutating func advanceFromEnd() {
        path[path.count - 1].index = node.count - 1
        advance()
        try? descendToLeaf()
    }

    /// The leaf position of the current entry (sum of counts to the left along the path).
    var position: UInt64 {
        var p: UInt64 = 0
        for (n, i) in path { p += n.cumulative[i] }
        return p
    }
}

/// A cursor that can stand lazily at a subtree (forward or backward).
protocol LazyCursor {
    var atEnd: Bool { get }
    var isLazy: Bool { get }
    var level: Int { get }
    var childHash: Hash { get }
    /// The leaf entries under the subtree a lazy cursor stands at.
    var span: UInt64 { get }
    mutating func descend() throws
    /// Past the current entry or subtree, in the cursor's direction.
    mutating func step()
}

extension TreeCursor: LazyCursor {
    var span: UInt64 { node.cumulative[index + 1] - node.cumulative[index] }
    mutating func step() { advance() }
}

/// Moves two cursors over equal subtrees (by hash) until both stand at leaf entries; returns
/// false when either runs out first. `skipped` hears how many leaf entries each skip passed.
/// Both diffs walk this way, so d changes cost about d × depth node reads.
func alignAtLeaves<C: LazyCursor>(_ x: inout C, _ y: inout C, skipped: (UInt64) -> Void = { _ in }) throws -> Bool {
    while !x.atEnd && !y.atEnd {
        if x.isLazy && y.isLazy {
            if x.level == y.level && x.childHash == y.childHash {
                skipped(x.span)
                x.step()
                y.step()
                continue
            }
            let lx = x.level, ly = y.level
            if lx >= ly { try x.descend() }
            if ly >= lx { try y.descend() }
            continue
        }
        if x.isLazy { try x.descend(); continue }
        if y.isLazy { try y.descend(); continue }
        return true
    }
    return false
}
