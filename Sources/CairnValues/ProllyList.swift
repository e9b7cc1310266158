import CairnStore
/// A list of ``Value``s stored as a prolly tree. Element boundaries come from each element's
/// encoding, so equal lists give equal trees; subtree counts make `element(at:)` logarithmic.
public struct ProllyList: Sendable, Hashable {
    public let store: NodeStore
    public let root: TreeRoot

    public init(store: NodeStore, root: TreeRoot) {
        self.store = store
        self.root = root
    }

    public static func == (a: ProllyList, b: ProllyList) -> Bool { a.root == b.root }
    public func hash(into h: inout Hasher) { h.combine(root) }

    public var count: UInt64 { root.count }
    public var hash: Hash { root.hash }

    public static func build(_ elements: some Sequence<Value>, store: NodeStore) throws -> ProllyList {
        let builder = TreeBuilder(kind: .list, store: store)
        for e in elements {
            var refs: [Hash] = []
            var w = ByteWriter()
            try w.value(e, refs: &refs, store: store)
            try w.bytes.withUnsafeBytes { try builder.appendElement($0, refs: refs) }
        }
        return ProllyList(store: store, root: try builder.finish())
    }

    public func element(at index: UInt64) throws -> Value {
        let (node, i) = try OrderedTree.entry(at: index, root: root, store: store)
        return try Value.decode(node.keyBytes(i), store: store)
    }

    /// Calls `body` with each element from position `from`, in order, until it returns false.
    public func forEach(from: UInt64 = 0, _ body: (Value) throws -> Bool) throws {
        var c = try TreeCursor.seek(store: store, root: try store.rootNode(root), position: from)
        while !c.atEnd {
            if try !body(Value.decode(c.node.keyBytes(c.index), store: store)) { return }
            try c.next()
        }
    }

    public func elements() throws -> [Value] {
        var out: [Value] = []
        try forEach { out.append($0); return true }
        return out
    }
}

