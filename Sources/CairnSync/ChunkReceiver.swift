import CairnStore
import CairnValues
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Takes the chunks of a transfer as they arrive, checks each against its hash and reads the
/// chunks it references, and writes them in batches. The store's completeness check refuses
/// a batch holding a chunk whose children are neither present nor in the batch, so what a
/// killed transfer leaves is always complete, and a re-run sends only what is still missing.
public final class ChunkReceiver: @unchecked Sendable {
    public let store: any ChunkStore
    /// Chunks and stored bytes received so far.
    public private(set) var chunks = 0
    public private(set) var bytes = 0
    /// Called after each batch is written, with the totals so far.
    public var progress: (@Sendable (_ chunks: Int, _ bytes: Int) -> Void)?
    /// How many chunks the sender said it would send, when it said.
    public var expectedChunks: Int?

    private var pending: [StoredChunk] = []
    private var pendingBytes = 0
    private let batchBytes: Int
    private let batchChunks: Int

    /// `CAIRN_SYNC_BATCH` sets the most chunks a batch holds (default 4096): smaller batches
    /// make a killed transfer keep more, at the cost of more transactions.
    public init(store: any ChunkStore, batchBytes: Int = 4 << 20, batchChunks: Int? = nil) {
        self.store = store
        self.batchBytes = batchBytes
        self.batchChunks = batchChunks ?? getenv("CAIRN_SYNC_BATCH").flatMap { Int(String(cString: $0)) }.map { max(1, $0) } ?? 4096
    }

    /// One full batch at a time is checked and written on a worker thread while the next
    /// arrives; `inFlight` is signalled when it is done, and its error is kept for the caller.
    private let worker = DispatchQueue(label: "cairn.receiver")
    private let inFlight = DispatchSemaphore(value: 1)
    private var workerError: (any Error)?

    deinit { endWriting() }

    /// The store's record of this transfer (``ChunkStore/beginWriting()``), made before its
    /// first batch is written: until the refs move onto what arrived, a gc keeps it.
    private var writerRecord: Int64?

    /// Ends the transfer's writer record: once the refs have moved onto what arrived (a
    /// `flush(moving:)` with moves ends it itself), or when what arrived is abandoned.
    public func endWriting() {
        if let id = writerRecord {
            writerRecord = nil
            store.endWriting(id)
        }
    }

    public func add(_ chunk: StoredChunk) throws {
        if buffer(chunk) { try handOff() }
    }

    public func add(_ batch: [StoredChunk]) throws {
        for c in batch { try add(c) }
    }

    /// Buffers a chunk without writing; true when the buffer is full (``handOff()`` is due).
    public func buffer(_ chunk: StoredChunk) -> Bool {
        verifiedPending = nil
        pending.append(chunk)
        pendingBytes += chunk.bytes.count
        return pendingBytes >= batchBytes || pending.count >= batchChunks
    }

    /// Checks the buffered batch on every core (while the worker writes the one before it),
    /// then passes it to the worker, once the one before it is written.
    public func handOff() throws {
        let batch = pending
        let size = pendingBytes
        pending = []
        pendingBytes = 0
        verifiedPending = nil
        let writes: [StoredChunkWrite]
        do { writes = try Self.verify(batch) } catch {
            // Not before the batch in the worker is done with the store.
            inFlight.wait()
            inFlight.signal()
            throw error
        }
        inFlight.wait()
        if let e = workerError {
            inFlight.signal()
            throw e
        }
        if writerRecord == nil {
            do { writerRecord = try store.beginWriting() } catch {
                inFlight.signal()
                throw error
            }
        }
        worker.async { [self] in
            defer { inFlight.signal() }
            do {
                _ = try write(batch, size: size, moving: [], verified: writes)
            } catch {
                workerError = error
            }
        }
    }

    /// Waits for the worker, then writes what is buffered and moves `moves` with it in one
    /// transaction: false, writing nothing of the last batch, when a ref does not equal its
    /// `expected`.
    @discardableResult
    public func flush(moving moves: [RefMove]) throws -> Bool {
        try finishReceiving()
        inFlight.wait()
        defer { inFlight.signal() }
        guard try write(pending, size: pendingBytes, moving: moves, verified: verifiedPending) else { return false }
        if !moves.isEmpty { endWriting() }
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
        verifiedPending = nil
        return true
    }

    /// How many chunks are buffered, not yet handed to the worker.
    public var pendingCount: Int { pending.count }

    /// A buffered chunk not yet written, checked against its hash; nil when not buffered.
    func pendingChunk(_ hash: Hash) throws -> Chunk? {
        try pending.first { $0.hash == hash }?.verified()
    }

    /// The buffered chunks, checked by ``finishReceiving()`` and not yet written.
    private var verifiedPending: [StoredChunkWrite]?

    /// Waits for the worker and checks the buffered chunks without writing them: a remote
    /// calls it at the end of a transfer, so that damage is reported as the transfer's, and the
    /// caller then writes the last batch together with its ref moves (``flush(moving:)``).
    public func finishReceiving() throws {
        inFlight.wait()
        defer { inFlight.signal() }
        if let e = workerError { throw e }
        if verifiedPending == nil { verifiedPending = try Self.verify(pending) }
    }

    private func write(_ batch: [StoredChunk], size: Int, moving moves: [RefMove], verified: [StoredChunkWrite]? = nil) throws -> Bool {
        let writes = try verified ?? Self.verify(batch)
        guard try store.putStored(writes, moving: moves) else { return false }
        chunks += batch.count
        bytes += size
        if !batch.isEmpty { progress?(chunks, bytes) }
        return true
    }

    /// Checks every chunk against its hash and reads its references, on every core.
    static func verify(_ batch: [StoredChunk]) throws -> [StoredChunkWrite] {
        try parallelMap(batch, parallelFrom: 64) { stored, decoder in
            let d = try ChunkReferences.describe(try stored.verified(using: decoder))
            // An internal tree node's references are in its bytes: not recorded (ChunkWrite).
            return StoredChunkWrite(stored, refs: d.refs, recordsRefs: (d.treeLevel ?? 0) == 0)
        }
    }

}
