import CairnStore
import Dispatch

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
    /// Batches handed to the background writer and not yet stored: still readable here.
    private var inFlight: [Hash: [UInt8]] = [:]
    private var writeError: (any Error)?
    /// One batch in flight at a time, written in order, so children always land first.
    private let writer = DispatchQueue(label: "cairn.nodestore.writer")
    private let inFlightSlot = DispatchSemaphore(value: 1)
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

    deinit { endWriting() }

    /// The store's record of this writer (``ChunkStore/beginWriting()``), made before the first
    /// batch stored without a ref move: until a ref reaches what was stored, a gc keeps it.
    private var writerRecord: Int64?

    private func beginWriting() throws {
        guard lock.withLock({ writerRecord == nil }) else { return }
        let id = try chunks.beginWriting()
        lock.withLock { writerRecord = id }
    }

    /// Ends the writer's record: what it stored is reachable from a ref now, or abandoned.
    public func endWriting() {
        if let id = lock.withLock({ () -> Int64? in defer { writerRecord = nil }; return writerRecord }) {
            chunks.endWriting(id)
        }
    }

    /// The node named `hash`. Throws `StoreError.corruptChunk` when its bytes do not parse.
    /// With `caching` false a node read from the chunk store is not kept: a scan that reads
    /// each leaf once should not push out the nodes that point reads come back to.
    package func node(_ hash: Hash, caching: Bool = true) throws -> Node {
        if let n = lock.withLock({ lookup(hash) }) { return n }
        let bytes: [UInt8]
        lock.withLock { reads += 1 }
        if let p = lock.withLock({ pendingNodes[hash] ?? inFlight[hash] }) {
            bytes = p
        } else {
            guard let chunk = try chunks.get(hash) else { throw ValueError.missingChunk(hash) }
            bytes = chunk.data
        }
        let node: Node
        do { node = try Node(hash: hash, bytes: bytes) } catch let e as DecodeError {
            throw StoreError.corruptChunk(hash, reason: e.description)
        }
        if caching { lock.withLock { remember(node) } }
        return node
    }

    /// The bytes of the chunk named `hash` that is not a tree node (a commit, a row stored out
    /// of line), including one written here and not yet flushed.
    public func chunkBytes(_ hash: Hash) throws -> [UInt8] {
        if let p = lock.withLock({ pendingNodes[hash] ?? inFlight[hash] }) { return p }
        guard let chunk = try chunks.get(hash) else { throw ValueError.missingChunk(hash) }
        return chunk.data
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

    /// Buffers a new node chunk; returns its hash. `refs` are the chunks it references, and
    /// `recordsRefs` whether the store keeps them beside it (``ChunkWrite/recordsRefs``).
    @discardableResult
    public func write(_ bytes: [UInt8], refs: [Hash], recordsRefs: Bool = true) throws -> Hash {
        let chunk = Chunk(bytes)
        let full: Bool = lock.withLock {
            if pendingNodes[chunk.hash] == nil {
                pendingNodes[chunk.hash] = bytes
                pending.append(ChunkWrite(chunk, refs: refs, recordsRefs: recordsRefs))
                pendingBytes += bytes.count
            }
            return pendingBytes >= flushBytes
        }
        if full { try sendPending() }
        return chunk.hash
    }

    /// Hands the buffered nodes to the background writer, which stores them while the caller
    /// goes on building: hashing, compression and SQLite overlap the tree building.
    private func sendPending() throws {
        inFlightSlot.wait()  // the previous batch is stored (or failed)
        let batch: [ChunkWrite] = try lock.withLock {
            if let e = writeError { inFlightSlot.signal(); throw e }
            defer { pending.removeAll(); pendingNodes.removeAll(); pendingBytes = 0 }
            inFlight = pendingNodes
            return pending
        }
        guard !batch.isEmpty else { inFlightSlot.signal(); return }
        do { try beginWriting() } catch {
            inFlightSlot.signal()
            throw error
        }
        writer.async { [self] in
            do { try chunks.put(batch) } catch { lock.withLock { writeError = error } }
            lock.withLock { inFlight.removeAll() }
            inFlightSlot.signal()
        }
    }

    /// Writes every buffered node to the chunk store and waits until it is there. Throws the
    /// error of any earlier background write.
    public func flush() throws {
        try sendPending()
        inFlightSlot.wait()
        inFlightSlot.signal()
        try lock.withLock {
            if let e = writeError {
                writeError = nil
                throw e
            }
        }
    }

    /// Writes every buffered node and moves `moves` in one step of the chunk store (one
    /// transaction for SQLite): false, moving nothing, when a ref is not at its `expected`.
    /// The nodes of a failed move are written anyway by a later flush.
    public func flush(moving moves: [RefMove]) throws -> Bool {
        inFlightSlot.wait()  // the previous batch is stored (or failed)
        defer { inFlightSlot.signal() }
        let batch: [ChunkWrite] = try lock.withLock {
            if let e = writeError {
                writeError = nil
                throw e
            }
            inFlight = pendingNodes
            defer { pending.removeAll(); pendingNodes.removeAll(); pendingBytes = 0 }
            return pending
        }
        do {
            let moved = try chunks.put(batch, moving: moves)
            lock.withLock { inFlight.removeAll() }
            if !moved {
                // Kept for the caller's retry, which builds on them: a gc must not take them.
                try beginWriting()
                try chunks.put(batch)
            } else if !moves.isEmpty {
                endWriting()
            }
            return moved
        } catch {
            // Keep the nodes readable and buffered, as a failed flush leaves them, for a later
            // flush (after a busy store, a full disk, an I/O error). Not a batch the store
            // refused as incomplete: it can never be stored, and would fail every later flush.
            var storable = true
            if case StoreError.missingReferences = error { storable = false }
            lock.withLock {
                if storable {
                    for w in batch where pendingNodes[w.chunk.hash] == nil {
                        pendingNodes[w.chunk.hash] = w.chunk.data
                        pending.append(w)
                        pendingBytes += w.chunk.data.count
                    }
                }
                inFlight.removeAll()
            }
            throw error
        }
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

