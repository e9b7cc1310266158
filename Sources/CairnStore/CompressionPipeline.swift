import Dispatch

/// How a chunk is stored: codec 0 keeps the bytes as they are (when zstd would not make them
/// smaller), codec 1 is one zstd frame with its content size.
enum Codec: Int64 { case raw = 0, zstd = 1 }

struct EncodedChunk {
    var codec: Codec
    var bytes: [UInt8]

    static func encode(_ data: [UInt8], with compressor: ZstdCompressor) -> EncodedChunk {
        let z = data.withUnsafeBytes { compressor.compress($0) }
        return z.count < data.count ? EncodedChunk(codec: .zstd, bytes: z) : EncodedChunk(codec: .raw, bytes: data)
    }
}

/// zstd contexts kept between batches: a fresh context costs page faults on its first use,
/// which measured as much as the compression itself.
final class CompressorPool: @unchecked Sendable {
    private let lock = Lock()
    private var free: [ZstdCompressor] = []
    let level: Int32

    init(level: Int32) { self.level = level }

    func withCompressor<T>(_ body: (ZstdCompressor) -> T) -> T {
        let c = lock.withLock { free.popLast() } ?? ZstdCompressor(level: level)
        defer { lock.withLock { free.append(c) } }
        return body(c)
    }
}

/// Compresses a batch slice by slice on the global queue while the caller writes the slices
/// already done, so compression on every core overlaps the single-threaded SQLite inserts.
final class CompressionPipeline: @unchecked Sendable {
    static let sliceSize = 64
    /// Below this many bytes a batch is compressed on the calling thread.
    static let parallelThreshold = 256 * 1024

    private let batch: [ChunkWrite]
    private let slots: UnsafeMutablePointer<EncodedChunk>
    private let ready: [DispatchSemaphore]
    private var waitedFor = -1

    init(_ batch: [ChunkWrite], pool: CompressorPool) {
        self.batch = batch
        slots = .allocate(capacity: batch.count)
        let total = batch.reduce(0) { $0 + $1.chunk.data.count }
        if total < Self.parallelThreshold {
            ready = []
            pool.withCompressor { c in
                for (i, w) in batch.enumerated() { (slots + i).initialize(to: .encode(w.chunk.data, with: c)) }
            }
            return
        }
        let sliceCount = (batch.count + Self.sliceSize - 1) / Self.sliceSize
        ready = (0..<sliceCount).map { _ in DispatchSemaphore(value: 0) }
        for s in 0..<sliceCount {
            DispatchQueue.global().async { [self] in
                pool.withCompressor { c in
                    for i in (s * Self.sliceSize)..<min(batch.count, (s + 1) * Self.sliceSize) {
                        (slots + i).initialize(to: .encode(batch[i].chunk.data, with: c))
                    }
                }
                ready[s].signal()
            }
        }
    }

    /// The encoding of chunk `i`, waiting for its slice if needed. Call with rising `i`.
    func encoded(_ i: Int) -> EncodedChunk {
        let slice = i / Self.sliceSize
        if !ready.isEmpty && slice > waitedFor {
            for s in (waitedFor + 1)...slice { ready[s].wait() }
            waitedFor = slice
        }
        return slots[i]
    }

    deinit {
        // Every slice must finish before its memory goes, even when the caller gave up early.
        if !ready.isEmpty && waitedFor < ready.count - 1 {
            for s in (waitedFor + 1)..<ready.count { ready[s].wait() }
        }
        slots.deinitialize(count: batch.count)
        slots.deallocate()
    }
}
