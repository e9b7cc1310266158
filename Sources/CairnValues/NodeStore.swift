/// A chunk store seen as tree nodes: a bounded cache of decoded nodes, and a write buffer that
/// sends new nodes to the chunk store in large batches, children first.
///
/// Nodes written here can be read back at once, before `flush()`. Call `flush()` before moving
/// a ref to anything written through it.
public final class NodeStore: @unchecked Sendable {
    public let chunks: any ChunkStore
    private let lock = Lock()
    private var pending: [ChunkWrite] = []
    private var pendingNodes: [Hash: [UInt8]] = [:]
    private var pendingBytes = 0
    /// Two generations approximate an LRU at the cost of a dictionary lookup: when the young one
    /// fills half the budget, it becomes the old one and the old one is dropped.
    private var young: [Hash: Node] = [:]
    private var old: [Hash: Node] = [:]
    private var youngBytes = 0
    private var reads = 0
    public let cacheBytes: Int
    /// Pending writes are flushed once they pass this many bytes.
    public let flushBytes: Int

    public init(_ chunks: any ChunkStore, cacheBytes: Int = 64 << 20, flushBytes: Int = 8 << 20) {
        self.chunks = chunks
        self.cacheBytes = cacheBytes
        self.flushBytes = flushBytes
    }

    /// The node named `hash`. Throws `StoreError.corruptChunk` when its bytes do not parse.
    public func node(_ hash: Hash) throws -> Node {
        if let n = lock.withLock({ lookup(hash) }) { return n }
        let bytes: [UInt8]
        lock.withLock { reads += 1 }
        if let p = lock.withLock({ pendingNodes[hash] }) {
            bytes = p
        } else {
            guard let chunk = try chunks.get(hash) else { throw ValueError.missingChunk(hash) }
            bytes = chunk.data
        }
        let node: Node
        do { node = try Node(hash: hash, bytes: bytes) } catch let e as DecodeError {
            throw StoreError.corruptChunk(hash, reason: e.description)
        }
        lock.withLock { remember(node) }
        return node
    }

    private func lookup(_ hash: Hash) -> Node? {
        if let n = young[hash] { return n }
        if let n = old[hash] {
            remember(n)
            return n
        }
        return nil
    }

    private func remember(_ node: Node) {
        young[node.hash] = node
        youngBytes += node.bytes.count + 64
        if youngBytes > cacheBytes / 2 {
            old = young
            young = [:]
            youngBytes = 0
        }
    }

    /// Buffers a new node chunk; returns its hash. `refs` are the chunks it references.
    @discardableResult
    public func write(_ bytes: [UInt8], refs: [Hash]) throws -> Hash {
        let chunk = Chunk(bytes)
        let full: Bool = lock.withLock {
            if pendingNodes[chunk.hash] == nil {
                pendingNodes[chunk.hash] = bytes
                pending.append(ChunkWrite(chunk, refs: refs))
                pendingBytes += bytes.count
            }
            return pendingBytes >= flushBytes
        }
        if full { try flush() }
        return chunk.hash
    }

    /// Writes every buffered node to the chunk store.
    public func flush() throws {
        let batch: [ChunkWrite] = lock.withLock {
            defer { pending.removeAll(); pendingNodes.removeAll(); pendingBytes = 0 }
            return pending
        }
        guard !batch.isEmpty else { return }
        try chunks.put(batch)
    }

    /// Drops the decoded-node cache (for cold measurements).
    public func clearCache() {
        lock.withLock {
            young.removeAll()
            old.removeAll()
            youngBytes = 0
        }
    }

    /// How many nodes were decoded because the cache did not hold them.
    public var nodeReads: Int { lock.withLock { reads } }

    /// The number of decoded nodes cached.
    public var cachedNodes: Int { lock.withLock { young.count + old.count } }
}

public enum ValueError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingChunk(Hash)
    case wrongKind(expected: String, found: String)
    case indexOutOfRange(UInt64, count: UInt64)
    case keysOutOfOrder
    case overlappingSplices

    public var description: String {
        switch self {
        case .missingChunk(let h): "chunk \(h) is missing from the store"
        case let .wrongKind(expected, found): "expected a \(expected), found a \(found)"
        case let .indexOutOfRange(i, count): "index \(i) is out of range (count \(count))"
        case .keysOutOfOrder: "keys must be appended in strictly increasing order"
        case .overlappingSplices: "list splices overlap"
        }
    }
}
