import CairnStore
extension Blob {
    /// Replaces `removing` bytes at `offset` with `inserting`. Leaves are re-cut from the start
    /// of the leaf holding `offset` until a cut falls where an old leaf ended; the levels above
    /// change only along those leaves' paths.
    public func splicing(at offset: UInt64, removing: UInt64 = 0, inserting: [UInt8] = []) throws -> Blob {
        guard offset <= count, removing <= count - offset else { throw ValueError.indexOutOfRange(offset + removing, count: count) }
        if removing == 0 && inserting.isEmpty { return self }
        let rootNode = try store.rootNode(root)
        var cursor = try LevelCursor.seek(store: store, root: rootNode, level: 0, position: offset)
        let groupStart = cursor.startPosition
        var leaf = LevelChunker(kind: .blob, level: 0)
        var gear: UInt64 = 0
        var made: [ClosedNode] = []
        var removed: [Node] = []
        var pos = groupStart
        let removeEnd = offset + removing
        var inserted = false
        func feed(_ bytes: UnsafeRawBufferPointer) throws {
            try BlobLeafCutter.feed(bytes, gear: &gear, leaf: &leaf, store: store) { made.append($0) }
        }
        while true {
            let node = cursor.node
            removed.append(node)
            let isLast = cursor.isLastAtLevel
            try node.bytes.withUnsafeBytes { raw in
                let data = UnsafeRawBufferPointer(rebasing: raw[node.dataRange])
                let nodeEnd = pos + UInt64(data.count)
                // Bytes before the splice, the insertion, then bytes after the removed range.
                let keepBefore = offset > pos ? Int(min(offset, nodeEnd) - pos) : 0
                if keepBefore > 0 { try feed(UnsafeRawBufferPointer(rebasing: data[0..<keepBefore])) }
                if !inserted && offset <= nodeEnd && (offset >= pos) {
                    try inserting.withUnsafeBytes { try feed($0) }
                    inserted = true
                }
                let resume = max(pos, removeEnd)
                if resume < nodeEnd {
                    let from = Int(resume - pos)
                    try feed(UnsafeRawBufferPointer(rebasing: data[max(from, keepBefore)...]))
                }
                pos = nodeEnd
            }
            if isLast {
                if let closed = try leaf.close(store: store) { made.append(closed) }
                break
            }
            if inserted && pos >= removeEnd && leaf.isEmpty { break }  // a cut where an old leaf ended
            try cursor.nextNode()
        }
        if rootNode.isLeaf {
            return Blob(store: store, root: try OrderedTree.newRoot(from: made, level: 0, kind: .blob, store: store))
        }
        let entries = made.map { n -> (bytes: [UInt8], key: Range<Int>, subtree: UInt64, refs: [Hash]) in
            (n.parentEntry(keyed: false), 0..<Hash.byteCount, n.subtree, [n.hash])
        }
        let edit = PositionEdit(start: groupStart, removing: pos - groupStart, entries: entries)
        let newRoot = try PositionalTree.apply([edit], to: root, kind: .blob, store: store, fromLevel: 1)
        return Blob(store: store, root: try OrderedTree.collapse(newRoot, store: store))
    }
}
