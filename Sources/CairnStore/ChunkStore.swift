/// The narrow interface every chunk store implements: chunks by hash, and named refs moved by
/// compare-and-swap. Sync, versioning and the CLI are written once against it.
///
/// Stores keep the *completeness invariant*: a chunk is present only if every chunk it
/// references is present, and a ref names only a present chunk. So `has(h)` means "h and
/// everything under h", which sync uses to prune. Stores check this themselves.
///
/// Calls are synchronous: a local read costs microseconds. Implementations are safe to call
/// from several threads.
public protocol ChunkStore: AnyObject, Sendable {
    /// The chunk named `hash`, or nil when absent. Throws ``StoreError/corruptChunk(_:reason:)``
    /// rather than return bytes that do not hash to `hash`.
    func get(_ hash: Hash) throws -> Chunk?
    /// The chunks among `hashes` that are present.
    func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk]
    func has(_ hash: Hash) throws -> Bool
    /// The subset of `hashes` that is present.
    func hasMany(_ hashes: [Hash]) throws -> Set<Hash>
    /// Writes a batch atomically, refusing it whole (``StoreError/missingReferences(chunk:missing:)``)
    /// if any chunk references one that is neither present nor in the batch.
    func put(_ batch: [ChunkWrite]) throws

    /// The chunk a ref names, or nil if there is no such ref.
    func ref(_ name: String) throws -> Hash?
    /// Moves `name` from `expected` (nil: the ref must not exist) to `new` (nil: delete it).
    /// Returns false, changing nothing, when the ref does not currently equal `expected`.
    /// Throws ``StoreError/refTargetMissing(ref:target:)`` if `new` is not present.
    func compareAndSwapRef(_ name: String, expected: Hash?, new: Hash?) throws -> Bool
    /// Moves several refs at once, each from its `expected` to its `new`: all of them, or none
    /// (false) when any one does not currently equal its `expected`. A merge commit moves its
    /// branch and the branch's working set together this way.
    func compareAndSwapRefs(_ moves: [RefMove]) throws -> Bool
    /// Writes a batch (as ``put(_:)``) and moves refs (as ``compareAndSwapRefs(_:)``) in one
    /// step: false, writing nothing, when a ref does not equal its `expected`. A commit
    /// stores its last chunks and moves its branch this way, in one transaction.
    func put(_ batch: [ChunkWrite], moving moves: [RefMove]) throws -> Bool
    /// The stored forms (as kept, compressed or not) of the chunks among `hashes` that are
    /// present, in `hashes`' order: what sync sends without recompressing.
    func getStored(_ hashes: [Hash]) throws -> [StoredChunk]
    /// Writes stored chunks that the caller has checked against their hashes, keeping their
    /// bytes as they are, and moves refs, as ``put(_:moving:)`` does: the completeness invariant
    /// applies, and nothing is written when a ref does not equal its `expected`.
    func putStored(_ batch: [StoredChunkWrite], moving moves: [RefMove]) throws -> Bool
    /// The references recorded for the chunks among `hashes` (as their writers declared
    /// them), so a sender can follow a chunk without decompressing it. A chunk left out has
    /// none recorded: read it to learn them.
    func storedRefs(_ hashes: [Hash]) throws -> [Hash: [Hash]]
    /// Every ref whose name starts with `prefix`, sorted by name.
    func refs(prefix: String) throws -> [(name: String, hash: Hash)]

    func stats() throws -> StoreStats
    /// Records a writer about to put chunks over several transactions before a ref reaches
    /// them (an import, a merge, a transfer being received): until ``endWriting(_:)``, a gc
    /// keeps every chunk put since (docs/gc.md). Returns the record's id.
    func beginWriting() throws -> Int64
    /// Ends the record ``beginWriting()`` made. Never throws: a record left behind by a writer
    /// that died is dropped by the next gc.
    func endWriting(_ id: Int64)
    /// Calls `body` with the hash of every stored chunk, in hash order. For fsck and gc.
    func forEachHash(_ body: (Hash) throws -> Void) throws
    /// Up to `limit` stored hashes in `range`, in order. Revisions use it to expand a prefix.
    func hashes(in range: ClosedRange<Hash>, limit: Int) throws -> [Hash]
}

extension ChunkStore {
    /// Stores without a gc have no writers to record.
    public func beginWriting() throws -> Int64 { 0 }
    public func endWriting(_ id: Int64) {}

    /// Stores that cannot do both in one transaction write the chunks, then move the refs:
    /// the refs still move only onto chunks that are there.
    public func put(_ batch: [ChunkWrite], moving moves: [RefMove]) throws -> Bool {
        try put(batch)
        return try compareAndSwapRefs(moves)
    }
}

/// One ref move of ``ChunkStore/compareAndSwapRefs(_:)``.
public struct RefMove: Sendable, Equatable {
    public let name: String
    public let expected: Hash?
    public let new: Hash?
    public init(_ name: String, expected: Hash?, new: Hash?) {
        self.name = name
        self.expected = expected
        self.new = new
    }
}

extension Hash {
    /// The hashes whose text form starts with `prefix` (which must be a valid text prefix).
    public static func range(textPrefix prefix: String) -> ClosedRange<Hash>? {
        guard isTextPrefix(prefix) else { return nil }
        let low = prefix + String(repeating: "0", count: textLength - prefix.count)
        let high = prefix + String(repeating: "v", count: textLength - prefix.count)
        guard let l = Hash(low), let h = Hash(high) else { return nil }
        return l...h
    }
}

/// The rules every store applies to ref names.
public enum ChunkStoreRules {
    /// Ref names are non-empty, printable, and use `/` between namespace and name
    /// (`heads/main`, `tags/v1`, `remotes/origin/main`, `working/main`).
    public static func validateRefName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 1024,
              !name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }),
              !name.hasPrefix("/"), !name.hasSuffix("/"), !name.contains("//")
        else { throw StoreError.invalidRefName(name) }
    }

    /// Checks one batch against the completeness invariant, given a way to ask which
    /// out-of-batch references are present.
    static func checkComplete(_ batch: [ChunkWrite], present: ([Hash]) throws -> Set<Hash>) throws {
        for write in batch where write.chunk.data.count > Chunk.maxSize { throw StoreError.chunkTooLarge(size: write.chunk.data.count) }
        try checkComplete(hashes: batch.map(\.chunk.hash), refs: batch.map(\.refs), present: present)
    }

    /// The same check over a batch given as its hashes and, for each, the hashes it references.
    static func checkComplete(hashes: [Hash], refs: [[Hash]], present: ([Hash]) throws -> Set<Hash>) throws {
        let inBatch = Set(hashes)
        var outside = Set<Hash>()
        for rs in refs { for r in rs where !inBatch.contains(r) { outside.insert(r) } }
        guard !outside.isEmpty else { return }
        let found = try present(Array(outside))
        guard found.count < outside.count else { return }
        for (h, rs) in zip(hashes, refs) {
            let missing = rs.filter { !inBatch.contains($0) && !found.contains($0) }
            if !missing.isEmpty { throw StoreError.missingReferences(chunk: h, missing: missing) }
        }
    }
}
