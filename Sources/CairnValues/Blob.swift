import CairnStore
/// Bytes stored as a prolly tree, cut by content-defined chunking so an edit in the middle
/// moves only the leaves around it.
public struct Blob: Sendable, Hashable {
    public let store: NodeStore
    public let root: TreeRoot

    public init(store: NodeStore, root: TreeRoot) {
        self.store = store
        self.root = root
    }

    public static func == (a: Blob, b: Blob) -> Bool { a.root == b.root }
    public func hash(into h: inout Hasher) { h.combine(root) }

    /// The length in bytes.
    public var count: UInt64 { root.count }
    public var hash: Hash { root.hash }

    public static func build(_ bytes: [UInt8], store: NodeStore) throws -> Blob {
        let builder = TreeBuilder(kind: .blob, store: store)
        try bytes.withUnsafeBytes { try builder.appendBytes($0) }
        return Blob(store: store, root: try builder.finish())
    }

    /// Builds a blob from a stream of pieces, in bounded memory.
    public static func build(streaming pieces: some Sequence<[UInt8]>, store: NodeStore) throws -> Blob {
        let builder = TreeBuilder(kind: .blob, store: store)
        for p in pieces { try p.withUnsafeBytes { try builder.appendBytes($0) } }
        return Blob(store: store, root: try builder.finish())
    }

    /// Calls `body` with each leaf's bytes in order, until it returns false.
    public func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var c = TreeCursor(store: store, root: try store.rootNode(root))
        try c.descendToLeaf()
        while !c.atEnd {
            let node = c.node
            let go = try node.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[node.dataRange])) }
            if !go { return }
            c.path[c.path.count - 1].index = node.count - 1  // a blob leaf is one entry of many bytes
            try c.next()
        }
    }

    public func bytes() throws -> [UInt8] {
        var out: [UInt8] = []
        // The count comes from the Ref, which a hostile chunk may set to anything: reserve no
        // more than it plausibly holds, and let the real leaves decide.
        out.reserveCapacity(Int(min(count, 1 << 26)))
        try forEachPiece { out.append(contentsOf: $0); return true }
        return out
    }

    /// `length` bytes from `offset`.
    public func read(offset: UInt64, length: Int) throws -> [UInt8] {
        guard offset <= count else { throw ValueError.indexOutOfRange(offset, count: count) }
        var out: [UInt8] = []
        var node = try store.rootNode(root)
        var rest = offset
        var stack: [(Node, Int)] = []
        while !node.isLeaf {
            let (i, off) = node.childFor(position: rest)
            stack.append((node, i))
            rest = off
            node = try store.node(node.children[i])
        }
        while out.count < length {
            let data = node.dataRange
            let start = data.lowerBound + Int(rest)
            let take = min(length - out.count, data.upperBound - start)
            if take > 0 { out.append(contentsOf: node.bytes[start..<(start + take)]) }
            rest = 0
            // Next leaf.
            var next: Node?
            while let (n, i) = stack.popLast() {
                if i + 1 < n.count {
                    stack.append((n, i + 1))
                    var child = try store.node(n.children[i + 1])
                    while !child.isLeaf {
                        stack.append((child, 0))
                        child = try store.node(child.children[0])
                    }
                    next = child
                    break
                }
            }
            guard let n = next else { break }
            node = n
        }
        return out
    }
}
