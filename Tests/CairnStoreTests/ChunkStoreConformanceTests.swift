import Testing
@testable import CairnStore

/// Every chunk store must pass these, in memory and on SQLite alike.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, sqlite
    var testDescription: String { rawValue }

    /// A new empty store, and what keeps its files alive.
    func make() throws -> (any ChunkStore & LocalSettings, AnyObject?) {
        switch self {
        case .memory:
            return (MemoryChunkStore(), nil)
        case .sqlite:
            let dir = TemporaryDirectory()
            return (try SQLiteChunkStore.create(at: dir.file("store.db")), dir)
        }
    }
}

@Suite struct ChunkStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func putThenGet(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        var rng = SplitMix(seed: 1)
        let chunks = (0..<50).map { i in Chunk(i % 2 == 0 ? randomBytes(i * 37, &rng) : compressibleBytes(i * 300, &rng)) }
        try store.put(chunks.map { ChunkWrite($0) })
        for c in chunks {
            #expect(try store.get(c.hash) == c)
            #expect(try store.has(c.hash))
        }
        let absent = Hash(of: [1, 2, 3])
        #expect(try store.get(absent) == nil)
        #expect(try !store.has(absent))
        let many = try store.getMany(chunks.map(\.hash) + [absent])
        #expect(many.count == chunks.count)
        #expect(try store.hasMany(chunks.prefix(5).map(\.hash) + [absent]) == Set(chunks.prefix(5).map(\.hash)))
    }

    @Test(arguments: StoreKind.allCases)
    func emptyChunkIsStorable(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let empty = Chunk([])
        try store.put([ChunkWrite(empty)])
        #expect(try store.get(empty.hash) == empty)
    }

    @Test(arguments: StoreKind.allCases)
    func refusesBatchWithMissingReference(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let orphanChild = Hash(of: Array("never written".utf8))
        let fine = Chunk(Array("fine".utf8))
        let parent = Chunk(Array("parent".utf8))
        #expect(throws: StoreError.missingReferences(chunk: parent.hash, missing: [orphanChild])) {
            try store.put([ChunkWrite(fine), ChunkWrite(parent, refs: [orphanChild])])
        }
        // The whole batch was refused, including the chunk that was fine on its own.
        #expect(try !store.has(fine.hash))
        #expect(try !store.has(parent.hash))
        #expect(try store.stats().chunks == 0)
    }

    @Test(arguments: StoreKind.allCases)
    func acceptsReferencesInBatchOrAlreadyStored(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let a = Chunk(Array("a".utf8)), b = Chunk(Array("b".utf8))
        let ab = Chunk(Array("ab".utf8))
        // The parent may come before its child within one batch.
        try store.put([ChunkWrite(ab, refs: [a.hash, b.hash]), ChunkWrite(a), ChunkWrite(b)])
        let top = Chunk(Array("top".utf8))
        try store.put([ChunkWrite(top, refs: [ab.hash, a.hash])])
        #expect(try store.has(top.hash))
    }

    @Test(arguments: StoreKind.allCases)
    func refCompareAndSwap(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let one = Chunk(Array("one".utf8)), two = Chunk(Array("two".utf8))
        try store.put([ChunkWrite(one), ChunkWrite(two)])
        #expect(try store.ref("heads/main") == nil)
        #expect(try store.compareAndSwapRef("heads/main", expected: nil, new: one.hash))
        #expect(try store.ref("heads/main") == one.hash)
        // A stale expectation loses, and changes nothing.
        #expect(try !store.compareAndSwapRef("heads/main", expected: nil, new: two.hash))
        #expect(try !store.compareAndSwapRef("heads/main", expected: two.hash, new: two.hash))
        #expect(try store.ref("heads/main") == one.hash)
        #expect(try store.compareAndSwapRef("heads/main", expected: one.hash, new: two.hash))
        #expect(try store.ref("heads/main") == two.hash)
        // Delete.
        #expect(try store.compareAndSwapRef("heads/main", expected: two.hash, new: nil))
        #expect(try store.ref("heads/main") == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func refMustNameAPresentChunk(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let ghost = Hash(of: Array("ghost".utf8))
        #expect(throws: StoreError.refTargetMissing(ref: "heads/x", target: ghost)) {
            try store.compareAndSwapRef("heads/x", expected: nil, new: ghost)
        }
        #expect(try store.ref("heads/x") == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func invalidRefNames(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let c = Chunk([1])
        try store.put([ChunkWrite(c)])
        for bad in ["", "/heads", "heads/", "heads//x", "heads/a\nb", "heads/\u{7f}"] {
            #expect(throws: StoreError.invalidRefName(bad)) { try store.compareAndSwapRef(bad, expected: nil, new: c.hash) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listRefsByPrefix(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let c = Chunk([1])
        try store.put([ChunkWrite(c)])
        for name in ["heads/main", "heads/dev", "tags/v1", "remotes/origin/main", "heads/a%b", "heads_x/y"] {
            #expect(try store.compareAndSwapRef(name, expected: nil, new: c.hash))
        }
        #expect(try store.refs(prefix: "heads/").map(\.name) == ["heads/a%b", "heads/dev", "heads/main"])
        #expect(try store.refs(prefix: "").count == 6)
        #expect(try store.refs(prefix: "remotes/origin/").map(\.name) == ["remotes/origin/main"])
    }

    /// A prefix that ends inside a grapheme cluster, or whose characters take several bytes,
    /// matches by bytes, the same in every store.
    @Test(arguments: StoreKind.allCases)
    func listRefsByNonASCIIPrefix(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let c = Chunk([1])
        try store.put([ChunkWrite(c)])
        for name in ["heads/café/x", "heads/cafe\u{301}/y", "heads/日本/z", "heads/日/w"] {
            #expect(try store.compareAndSwapRef(name, expected: nil, new: c.hash))
        }
        #expect(try store.refs(prefix: "heads/café/").map(\.name) == ["heads/café/x"])
        #expect(try store.refs(prefix: "heads/cafe").map(\.name) == ["heads/cafe\u{301}/y"])
        #expect(try store.refs(prefix: "heads/日本").map(\.name) == ["heads/日本/z"])
        #expect(try store.refs(prefix: "heads/日").count == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func statsCountEachChunkOnce(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        var rng = SplitMix(seed: 5)
        let chunks = (0..<20).map { _ in Chunk(compressibleBytes(4096, &rng)) }
        try store.put(chunks.map { ChunkWrite($0) })
        try store.put(chunks.prefix(10).map { ChunkWrite($0) })
        let s = try store.stats()
        #expect(s.chunks == 20)
        #expect(s.bytesUncompressed == 20 * 4096)
        #expect(s.bytesStored <= s.bytesUncompressed)
        var seen: [Hash] = []
        try store.forEachHash { seen.append($0) }
        #expect(seen == chunks.map(\.hash).sorted())
    }

    @Test(arguments: StoreKind.allCases)
    func refusesOversizedChunk(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        let big = Chunk([UInt8](repeating: 0, count: Chunk.maxSize + 1))
        #expect(throws: StoreError.chunkTooLarge(size: Chunk.maxSize + 1)) { try store.put([ChunkWrite(big)]) }
    }

    @Test(arguments: StoreKind.allCases)
    func localSettings(kind: StoreKind) throws {
        let (store, keep) = try kind.make()
        defer { withExtendedLifetime(keep) {} }
        #expect(try store.setting("user.name") == nil)
        try store.setSetting("user.name", "Ada")
        try store.setSetting("remote.origin.url", "http://x")
        try store.setSetting("remote.origin.token", "t")
        #expect(try store.setting("user.name") == "Ada")
        #expect(try store.settings(prefix: "remote.origin.").map(\.name) == ["remote.origin.token", "remote.origin.url"])
        try store.setSetting("user.name", nil)
        #expect(try store.setting("user.name") == nil)
    }
}
