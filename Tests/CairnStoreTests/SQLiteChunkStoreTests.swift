import CSQLite
import Foundation
import Testing
@testable import CairnStore

/// Runs SQL on a store file behind the store's back, as bit rot or a careless tool would.
func rawSQL(_ path: String, _ sql: String) throws {
    let conn = try SQLiteConnection(path: path, create: true)
    defer { conn.close() }
    try conn.execute(sql)
}

func rawSQLScalar(_ path: String, _ sql: String) throws -> Int64? {
    let conn = try SQLiteConnection(path: path, create: false)
    defer { conn.close() }
    return try conn.scalarInt(sql)
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

@Suite struct SQLiteChunkStoreTests {
    @Test func persistsAcrossReopen() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        var rng = SplitMix(seed: 3)
        let chunks = (0..<100).map { _ in Chunk(compressibleBytes(4096, &rng)) }
        do {
            let store = try SQLiteChunkStore.create(at: path)
            try store.put(chunks.map { ChunkWrite($0) })
            #expect(try store.compareAndSwapRef("heads/main", expected: nil, new: chunks[0].hash))
            try store.setSetting("user.name", "Ada")
            store.close()
        }
        let store = try SQLiteChunkStore.open(at: path)
        defer { store.close() }
        for c in chunks { #expect(try store.get(c.hash) == c) }
        #expect(try store.ref("heads/main") == chunks[0].hash)
        #expect(try store.setting("user.name") == "Ada")
        let s = try store.stats()
        #expect(s.chunks == 100)
        // Compressible chunks are stored compressed.
        #expect(s.bytesStored * 3 < s.bytesUncompressed)
    }

    @Test func closeCheckpointsTheWAL() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        let store = try SQLiteChunkStore.create(at: path)
        try store.put([ChunkWrite(Chunk([UInt8](repeating: 7, count: 10_000)))])
        store.close()
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize == 0)
    }

    @Test func createRefusesExistingFile() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        try SQLiteChunkStore.create(at: path).close()
        #expect(throws: StoreError.storeExists(path: path)) { try SQLiteChunkStore.create(at: path) }
    }

    @Test func missingFileIsNotAStore() {
        let dir = TemporaryDirectory()
        #expect(throws: StoreError.self) { try SQLiteChunkStore.open(at: dir.file("nope.db")) }
    }

    @Test func garbageFileIsNotAStore() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        try Data(repeating: 0x41, count: 10_000).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.notAStore(path: path, reason: "not a database")) { try SQLiteChunkStore.open(at: path) }
    }

    @Test func otherSQLiteDatabaseIsNotAStore() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("other.db")
        try rawSQL(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        #expect(throws: StoreError.notAStore(path: path, reason: "not marked as a cairn store")) { try SQLiteChunkStore.open(at: path) }
    }

    @Test func newerFormatIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        try SQLiteChunkStore.create(at: path).close()
        try rawSQL(path, "PRAGMA user_version = 99")
        #expect(throws: StoreError.unsupportedFormat(path: path, version: 99)) { try SQLiteChunkStore.open(at: path) }
    }

    @Test func earlierFormatIsRefusedNamingItsVersion() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        try SQLiteChunkStore.create(at: path).close()
        try rawSQL(path, "PRAGMA user_version = 1")
        #expect(throws: StoreError.obsoleteFormat(path: path, version: 1)) { try SQLiteChunkStore.open(at: path) }
        #expect(StoreError.obsoleteFormat(path: path, version: 1).description.contains("format 1"))
    }

    @Test func newStoreHasIncrementalVacuumAndRoomForSyncAndGC() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        try SQLiteChunkStore.create(at: path).close()
        #expect(try rawSQLScalar(path, "PRAGMA auto_vacuum") == 2)  // 2 = INCREMENTAL
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM pragma_table_info('chunks') WHERE name = 'gen'") == 1)
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('reflog', 'writers')") == 2)
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM sqlite_master WHERE name = 'staged'") == 0)
        #expect(try rawSQLScalar(path, "PRAGMA user_version") == SQLiteChunkStore.formatVersion)
    }

    /// A store file of format 2 (`refs` false) or 3, as those formats made it.
    static func oldStore(at path: String, format: Int64, chunks: [Chunk]) throws {
        try rawSQL(path, """
            PRAGMA page_size = 32768; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;
            CREATE TABLE chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, codec INTEGER NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL, gen INTEGER NOT NULL DEFAULT 0\(format >= 3 ? ", refs BLOB" : ""));
            CREATE TABLE staged(hash BLOB PRIMARY KEY, codec INTEGER NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL, refs BLOB NOT NULL, transfer TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            CREATE TABLE refs(name TEXT PRIMARY KEY, hash BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE settings(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE totals(id INTEGER PRIMARY KEY CHECK (id = 0), chunks INTEGER NOT NULL, bytes_stored INTEGER NOT NULL, bytes_uncompressed INTEGER NOT NULL);
            INSERT INTO totals VALUES (0, \(chunks.count), \(chunks.map(\.data.count).reduce(0, +)), \(chunks.map(\.data.count).reduce(0, +)));
            PRAGMA application_id = \(SQLiteChunkStore.applicationID);
            PRAGMA user_version = \(format);
            """ + chunks.map { "INSERT INTO chunks(hash, codec, size, data) VALUES (x'\(hex($0.hash.bytes))', 0, \($0.data.count), x'\(hex($0.data))');" }.joined())
    }

    /// Formats 2 and 3 open as the current format: their chunks read as before with no references
    /// recorded (new chunks record theirs), and gc's tables are there.
    @Test(arguments: [Int64(2), 3]) func anOldStoreMigratesToTheCurrentFormat(format: Int64) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        let leaf = Chunk(Array("leaf".utf8)), parent = Chunk(Array("parent".utf8))
        try Self.oldStore(at: path, format: format, chunks: [leaf])
        let s = try SQLiteChunkStore.open(at: path)
        defer { s.close() }
        #expect(try rawSQLScalar(path, "PRAGMA user_version") == SQLiteChunkStore.formatVersion)
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('reflog', 'writers')") == 2)
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM sqlite_master WHERE name = 'staged'") == 0)
        #expect(try s.get(leaf.hash) == leaf)
        #expect(try s.stats().chunks == 1)
        #expect(try s.storedRefs([leaf.hash]).isEmpty)
        try s.put([ChunkWrite(parent, refs: [leaf.hash])])
        #expect(try s.storedRefs([leaf.hash, parent.hash]) == [parent.hash: [leaf.hash]])
        #expect(try s.compareAndSwapRef("heads/main", expected: nil, new: parent.hash))
        #expect(try s.reflog().map(\.new) == [parent.hash])
    }

    /// Format 4 had two indexes on the reflog; format 5 drops them, keeping its entries.
    @Test func aFormat4StoreLosesItsReflogIndexes() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        let c = Chunk(Array("a commit".utf8))
        try {
            let s = try SQLiteChunkStore.create(at: path)
            try s.put([ChunkWrite(c)])
            _ = try s.compareAndSwapRef("heads/main", expected: nil, new: c.hash)
            s.close()
        }()
        try rawSQL(path, "CREATE INDEX reflog_time ON reflog(time); CREATE INDEX reflog_gen ON reflog(gen); PRAGMA user_version = 4")
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'reflog%'") == 2)
        let s = try SQLiteChunkStore.open(at: path)
        defer { s.close() }
        #expect(try rawSQLScalar(path, "PRAGMA user_version") == SQLiteChunkStore.formatVersion)
        #expect(try rawSQLScalar(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'reflog%'") == 0)
        #expect(try s.reflog().map(\.new) == [c.hash])
    }

    @Test func flippedChunkBytesAreReportedByName() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        let good = Chunk(Array("some chunk that will rot".utf8))
        let other = Chunk(Array("a neighbour that stays fine".utf8))
        try { let s = try SQLiteChunkStore.create(at: path); try s.put([ChunkWrite(good), ChunkWrite(other)]); s.close() }()
        // The raw codec keeps the bytes as they are; flip one.
        var rotten = good.data
        rotten[3] ^= 0x20
        try rawSQL(path, "UPDATE chunks SET codec = 0, data = x'\(hex(rotten))' WHERE hash = x'\(hex(good.hash.bytes))'")
        let store = try SQLiteChunkStore.open(at: path)
        defer { store.close() }
        do {
            _ = try store.get(good.hash)
            Issue.record("a rotten chunk was returned")
        } catch let StoreError.corruptChunk(hash, _) {
            #expect(hash == good.hash)
        }
        #expect(try store.get(other.hash) == other)
    }

    /// A batch large enough to be read on several threads: every present chunk comes back
    /// verified, absent ones are left out, and one rotten chunk fails the whole call by name.
    @Test func largeGetManyReadsInParallelAndStillVerifies() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        var rng = SplitMix(seed: 12)
        let chunks = (0..<300).map { i in Chunk(compressibleBytes(200 + i * 13, &rng)) }
        try { let s = try SQLiteChunkStore.create(at: path); try s.put(chunks.map { ChunkWrite($0) }); s.close() }()
        let absent = (0..<40).map { Hash(of: Array("absent \($0)".utf8)) }
        var asked = chunks.map(\.hash) + absent
        asked.shuffle(using: &rng)
        let store = try SQLiteChunkStore.open(at: path)
        let many = try store.getMany(asked)
        #expect(many.count == chunks.count)
        for c in chunks { #expect(many[c.hash] == c) }
        store.close()

        let victim = chunks[217]
        var rotten = victim.data
        rotten[5] ^= 0x01
        try rawSQL(path, "UPDATE chunks SET codec = 0, data = x'\(hex(rotten))' WHERE hash = x'\(hex(victim.hash.bytes))'")
        let reopened = try SQLiteChunkStore.open(at: path)
        defer { reopened.close() }
        do {
            _ = try reopened.getMany(asked)
            Issue.record("a batch with a rotten chunk was returned")
        } catch let StoreError.corruptChunk(hash, _) {
            #expect(hash == victim.hash)
        }
        // The readers are still usable afterwards.
        #expect(try reopened.getMany(Array(chunks.prefix(100).map(\.hash))).count == 100)
    }

    /// `get` from several threads at once, beside a writer: every read is whole and verified,
    /// and a chunk written by one thread is readable by the others once its put returns.
    @Test func getFromSeveralThreadsBesideAWriter() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        var rng = SplitMix(seed: 21)
        let first = (0..<400).map { i in Chunk(compressibleBytes(300 + i * 7, &rng)) }
        let later = (0..<400).map { i in Chunk(compressibleBytes(500 + i * 5, &rng)) }
        let store = try SQLiteChunkStore.create(at: path)
        defer { store.close() }
        try store.put(first.map { ChunkWrite($0) })
        let wrong = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        wrong.initialize(repeating: 0)
        defer { wrong.deallocate() }
        nonisolated(unsafe) let failures = wrong
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            if w == 0 {
                for i in stride(from: 0, to: later.count, by: 50) {
                    do { try store.put(later[i..<(i + 50)].map { ChunkWrite($0) }) } catch { failures[0] += 1 }
                }
                return
            }
            for round in 0..<3 {
                for i in 0..<first.count {
                    let c = first[(i * (w * 7 + round * 3 + 1)) % first.count]
                    if (try? store.get(c.hash)) != c { failures[w] += 1 }
                }
            }
        }
        #expect(Array(failures) == [0, 0, 0, 0])
        for c in later { #expect(try store.get(c.hash) == c) }
    }

    @Test func undecodableStoredChunks() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        var rng = SplitMix(seed: 9)
        let chunks = (0..<4).map { _ in Chunk(compressibleBytes(5000, &rng)) }
        try { let s = try SQLiteChunkStore.create(at: path); try s.put(chunks.map { ChunkWrite($0) }); s.close() }()
        func at(_ i: Int) -> String { "x'\(hex(chunks[i].hash.bytes))'" }
        // Garbage where a zstd frame should be; a size beyond the cap; an unknown codec; a
        // frame that claims a huge content size.
        try rawSQL(path, "UPDATE chunks SET data = x'00112233445566' WHERE hash = \(at(0))")
        try rawSQL(path, "UPDATE chunks SET size = 1000000000 WHERE hash = \(at(1))")
        try rawSQL(path, "UPDATE chunks SET codec = 7 WHERE hash = \(at(2))")
        // zstd magic, a frame header with an 8-byte content size of 2^40.
        try rawSQL(path, "UPDATE chunks SET data = x'28b52ffd' || x'c0' || x'0000000000010000' || x'0000', size = 5000 WHERE hash = \(at(3))")
        let store = try SQLiteChunkStore.open(at: path)
        defer { store.close() }
        for c in chunks {
            #expect(throws: StoreError.self) { try store.get(c.hash) }
        }
    }

    /// Bytes flipped anywhere in the file: every read returns the right chunk or throws a
    /// StoreError. Nothing crashes and nothing wrong comes back.
    @Test func randomFlipsInTheFileNeverReturnWrongData() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("pristine.db")
        var rng = SplitMix(seed: 21)
        let chunks = (0..<60).map { _ in Chunk(compressibleBytes(3000, &rng)) }
        try { let s = try SQLiteChunkStore.create(at: path); try s.put(chunks.map { ChunkWrite($0) }); s.close() }()
        let pristine = try Data(contentsOf: URL(fileURLWithPath: path))
        for trial in 0..<40 {
            var damaged = pristine
            for _ in 0..<8 {
                let offset = Int.random(in: 0..<damaged.count, using: &rng)
                damaged[offset] ^= UInt8.random(in: 1...255, using: &rng)
            }
            let copy = dir.file("damaged-\(trial).db")
            try damaged.write(to: URL(fileURLWithPath: copy))
            guard let store = try? SQLiteChunkStore.open(at: copy) else { continue }
            for c in chunks {
                do {
                    if let got = try store.get(c.hash) { #expect(got == c) }
                } catch is StoreError {
                    // Reported, as it must be.
                }
            }
            store.close()
        }
    }

    @Test func truncatedStoreGivesAnError() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        var rng = SplitMix(seed: 4)
        let chunks = (0..<200).map { _ in Chunk(randomBytes(3000, &rng)) }
        try { let s = try SQLiteChunkStore.create(at: path); try s.put(chunks.map { ChunkWrite($0) }); s.close() }()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        for keep in [0, 50, 4096, size / 2] {
            let copy = dir.file("t\(keep).db")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(keep)
            try bytes.write(to: URL(fileURLWithPath: copy))
            do {
                let store = try SQLiteChunkStore.open(at: copy)
                var failed = false
                for c in chunks {
                    do { if let got = try store.get(c.hash) { #expect(got == c) } } catch is StoreError { failed = true; break }
                }
                store.close()
                #expect(failed, "a store truncated to \(keep) bytes read back whole")
            } catch is StoreError {
                // Refused at open: fine.
            }
        }
    }

    @Test func twoHandlesSeeEachOtherAndCASIsNotLost() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        let a = try SQLiteChunkStore.create(at: path)
        let b = try SQLiteChunkStore.open(at: path)
        defer { a.close(); b.close() }
        let c1 = Chunk(Array("c1".utf8)), c2 = Chunk(Array("c2".utf8)), c3 = Chunk(Array("c3".utf8))
        try a.put([ChunkWrite(c1), ChunkWrite(c2)])
        try b.put([ChunkWrite(c3)])
        #expect(try b.get(c1.hash) == c1)
        #expect(try a.get(c3.hash) == c3)
        #expect(try a.compareAndSwapRef("heads/main", expected: nil, new: c1.hash))
        // b read nothing yet; its move from nil loses.
        #expect(try !b.compareAndSwapRef("heads/main", expected: nil, new: c2.hash))
        #expect(try b.compareAndSwapRef("heads/main", expected: c1.hash, new: c2.hash))
        #expect(try !a.compareAndSwapRef("heads/main", expected: c1.hash, new: c3.hash))
        #expect(try a.ref("heads/main") == c2.hash)
    }

    /// Many threads racing to advance one ref by compare-and-swap: every success is one step,
    /// none is lost or doubled.
    @Test func concurrentCompareAndSwapCountsExactly() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        let setup = try SQLiteChunkStore.create(at: path)
        let steps = (0...80).map { Chunk(Array("step \($0)".utf8)) }
        try setup.put(steps.map { ChunkWrite($0) })
        #expect(try setup.compareAndSwapRef("heads/n", expected: nil, new: steps[0].hash))
        setup.close()
        let index = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1.hash, $0) })
        let wins = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let store = try SQLiteChunkStore.open(at: path)
                    defer { store.close() }
                    var won = 0
                    while true {
                        let current = try store.ref("heads/n")!
                        let i = index[current]!
                        if i == 80 { return won }
                        if try store.compareAndSwapRef("heads/n", expected: current, new: steps[i + 1].hash) { won += 1 }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(wins == 80)
    }
}
