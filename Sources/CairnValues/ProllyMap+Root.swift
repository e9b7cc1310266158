extension ProllyMap {
    /// The map whose root node is the chunk `hash` (as a commit's root Ref names it).
    public static func load(_ hash: Hash, store: NodeStore) throws -> ProllyMap {
        let node = try store.node(hash)
        guard node.tag == .mapLeaf || node.tag == .mapNode else {
            throw ValueError.wrongKind(expected: "map", found: "chunk with tag \(node.tag.rawValue)")
        }
        if node.isLeaf && node.bytes.count - 1 <= Format.inlineLimit {
            return ProllyMap(store: store, root: TreeRoot(inlineLeaf: node.bytes, count: node.subtreeCount, refs: node.refs))
        }
        return ProllyMap(store: store, root: TreeRoot(hash: hash, count: node.subtreeCount, height: node.level + 1))
    }

    /// Makes sure the root node is a chunk (an inline root is written out), so a Ref can name
    /// it; returns its hash. Call `store.flush()` before a ref points at it.
    public func persistRoot() throws -> Hash {
        if let leaf = root.inlineLeaf { return try store.write(leaf, refs: root.inlineRefs) }
        return root.hash
    }
}
