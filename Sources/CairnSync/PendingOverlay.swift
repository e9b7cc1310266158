import CairnStore

/// A store as it will be once a receiver's last batch is written: reads see the batch's
/// chunks too. A pull judges a fast-forward through it, so the branch can move in the same
/// transaction that writes the batch. Writes go to the store.
final class PendingOverlay: ChunkStore, LocalSettings, @unchecked Sendable {
    let base: any ChunkStore & LocalSettings
    let pending: (Hash) throws -> Chunk?

    init(_ base: any ChunkStore & LocalSettings, pending: @escaping (Hash) throws -> Chunk?) {
        self.base = base
        self.pending = pending
    }

    // The pending batch first: it holds what is being judged (a pull's new commits), and
    // asking it costs no read of the store.
    func get(_ hash: Hash) throws -> Chunk? { try pending(hash) ?? base.get(hash) }
    func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk] {
        var out = try base.getMany(hashes)
        for h in hashes where out[h] == nil { if let c = try pending(h) { out[h] = c } }
        return out
    }
    func has(_ hash: Hash) throws -> Bool { try base.has(hash) || pending(hash) != nil }
    func hasMany(_ hashes: [Hash]) throws -> Set<Hash> {
        var out = try base.hasMany(hashes)
        for h in hashes where !out.contains(h) { if try pending(h) != nil { out.insert(h) } }
        return out
    }
    func put(_ batch: [ChunkWrite]) throws { try base.put(batch) }
    func ref(_ name: String) throws -> Hash? { try base.ref(name) }
    func compareAndSwapRef(_ name: String, expected: Hash?, new: Hash?) throws -> Bool {
        try base.compareAndSwapRef(name, expected: expected, new: new)
    }
    func compareAndSwapRefs(_ moves: [RefMove]) throws -> Bool { try base.compareAndSwapRefs(moves) }
    func put(_ batch: [ChunkWrite], moving moves: [RefMove]) throws -> Bool { try base.put(batch, moving: moves) }
    func getStored(_ hashes: [Hash]) throws -> [StoredChunk] { try base.getStored(hashes) }
    func putStored(_ batch: [StoredChunkWrite], moving moves: [RefMove]) throws -> Bool { try base.putStored(batch, moving: moves) }
    func storedRefs(_ hashes: [Hash]) throws -> [Hash: [Hash]] { try base.storedRefs(hashes) }
    func refs(prefix: String) throws -> [(name: String, hash: Hash)] { try base.refs(prefix: prefix) }
    func stats() throws -> StoreStats { try base.stats() }
    func forEachHash(_ body: (Hash) throws -> Void) throws { try base.forEachHash(body) }
    func hashes(in range: ClosedRange<Hash>, limit: Int) throws -> [Hash] { try base.hashes(in: range, limit: limit) }
    func setting(_ name: String) throws -> String? { try base.setting(name) }
    func setSetting(_ name: String, _ value: String?) throws { try base.setSetting(name, value) }
    func settings(prefix: String) throws -> [(name: String, value: String)] { try base.settings(prefix: prefix) }
}
