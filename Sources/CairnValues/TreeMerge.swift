import CairnStore

/// What a three-way merge decides for one key that theirs changed (see ``TreeMerge``).
package enum MergedEntry {
    /// The result keeps ours' entry (or ours' absence).
    case keep
    /// The result has this value (encoded), which references these chunks.
    case set([UInt8], refs: [Hash])
    case remove
}

/// Applies to one keyed tree ("ours") what changed from a base to another ("theirs"), with
/// cost in the changes, not the data. The base→theirs diff is walked at the level of leaf
/// references: subtrees equal on both sides are skipped by hash, and the changed region is cut
/// into runs of whole leaves between boundaries the two share. A run that ours holds exactly
/// as the base does (the same leaves, by hash), and that ends before both trees' ends, is
/// linked into ours as theirs' leaves, by hash, without reading them: its chunking starts and
/// ends at content boundaries the result shares (a leaf that is not a tree's last ends at one),
/// so the result is the tree any other order of edits would build. A run reaching a tree's end
/// is not linked: the last leaf ends where the data ends, which is no boundary once ours has
/// more after it. Every other run is compared entry
/// by entry, and `decide` settles each key theirs changed, given base's, ours' and theirs'
/// encoded values (nil: absent).
package enum TreeMerge {
    package static func apply(base: ProllyMap, ours: ProllyMap, theirs: ProllyMap,
                               decide: (_ key: [UInt8], _ base: [UInt8]?, _ ours: [UInt8]?, _ theirs: [UInt8]?) throws -> MergedEntry)
        throws -> ProllyMap {
        let store = ours.store
        if base.root == theirs.root { return ours }
        var entryEdits: [LevelEdit] = []
        var leafEdits: [LevelEdit] = []
        func entriesChanged(_ baseLeaves: [Node], _ theirLeaves: [Node]) throws {
            try changedEntries(baseLeaves, theirLeaves, store: store) { key, b, t in
                let o = try ours.getEncoded(key)
                switch try decide(key, b, o, t) {
                case .keep: break
                case .set(let v, let refs):
                    let keyRefs = try EncodedView.refs(key)
                    entryEdits.append(LevelEdit(key: key, entry: key + v, keyLength: key.count, subtree: 1, refs: keyRefs + refs))
                case .remove:
                    if o != nil { entryEdits.append(LevelEdit(key: key, entry: nil, keyLength: key.count, subtree: 1, refs: [])) }
                }
            }
        }
        let baseRoot = try store.rootNode(base.root), theirRoot = try store.rootNode(theirs.root)
        let oursRoot = try store.rootNode(ours.root)
        if baseRoot.level == 0 || theirRoot.level == 0 {
            // A one-leaf tree on either side: entry by entry.
            try entriesChanged(try leaves(baseRoot, store: store), try leaves(theirRoot, store: store))
        } else {
            var x = TreeCursor(store: store, root: baseRoot)
            var y = TreeCursor(store: store, root: theirRoot)
            while try alignAtLeafRefs(&x, &y) {
                // A run of leaves from a shared boundary to the next one.
                var xs = [LeafRef(x)], ys = [LeafRef(y)]
                x.step()
                y.step()
                // Whether the run ends at a chunk boundary both sides share. A tree's last leaf
                // ends where the data ends, not at a boundary: a run reaching one tree's end
                // is merged entry by entry; one reaching both ends is linked only where it is
                // ours' end too (all three then end where the data ends).
                var atBoundary = true
                while true {
                    let c = KeyOrder.compare(xs.last!.lastKey, ys.last!.lastKey)
                    if c == 0 { break }
                    if c < 0 {
                        try toLeafRefs(&x)
                        if x.atEnd { try drain(&y, into: &ys); atBoundary = false; break }
                        xs.append(LeafRef(x))
                        x.step()
                    } else {
                        try toLeafRefs(&y)
                        if y.atEnd { try drain(&x, into: &xs); atBoundary = false; break }
                        ys.append(LeafRef(y))
                        y.step()
                    }
                }
                let bothEnd = x.atEnd && y.atEnd
                if x.atEnd || y.atEnd { atBoundary = false }
                let held = try holds(oursRoot, xs, store: store)
                if held.matches && (atBoundary || (bothEnd && held.atOursEnd)) {
                    for l in xs { leafEdits.append(LevelEdit(key: l.lastKey, entry: nil, keyLength: l.lastKey.count, subtree: 0, refs: [])) }
                    for l in ys {
                        let entry = ClosedNode(hash: l.hash, bytes: [], refs: [], subtree: l.count, lastKey: l.lastKey).parentEntry(keyed: true)
                        leafEdits.append(LevelEdit(key: l.lastKey, entry: entry, keyLength: l.lastKey.count, subtree: l.count, refs: [l.hash]))
                    }
                } else {
                    try entriesChanged(try nodes(xs, store: store), try nodes(ys, store: store))
                }
            }
            // What is left on one side only: leaves past the other's end.
            var xs: [LeafRef] = [], ys: [LeafRef] = []
            try drain(&x, into: &xs)
            try drain(&y, into: &ys)
            if !xs.isEmpty || !ys.isEmpty { try entriesChanged(try nodes(xs, store: store), try nodes(ys, store: store)) }
        }
        var root = ours.root
        if !leafEdits.isEmpty {
            root = try OrderedTree.apply(sortedUnique(leafEdits), to: root, kind: .map, store: store, level: 1)
        }
        if !entryEdits.isEmpty {
            root = try OrderedTree.apply(sortedUnique(entryEdits), to: root, kind: .map, store: store)
        }
        return ProllyMap(store: store, root: root)
    }

    /// A leaf as its parent holds it.
    struct LeafRef {
        let hash: Hash
        let lastKey: [UInt8]
        let count: UInt64
        init(_ c: TreeCursor) {
            hash = c.childHash
            lastKey = c.node.keyBytes(c.index)
            count = c.span
        }
    }

    /// Moves two cursors (never inside a leaf) past equal subtrees until both stand at a leaf
    /// reference that differs; false when either runs out first.
    static func alignAtLeafRefs(_ x: inout TreeCursor, _ y: inout TreeCursor) throws -> Bool {
        while !x.atEnd && !y.atEnd {
            if x.level == y.level && x.childHash == y.childHash {
                x.step()
                y.step()
                continue
            }
            let lx = x.level, ly = y.level
            if lx == 1 && ly == 1 { return true }
            if lx >= ly && lx > 1 { try x.descend() }
            if ly >= lx && ly > 1 { try y.descend() }
        }
        return false
    }

    /// Descends a cursor that climbed out of a node to the next leaf reference.
    static func toLeafRefs(_ c: inout TreeCursor) throws {
        while !c.atEnd && c.level > 1 { try c.descend() }
    }

    /// Every leaf reference left under a cursor.
    static func drain(_ c: inout TreeCursor, into out: inout [LeafRef]) throws {
        while true {
            try toLeafRefs(&c)
            if c.atEnd { return }
            out.append(LeafRef(c))
            c.step()
        }
    }

    /// The leaves of a tree (the root itself when it is a leaf, even one stored inline).
    static func leaves(_ root: Node, store: NodeStore) throws -> [Node] {
        if root.level == 0 { return [root] }
        var c = TreeCursor(store: store, root: root)
        var out: [LeafRef] = []
        try drain(&c, into: &out)
        return try nodes(out, store: store)
    }

    /// The leaves named by these references, read without filling the cache.
    static func nodes(_ refs: [LeafRef], store: NodeStore) throws -> [Node] {
        try refs.map { try store.node($0.hash, caching: false) }
    }

    /// Whether the tree under `root` holds these leaves, one after the other. Reads only
    /// internal nodes. `atOursEnd`: the last of them is the tree's last leaf.
    static func holds(_ root: Node, _ leaves: [LeafRef], store: NodeStore) throws -> (matches: Bool, atOursEnd: Bool) {
        guard root.level >= 1, let first = leaves.first else { return (false, false) }
        var c = try first.lastKey.withUnsafeBytes { try LevelCursor.seek(store: store, root: root, level: 1, key: $0) }
        var i = first.lastKey.withUnsafeBytes { c.node.lowerBound($0) }
        for l in leaves {
            if i >= c.node.count {
                if c.isLastAtLevel { return (false, false) }
                try c.nextNode()
                i = 0
            }
            guard c.node.children[i] == l.hash, c.node.keyBytes(i) == l.lastKey else { return (false, false) }
            i += 1
        }
        return (true, i == c.node.count && c.isLastAtLevel)
    }

    /// Calls `body` with each key whose entry differs between two runs of leaves, with each
    /// side's value (nil: absent), in key order.
    static func changedEntries(_ a: [Node], _ b: [Node], store: NodeStore,
                               _ body: ([UInt8], [UInt8]?, [UInt8]?) throws -> Void) throws {
        func entries(_ ns: [Node]) -> [(key: [UInt8], value: [UInt8])] {
            var out: [(key: [UInt8], value: [UInt8])] = []
            for n in ns { for i in 0..<n.count { out.append((n.keyBytes(i), n.valueBytes(i))) } }
            return out
        }
        let xs = entries(a), ys = entries(b)
        var i = 0, j = 0
        while i < xs.count || j < ys.count {
            let c = i == xs.count ? 1 : (j == ys.count ? -1 : KeyOrder.compare(xs[i].key, ys[j].key))
            if c < 0 {
                try body(xs[i].key, xs[i].value, nil)
                i += 1
            } else if c > 0 {
                try body(ys[j].key, nil, ys[j].value)
                j += 1
            } else {
                if xs[i].value != ys[j].value { try body(xs[i].key, xs[i].value, ys[j].value) }
                i += 1
                j += 1
            }
        }
    }
}
