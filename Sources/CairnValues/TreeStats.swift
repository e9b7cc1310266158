import CairnStore
/// The shape of one collection's tree: what `cairn stats` reports per table and what the
/// benchmarks record about node sizes.
public struct TreeStats: Sendable {
    public var height: Int = 0
    /// Nodes stored as chunks (an inline root is not one).
    public var chunks: Int = 0
    public var leafSizes: [Int] = []
    public var internalSizes: [Int] = []

    public var meanLeafSize: Double { leafSizes.isEmpty ? 0 : Double(leafSizes.reduce(0, +)) / Double(leafSizes.count) }
    public var leafSizeStdDev: Double {
        guard leafSizes.count > 1 else { return 0 }
        let m = meanLeafSize
        return (leafSizes.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(leafSizes.count - 1)).squareRoot()
    }
}

extension TreeRoot {
    /// Walks every node of the tree (not the collections nested in its values).
    public func stats(store: NodeStore) throws -> TreeStats {
        var s = TreeStats()
        s.height = height
        var pending = [try store.rootNode(self)]
        while let node = pending.popLast() {
            if !isInline || node.hash != hash { s.chunks += 1 }
            if node.isLeaf {
                s.leafSizes.append(node.bytes.count)
            } else {
                s.internalSizes.append(node.bytes.count)
                for c in node.children.reversed() { pending.append(try store.node(c)) }
            }
        }
        if isInline { s.chunks = 0 }
        return s
    }
}

extension TreeRoot {
    /// How many chunks the tree's nodes take, reading only its internal nodes: the leaves are
    /// counted from their parents, so this costs about 1/100 of a full walk.
    public func chunkCount(store: NodeStore) throws -> Int {
        if isInline { return 0 }
        var count = 0
        var pending = [try store.rootNode(self)]
        while let node = pending.popLast() {
            count += 1
            if node.level == 1 {
                count += node.children.count
            } else if node.level > 1 {
                for c in node.children { pending.append(try store.node(c)) }
            }
        }
        return count
    }
}
