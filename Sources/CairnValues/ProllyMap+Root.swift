import CairnStore
extension ProllyMap {
    /// The map whose root node is the chunk `hash` (as a commit's root Ref names it).
    public static func load(_ hash: Hash, store: NodeStore) throws -> ProllyMap {
        let node = try store.node(hash)
        guard node.tag == .mapLeaf || node.tag == .mapNode else {
            throw ValueError.wrongKind(expected: "map", found: "chunk with tag \(node.tag.rawValue)")
        }
        return ProllyMap(store: store, root: TreeRoot(node: node))
    }

    /// Makes sure the root node is a chunk (an inline root is written out), so a Ref can name
    /// it; returns its hash. Call `store.flush()` before a ref points at it.
    public func persistRoot() throws -> Hash {
        if let leaf = root.inlineLeaf { return try store.write(leaf, refs: root.inlineRefs) }
        return root.hash
    }
}
