import CairnStore
import CairnValues
import Dispatch

/// Everything reachable from some heads, children first, read as it is sent: what a fetch
/// sends when the receiver holds none of the sender's commits (a clone). A depth-first walk
/// emits each chunk once all the chunks it references are emitted, so the receiver stores
/// every batch as it arrives, and the sender starts sending at once instead of planning the
/// whole transfer first. Chunks in `skip` (a resumed clone's) are not sent, nor anything under
/// them. Memory: the stack of a path from a head, each with its siblings.
final class DepthFirstStream: @unchecked Sendable {
    private struct Entry {
        let stored: StoredChunk
        let refs: [Hash]
    }

    private let store: any ChunkStore
    private var done: Set<Hash>
    private var stack: [Entry] = []
    /// The wants not walked yet, taken a few at a time, so many wants are never read at once.
    private var wants: ArraySlice<Hash>

    init(store: any ChunkStore, wants: [Hash], skip: Set<Hash>) {
        self.store = store
        self.wants = wants[...]
        self.done = skip
    }

    /// The next batch of about `batchBytes`, nil at the end.
    func next(batchBytes: Int = 1 << 20) throws -> [StoredChunk]? {
        var out: [StoredChunk] = []
        var bytes = 0
        while bytes < batchBytes, out.count < ChunkBatches.maxBatchChunks {
            if stack.isEmpty {
                guard !wants.isEmpty else { break }
                let next = wants.prefix(16)
                wants = wants.dropFirst(next.count)
                try push(next.filter { !done.contains($0) })
                continue
            }
            let top = stack.last!
            if done.contains(top.stored.hash) {
                stack.removeLast()
                continue
            }
            let todo = top.refs.filter { !done.contains($0) }
            if todo.isEmpty {
                stack.removeLast()
                done.insert(top.stored.hash)
                out.append(top.stored)
                bytes += top.stored.bytes.count
            } else {
                try push(todo)
            }
        }
        return out.isEmpty ? nil : out
    }

    /// Reads `hashes` and their references (on both cores) and pushes them, the first on top.
    private func push(_ hashes: [Hash]) throws {
        var seen = Set<Hash>()
        let unique = hashes.filter { seen.insert($0).inserted }
        let stored = try store.getStored(unique)
        guard stored.count == unique.count else {
            let got = Set(stored.map(\.hash))
            throw SyncError.missingChunk(unique.first { !got.contains($0) }!)
        }
        let refs = try SendPlanner.references(of: stored, recorded: try store.storedRefs(unique))
        for i in stride(from: stored.count - 1, through: 0, by: -1) {
            stack.append(Entry(stored: stored[i], refs: refs[i]))
        }
    }
}
