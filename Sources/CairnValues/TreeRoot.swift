import CairnStore
/// What a collection value holds: its root node's hash, its count (entries; bytes for a
/// Blob), its height (1: the root is a leaf), and, when the whole collection is one small leaf,
/// that leaf's bytes, since such a leaf is written inline in its parent, not as a chunk.
public struct TreeRoot: Sendable, Hashable {
    private let storedHash: Hash
    public let count: UInt64
    public let height: Int
    /// The root leaf's chunk bytes (format version first) when the collection is inline.
    let inlineLeaf: [UInt8]?
    /// Chunks the inline leaf references (by-Ref values among its entries).
    let inlineRefs: [Hash]

    /// The hash of the root node. For an inline leaf it is computed when asked for: most rows
    /// of a table are small inline maps whose hash nobody needs.
    public var hash: Hash {
        if let leaf = inlineLeaf { return Hash(of: leaf) }
        return storedHash
    }

    init(hash: Hash, count: UInt64, height: Int) {
        self.storedHash = hash
        self.count = count
        self.height = height
        inlineLeaf = nil
        inlineRefs = []
    }

    init(inlineLeaf: [UInt8], count: UInt64, refs: [Hash]) {
        storedHash = .zero
        self.count = count
        height = 1
        self.inlineLeaf = inlineLeaf
        inlineRefs = refs
    }

    public var isInline: Bool { inlineLeaf != nil }

    /// The one inline-or-by-Ref rule (docs/format.md): a root that is a leaf whose chunk,
    /// without its version byte, is at most ``Format/inlineLimit`` bytes is written inline in
    /// its parent. It depends only on content, so history independence holds.
    static func isInline(level: Int, chunkBytes: Int) -> Bool {
        level == 0 && chunkBytes - 1 <= Format.inlineLimit
    }

    /// A parsed node as a root: inline when the rule says so, else by its hash.
    init(node: Node) {
        if Self.isInline(level: node.level, chunkBytes: node.bytes.count) {
            self.init(inlineLeaf: node.bytes, count: node.subtreeCount, refs: node.refs)
        } else {
            self.init(hash: node.hash, count: node.subtreeCount, height: node.level + 1)
        }
    }

    /// Equal roots have equal hashes. Whether a root is inline depends only on its content, so
    /// two inline roots compare by bytes and an inline root never equals a stored one.
    public static func == (a: TreeRoot, b: TreeRoot) -> Bool {
        switch (a.inlineLeaf, b.inlineLeaf) {
        case let (x?, y?): return x == y
        case (nil, nil): return a.storedHash == b.storedHash
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        if let leaf = inlineLeaf { h.combine(leaf) } else { h.combine(storedHash) }
    }
}

/// The four tree shapes.
enum TreeKind: Sendable {
    case map, set, list, blob

    var leafTag: Tag {
        switch self { case .map: .mapLeaf; case .set: .setLeaf; case .list: .listLeaf; case .blob: .blobLeaf }
    }
    var nodeTag: Tag {
        switch self { case .map: .mapNode; case .set: .setNode; case .list: .listNode; case .blob: .blobNode }
    }
    /// Whether internal entries carry the last key of their subtree (ordered collections).
    var isKeyed: Bool { self == .map || self == .set }
}

extension NodeStore {
    /// The root node of a collection.
    func rootNode(_ root: TreeRoot) throws -> Node {
        if let leaf = root.inlineLeaf {
            do { return try Node(inlineLeaf: leaf) } catch let e as DecodeError {
                throw StoreError.corruptChunk(root.hash, reason: e.description)
            }
        }
        return try node(root.hash)
    }
}
