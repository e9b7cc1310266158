/// A chunk store in memory, for tests and for apps that want no file.
public final class MemoryChunkStore: ChunkStore, LocalSettings, @unchecked Sendable {
    private let lock = Lock()
    private var chunks: [Hash: Chunk] = [:]
    private var chunkRefs: [Hash: [Hash]] = [:]
    private var refTable: [String: Hash] = [:]
    private var settingTable: [String: String] = [:]

    public init() {}

    public func get(_ hash: Hash) throws -> Chunk? { lock.withLock { chunks[hash] } }

    public func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk] {
        lock.withLock {
            var out = [Hash: Chunk](minimumCapacity: hashes.count)
            for h in hashes { if let c = chunks[h] { out[h] = c } }
            return out
        }
    }

    public func has(_ hash: Hash) throws -> Bool { lock.withLock { chunks[hash] != nil } }

    public func hasMany(_ hashes: [Hash]) throws -> Set<Hash> {
        lock.withLock { Set(hashes.filter { chunks[$0] != nil }) }
    }

    public func put(_ batch: [ChunkWrite]) throws {
        try lock.withLock {
            try ChunkStoreRules.checkComplete(batch) { hs in Set(hs.filter { chunks[$0] != nil }) }
            for w in batch where chunks[w.chunk.hash] == nil { chunks[w.chunk.hash] = w.chunk; if w.recordsRefs { chunkRefs[w.chunk.hash] = w.refs } }
        }
    }

    public func ref(_ name: String) throws -> Hash? { lock.withLock { refTable[name] } }

    public func storedRefs(_ hashes: [Hash]) throws -> [Hash: [Hash]] {
        lock.withLock {
            var out: [Hash: [Hash]] = [:]
            for h in hashes { if let r = chunkRefs[h] { out[h] = r } }
            return out
        }
    }

    public func compareAndSwapRef(_ name: String, expected: Hash?, new: Hash?) throws -> Bool {
        try compareAndSwapRefs([RefMove(name, expected: expected, new: new)])
    }

    public func put(_ batch: [ChunkWrite], moving moves: [RefMove]) throws -> Bool {
        for m in moves { try ChunkStoreRules.validateRefName(m.name) }
        return try lock.withLock {
            for m in moves where refTable[m.name] != m.expected { return false }
            try ChunkStoreRules.checkComplete(batch) { hs in Set(hs.filter { chunks[$0] != nil }) }
            let written = Set(batch.map(\.chunk.hash))
            for m in moves {
                if let new = m.new, chunks[new] == nil, !written.contains(new) { throw StoreError.refTargetMissing(ref: m.name, target: new) }
            }
            for w in batch where chunks[w.chunk.hash] == nil { chunks[w.chunk.hash] = w.chunk; if w.recordsRefs { chunkRefs[w.chunk.hash] = w.refs } }
            for m in moves { refTable[m.name] = m.new }
            return true
        }
    }

    public func compareAndSwapRefs(_ moves: [RefMove]) throws -> Bool {
        for m in moves { try ChunkStoreRules.validateRefName(m.name) }
        return try lock.withLock {
            for m in moves {
                guard refTable[m.name] == m.expected else { return false }
                if let new = m.new, chunks[new] == nil { throw StoreError.refTargetMissing(ref: m.name, target: new) }
            }
            for m in moves { refTable[m.name] = m.new }
            return true
        }
    }

    public func refs(prefix: String) throws -> [(name: String, hash: Hash)] {
        lock.withLock {
            refTable.filter { $0.key.utf8.starts(with: prefix.utf8) }
                .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { (name: $0.key, hash: $0.value) }
        }
    }

    public func stats() throws -> StoreStats {
        lock.withLock {
            let bytes = chunks.values.reduce(0) { $0 + $1.data.count }
            return StoreStats(chunks: chunks.count, bytesStored: bytes, bytesUncompressed: bytes)
        }
    }

    public func forEachHash(_ body: (Hash) throws -> Void) throws {
        let all = lock.withLock { chunks.keys.sorted() }
        for h in all { try body(h) }
    }

    public func hashes(in range: ClosedRange<Hash>, limit: Int) throws -> [Hash] {
        lock.withLock { Array(chunks.keys.filter { range.contains($0) }.sorted().prefix(limit)) }
    }

    public func setting(_ name: String) throws -> String? { lock.withLock { settingTable[name] } }

    public func setSetting(_ name: String, _ value: String?) throws { lock.withLock { settingTable[name] = value } }

    public func settings(prefix: String) throws -> [(name: String, value: String)] {
        lock.withLock {
            settingTable.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        }
    }
}

