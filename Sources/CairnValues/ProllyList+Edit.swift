import CairnStore
/// A change to a List: at `position` (in the list before any change of the batch), remove
/// `removing` elements and insert `inserting` there.
public struct ListSplice: Sendable {
    public let position: UInt64
    public let removing: UInt64
    public let inserting: [Value]

    public init(at position: UInt64, removing: UInt64 = 0, inserting: [Value] = []) {
        self.position = position
        self.removing = removing
        self.inserting = inserting
    }
}

/// A splice at one tree level, in leaf positions: the entries covering
/// `start..<start + removing` give way to `entries`.
struct PositionEdit {
    var start: UInt64
    var removing: UInt64
    var entries: [(bytes: [UInt8], key: Range<Int>, subtree: UInt64, refs: [Hash])]
}

extension ProllyList {
    /// Applies splices given in the positions of this list. They must not overlap (two at the
    /// same position apply in order). Only the nodes on the touched paths are rewritten.
    public func editing(_ splices: [ListSplice]) throws -> ProllyList {
        let sorted = splices.enumerated().sorted {
            $0.element.position != $1.element.position ? $0.element.position < $1.element.position : $0.offset < $1.offset
        }.map(\.element)
        var end: UInt64 = 0
        var edits: [PositionEdit] = []
        for s in sorted {
            guard s.position <= count, s.removing <= count - s.position else {
                throw ValueError.indexOutOfRange(s.position + s.removing, count: count)
            }
            guard s.position >= end else { throw ValueError.overlappingSplices }
            end = s.position + s.removing
            var entries: [(bytes: [UInt8], key: Range<Int>, subtree: UInt64, refs: [Hash])] = []
            for v in s.inserting {
                var refs: [Hash] = []
                var w = ByteWriter()
                try w.value(v, refs: &refs, store: store)
                entries.append((w.bytes, 0..<w.bytes.count, 1, refs))
            }
            edits.append(PositionEdit(start: s.position, removing: s.removing, entries: entries))
        }
        return ProllyList(store: store, root: try PositionalTree.apply(edits, to: root, kind: .list, store: store))
    }

    public func inserting(_ v: Value, at i: UInt64) throws -> ProllyList { try editing([ListSplice(at: i, inserting: [v])]) }
    public func appending(_ v: Value) throws -> ProllyList { try inserting(v, at: count) }
    public func removing(at i: UInt64) throws -> ProllyList { try editing([ListSplice(at: i, removing: 1)]) }
    public func setting(_ v: Value, at i: UInt64) throws -> ProllyList {
        try editing([ListSplice(at: i, removing: 1, inserting: [v])])
    }
}

/// Edits of trees addressed by position (List; Blob's internal levels), level by level, as
/// `OrderedTree.apply` does for keyed trees.
enum PositionalTree {
    static func apply(_ edits: [PositionEdit], to root: TreeRoot, kind: TreeKind, store: NodeStore,
                      fromLevel: Int = 0) throws -> TreeRoot {
        var edits = edits.filter { $0.removing > 0 || !$0.entries.isEmpty }
        let rootNode = try store.rootNode(root)
        var level = fromLevel
        while true {
            if edits.isEmpty { return root }
            let (parentEdits, produced) = try editLevel(level, edits: edits, rootNode: rootNode, kind: kind, store: store)
            if level == rootNode.level {
                return try OrderedTree.newRoot(from: produced, level: level, kind: kind, store: store)
            }
            edits = parentEdits
            level += 1
        }
    }

    static func editLevel(_ level: Int, edits: [PositionEdit], rootNode: Node, kind: TreeKind,
                          store: NodeStore) throws -> ([PositionEdit], [ClosedNode]) {
        var parentEdits: [PositionEdit] = []
        var produced: [ClosedNode] = []
        var ei = 0
        let keyed = kind.isKeyed
        while ei < edits.count {
            var cursor = try LevelCursor.seek(store: store, root: rootNode, level: level, position: edits[ei].start)
            var chunker = LevelChunker(kind: kind, level: level)
            var removed: [Node] = []
            var made: [ClosedNode] = []
            let groupStart = cursor.startPosition
            var pos = groupStart
            var skipUntil: UInt64 = 0
            func emit(_ bytes: UnsafeRawBufferPointer, _ key: Range<Int>, _ subtree: UInt64, _ refs: [Hash]) throws {
                if let closed = try chunker.append(entry: bytes, key: key, subtree: subtree, refs: refs, store: store) {
                    made.append(closed)
                }
            }
            func insertDue(_ isLast: Bool, atEnd: Bool) throws {
                // Splices that start here insert before the entry at `pos`; at the very end of
                // the level, whatever starts at or past it.
                while ei < edits.count && (edits[ei].start == pos || (atEnd && isLast && edits[ei].start >= pos)) {
                    for e in edits[ei].entries { try e.bytes.withUnsafeBytes { try emit($0, e.key, e.subtree, e.refs) } }
                    skipUntil = max(skipUntil, edits[ei].start + edits[ei].removing)
                    ei += 1
                }
            }
            while true {
                let node = cursor.node
                removed.append(node)
                let isLast = cursor.isLastAtLevel
                for i in 0..<node.count {
                    try insertDue(isLast, atEnd: false)
                    let span = node.cumulative[i + 1] - node.cumulative[i]
                    if pos >= skipUntil { try emitEntry(node, i, emit) }
                    pos += span
                }
                if isLast {
                    try insertDue(isLast, atEnd: true)
                    if let closed = try chunker.close(store: store) { made.append(closed) }
                    break
                }
                // A new boundary where the old one was, with no removal under way: in step
                // again. A splice starting at the next node starts a group of its own there.
                if chunker.isEmpty && pos >= skipUntil { break }
                try cursor.nextNode()
            }
            let oldEnd = pos
            let same = removed.count == made.count && zip(removed, made).allSatisfy { $0.hash == $1.hash }
            if !same {
                var entries: [(bytes: [UInt8], key: Range<Int>, subtree: UInt64, refs: [Hash])] = []
                for n in made {
                    let e = n.parentEntry(keyed: keyed)
                    let key = keyed ? 0..<n.lastKey.count : n.lastKey.count..<(n.lastKey.count + Hash.byteCount)
                    entries.append((e, key, n.subtree, [n.hash]))
                }
                parentEdits.append(PositionEdit(start: groupStart, removing: oldEnd - groupStart, entries: entries))
            }
            produced.append(contentsOf: made)
        }
        return (parentEdits, produced)
    }

    /// Feeds an unchanged entry back through the chunker.
    static func emitEntry(_ node: Node, _ i: Int, _ emit: (UnsafeRawBufferPointer, Range<Int>, UInt64, [Hash]) throws -> Void) throws {
        if node.isLeaf {
            let start = Int(node.keyStarts[i]), end = Int(node.keyStarts[i + 1])
            try node.bytes.withUnsafeBytes { raw in
                let entry = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                var refs: [Hash] = []
                if !node.refs.isEmpty {
                    var r = ByteReader(entry)
                    try withUnsafeMutablePointer(to: &refs) { p in while !r.atEnd { try r.skipValue(refs: p) } }
                }
                try emit(entry, 0..<entry.count, 1, refs)
            }
        } else {
            var w = ByteWriter()
            w.hash(node.children[i])
            let span = node.cumulative[i + 1] - node.cumulative[i]
            w.varint(span)
            try w.bytes.withUnsafeBytes { try emit($0, 0..<Hash.byteCount, span, [node.children[i]]) }
        }
    }
}

extension LevelCursor {
    /// The node at `level` that holds leaf position `p`; the level's last node when `p` is the
    /// count (an append).
    static func seek(store: NodeStore, root: Node, level: Int, position p: UInt64) throws -> LevelCursor {
        var path: [(node: Node, index: Int)] = []
        var node = root
        var offset = min(p, root.subtreeCount == 0 ? 0 : root.subtreeCount - 1)
        while node.level > level {
            let (i, rest) = node.childFor(position: offset)
            path.append((node, i))
            offset = rest
            node = try store.node(node.children[i])
        }
        path.append((node, 0))
        return LevelCursor(store: store, path: path)
    }

    /// The leaf position where the current node starts.
    var startPosition: UInt64 {
        var p: UInt64 = 0
        for (n, i) in path.dropLast() { p += n.cumulative[i] }
        return p
    }
}
