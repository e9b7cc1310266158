import CairnStore
/// The operations Map and Set share: their trees are ordered by key and keyed in internal
/// nodes by each subtree's last key.
enum OrderedTree {
    /// The leaf node and index holding `key`, if present.
    static func find(_ key: UnsafeRawBufferPointer, root: TreeRoot, store: NodeStore) throws -> (Node, Int)? {
        var node = try store.rootNode(root)
        while !node.isLeaf {
            let i = node.lowerBound(key)
            if i >= node.count { return nil }
            node = try store.node(node.children[i])
        }
        let i = node.lowerBound(key)
        guard i < node.count, node.withKey(i, { KeyOrder.compare($0, key) }) == 0 else { return nil }
        return (node, i)
    }

    /// How many keys are less than `key`.
    static func rank(_ key: UnsafeRawBufferPointer, root: TreeRoot, store: NodeStore) throws -> UInt64 {
        var node = try store.rootNode(root)
        var before: UInt64 = 0
        while !node.isLeaf {
            let i = node.lowerBound(key)
            if i >= node.count { return before + node.subtreeCount }
            before += node.cumulative[i]
            node = try store.node(node.children[i])
        }
        return before + UInt64(node.lowerBound(key))
    }

    /// Calls `body` with each leaf entry from the first key ≥ `from` (or the start), in order,
    /// until it returns false.
    static func forEach(root: TreeRoot, store: NodeStore, from: [UInt8]?,
                        _ body: (Node, Int) throws -> Bool) throws {
        let rootNode = try store.rootNode(root)
        var c: TreeCursor
        if let from {
            c = try from.withUnsafeBytes { try TreeCursor.seek(store: store, root: rootNode, key: $0) }
        } else {
            c = TreeCursor(store: store, root: rootNode)
            c.normalize()
        }
        // A scan reads each leaf once: leave the cache to the nodes point reads come back to.
        c.cachesLeaves = false
        try c.descendToLeaf()
        while !c.atEnd {
            if try !body(c.node, c.index) { return }
            try c.next()
        }
    }

    /// The leaf entry at position `p`.
    static func entry(at p: UInt64, root: TreeRoot, store: NodeStore) throws -> (Node, Int) {
        guard p < root.count else { throw ValueError.indexOutOfRange(p, count: root.count) }
        let c = try TreeCursor.seek(store: store, root: try store.rootNode(root), position: p)
        // A Ref whose count says more than the tree holds (damaged or hostile bytes).
        guard !c.atEnd else { throw StoreError.corruptChunk(root.hash, reason: "its Ref counts \(root.count) entries, the tree holds fewer") }
        return (c.node, c.index)
    }
}

/// One change of a keyed edit batch at some level: set `entry` (encoded, key first) under
/// `key`, or remove `key` when `entry` is nil.
struct LevelEdit {
    var key: [UInt8]
    var entry: [UInt8]?
    /// Where the key ends inside `entry`.
    var keyLength: Int
    var subtree: UInt64
    var refs: [Hash]
}

extension OrderedTree {
    /// Applies sorted, unique edits to a Map or Set tree, rewriting only the nodes on the paths
    /// they touch. At each level, chunking restarts at the start of the first node an edit
    /// touches and stops once a new boundary falls where an old one was; the nodes it replaced
    /// and the nodes it made become the edits of the level above.
    ///
    /// With `level` above 0 the edits are of that level's entries (subtrees by hash, as a
    /// merge links in leaves it did not read); the tree must be taller than `level`.
    static func apply(_ edits: [LevelEdit], to root: TreeRoot, kind: TreeKind, store: NodeStore,
                      level startLevel: Int = 0) throws -> TreeRoot {
        guard !edits.isEmpty else { return root }
        // Each level's edits apply to the old tree's nodes at that level.
        var edits = edits
        let rootNode = try store.rootNode(root)
        precondition(rootNode.level >= startLevel, "edits above the tree's root")
        var level = startLevel
        while true {
            if edits.isEmpty { return root }  // nothing changed below: the tree is as it was
            let result = try editLevel(level, edits: edits, rootNode: rootNode, kind: kind, store: store)
            if level == rootNode.level {
                // The root's level: what it produced is the new top.
                return try newRoot(from: result.rootLevel, level: level, kind: kind, store: store)
            }
            edits = result.parentEdits
            level += 1
        }
    }

    struct LevelResult {
        var parentEdits: [LevelEdit] = []
        /// At the root's level: the nodes that now make up the level.
        var rootLevel: [ClosedNode] = []
    }

    /// Rechunks the groups of nodes at `level` that `edits` touch.
    static func editLevel(_ level: Int, edits: [LevelEdit], rootNode: Node, kind: TreeKind, store: NodeStore) throws -> LevelResult {
        var result = LevelResult()
        var parent: [[UInt8]: LevelEdit] = [:]
        var produced: [ClosedNode] = []
        var ei = 0
        let isRootLevel = rootNode.level == level
        while ei < edits.count {
            var cursor = try edits[ei].key.withUnsafeBytes { try LevelCursor.seek(store: store, root: rootNode, level: level, key: $0) }
            var chunker = LevelChunker(kind: kind, level: level)
            var removed: [Node] = []
            var made: [ClosedNode] = []
            group: while true {
                let node = cursor.node
                removed.append(node)
                let isLast = cursor.isLastAtLevel
                let nodeLastKey: [UInt8]? = node.count > 0 ? node.keyBytes(node.count - 1) : nil
                var i = 0
                func emit(_ bytes: UnsafeRawBufferPointer, keyLength: Int, subtree: UInt64, refs: [Hash]) throws {
                    if let closed = try chunker.append(entry: bytes, key: 0..<keyLength, subtree: subtree, refs: refs, store: store) {
                        made.append(closed)
                    }
                }
                while true {
                    // The next edit belongs to this node if its key is ≤ the node's last key, or
                    // if this is the level's last node.
                    let editHere = ei < edits.count && (isLast || nodeLastKey == nil
                        || KeyOrder.compare(edits[ei].key, nodeLastKey!) <= 0)
                    if i >= node.count && !editHere { break }
                    let order: Int
                    if i >= node.count { order = -1 } else if !editHere { order = 1 } else {
                        order = node.withKey(i) { k in edits[ei].key.withUnsafeBytes { KeyOrder.compare($0, k) } }
                    }
                    if order <= 0 {
                        let e = edits[ei]
                        if let entry = e.entry {
                            try entry.withUnsafeBytes { try emit($0, keyLength: e.keyLength, subtree: e.subtree, refs: e.refs) }
                        }
                        ei += 1
                        if order == 0 { i += 1 }
                    } else {
                        try emitExisting(node, i, emit)
                        i += 1
                    }
                }
                if chunker.isEmpty && !isLast {
                    break group  // a new boundary where the old one was: in step again
                }
                if isLast {
                    if let closed = try chunker.close(store: store) { made.append(closed) }
                    break group
                }
                try cursor.nextNode()
            }
            // The replaced nodes leave the level above; the new ones enter it.
            for old in removed where old.count > 0 {
                let key = old.keyBytes(old.count - 1)
                parent[key] = parent[key] ?? LevelEdit(key: key, entry: nil, keyLength: key.count, subtree: 0, refs: [])
            }
            for n in made {
                parent[n.lastKey] = LevelEdit(key: n.lastKey, entry: n.parentEntry(keyed: true), keyLength: n.lastKey.count,
                                              subtree: n.subtree, refs: [n.hash])
            }
            if isRootLevel { produced.append(contentsOf: made) }
            // Entries that did not change need no edit above.
            for old in removed where old.count > 0 {
                let key = old.keyBytes(old.count - 1)
                if let e = parent[key], let entry = e.entry,
                   entry == ClosedNode(hash: old.hash, bytes: [], refs: [], subtree: old.subtreeCount, lastKey: key).parentEntry(keyed: true) {
                    parent[key] = nil
                }
            }
        }
        result.parentEdits = parent.values.sorted { KeyOrder.compare($0.key, $1.key) < 0 }
        result.rootLevel = produced
        return result
    }

    /// Feeds an unchanged entry of `node` back through the chunker.
    private static func emitExisting(_ node: Node, _ i: Int,
                                     _ emit: (UnsafeRawBufferPointer, Int, UInt64, [Hash]) throws -> Void) throws {
        let start = Int(node.keyStarts[i]), end = Int(node.keyStarts[i + 1])
        try node.bytes.withUnsafeBytes { raw in
            let entry = UnsafeRawBufferPointer(rebasing: raw[start..<end])
            if node.isLeaf {
                let keyEnd = node.tag == .mapLeaf ? Int(node.valueStarts[i]) : end
                var refs: [Hash] = []
                if !node.refs.isEmpty {  // most leaves reference nothing: no need to look
                    var r = ByteReader(entry)
                    try withUnsafeMutablePointer(to: &refs) { p in
                        while !r.atEnd { try r.skipValue(refs: p) }
                    }
                }
                try emit(entry, keyEnd - start, 1, refs)
            } else {
                try emit(entry, Int(node.keyEnds[i]) - start, node.cumulative[i + 1] - node.cumulative[i], [node.children[i]])
            }
        }
    }

    /// The root from the nodes that now make up the old root's level.
    static func newRoot(from nodes: [ClosedNode], level: Int, kind: TreeKind, store: NodeStore) throws -> TreeRoot {
        if nodes.isEmpty {
            // Everything was removed.
            var empty = LevelChunker(kind: kind, level: 0)
            return try empty.closeAsRoot(store: store)
        }
        if nodes.count == 1 {
            return try collapse(nodes[0].asRoot(level: level), store: store)
        }
        let builder = TreeBuilder(kind: kind, store: store, startLevel: level + 1)
        for n in nodes {
            let entry = n.parentEntry(keyed: kind.isKeyed)
            let key = kind.isKeyed ? 0..<n.lastKey.count : n.lastKey.count..<(n.lastKey.count + Hash.byteCount)
            try entry.withUnsafeBytes { try builder.append(entry: $0, key: key, subtree: n.subtree, refs: [n.hash]) }
        }
        return try builder.finish()
    }

    /// An internal root with one child is not a root: its child is. A small leaf root is inline.
    static func collapse(_ root: TreeRoot, store: NodeStore) throws -> TreeRoot {
        var root = root
        while root.height > 1 {
            let node = try store.rootNode(root)
            guard node.count == 1 else { break }
            root = TreeRoot(node: try store.node(node.children[0]))
        }
        return root
    }
}

/// Walks the nodes of one level of a tree in order.
struct LevelCursor {
    let store: NodeStore
    /// From the root down to a node at the cursor's level.
    var path: [(node: Node, index: Int)]

    var node: Node { path[path.count - 1].node }

    /// The node at `level` that holds `key`, or the level's last node if `key` is beyond all.
    static func seek(store: NodeStore, root: Node, level: Int, key: UnsafeRawBufferPointer) throws -> LevelCursor {
        var path: [(node: Node, index: Int)] = []
        var node = root
        while node.level > level {
            let i = min(node.lowerBound(key), node.count - 1)
            path.append((node, i))
            node = try store.node(node.children[i])
        }
        path.append((node, 0))
        return LevelCursor(store: store, path: path)
    }

    /// Whether no node follows this one at its level.
    var isLastAtLevel: Bool {
        for (n, i) in path.dropLast() where i < n.count - 1 { return false }
        return true
    }

    /// Moves to the next node at this level.
    mutating func nextNode() throws {
        let target = node.level
        var depth = path.count - 2
        while depth >= 0 && path[depth].index >= path[depth].node.count - 1 { depth -= 1 }
        guard depth >= 0 else { throw ValueError.indexOutOfRange(0, count: 0) }
        path[depth].index += 1
        path.removeLast(path.count - depth - 1)
        while path[path.count - 1].node.level > target {
            let (n, i) = path[path.count - 1]
            path.append((try store.node(n.children[i]), 0))
        }
    }
}
