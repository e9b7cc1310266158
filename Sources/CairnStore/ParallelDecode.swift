
import Dispatch

/// `body` over every stored chunk, split over both cores (one stripe each, each with its own
/// zstd context) once there are at least `parallelFrom` of them; the results in order. Sync,
/// gc and fsck decompress and parse the chunks they read this way.
package func parallelMap<T>(_ stored: [StoredChunk], parallelFrom: Int = 32,
                    _ body: (StoredChunk, StoredChunkDecoder) throws -> T) throws -> [T] {
    guard !stored.isEmpty else { return [] }
    let workers = stored.count >= parallelFrom ? 2 : 1
    let results = UnsafeMutableBufferPointer<Result<T, any Error>>.allocate(capacity: stored.count)
    defer { results.deinitialize().deallocate() }
    nonisolated(unsafe) let slots = results
    let stripe = (stored.count + workers - 1) / workers
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let decoder = StoredChunkDecoder()
            for i in (w * stripe)..<min(stored.count, (w + 1) * stripe) {
                (slots.baseAddress! + i).initialize(to: Result { try work(stored[i], decoder) })
            }
        }
    }
    return try results.map { try $0.get() }
}
