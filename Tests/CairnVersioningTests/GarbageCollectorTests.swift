import CairnStore
import CairnValues
import CairnVersioning
import Foundation
import Testing

/// gc and fsck on a SQLite store (docs/gc.md, docs/reliability.md).
@Suite struct GarbageCollectorTests {
    final class Store {
        let dir = NSTemporaryDirectory() + "cairn-gc-" + UUID().uuidString
        let chunks: SQLiteChunkStore
        let repo: Repository
        init() throws {
            chunks = try StoreDirectory.create(in: dir)
            repo = Repository(chunks: chunks)
        }
        deinit {
            chunks.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// A map of `n` entries `prefix-i` → i, big enough to span many chunks.
    static func bigMap(_ n: Int, prefix: String, store: NodeStore) throws -> Value {
        let b = MapBuilder(store: store)
        for i in 0..<n { try b.append(.string(prefix + String(format: "%08d", i)), .int(Int64(i) * 7)) }
        return .map(try b.finish())
    }

    func count(_ repo: Repository, _ name: String) throws -> Int? {
        guard case .map(let m)? = try repo.workingRoot().get(.string(name)) else { return nil }
        return Int(m.count)
    }

    @Test func gcDropsWhatNothingReachesAndKeepsTheReflogsUnlessPruned() throws {
        let s = try Store()
        try s.repo.replaceValue("keep", with: try Self.bigMap(20_000, prefix: "k", store: s.repo.store))
        try s.repo.commitWorkingSet(message: "keep", author: "t")
        let afterFirst = try s.chunks.stats()
        try s.repo.checkoutNewBranch("other", at: try s.repo.head()?.hash)
        try s.repo.replaceValue("gone", with: try Self.bigMap(20_000, prefix: "g", store: s.repo.store))
        try s.repo.commitWorkingSet(message: "gone", author: "t")
        let otherHead = try #require(try s.chunks.ref("heads/other"))
        try s.repo.checkout("main")
        _ = try s.repo.deleteBranch("other", force: true)

        // The reflog keeps the deleted branch: nothing goes, and it can be brought back.
        let kept = try GarbageCollector.collect(s.chunks)
        #expect(kept.chunksDeleted == 0)
        #expect(try s.chunks.reflog(name: "heads/other").first?.old == otherHead)
        #expect(try s.chunks.has(otherHead))

        // Fifteen days on, or pruned now, it goes; what main reaches stays, readable and sound.
        let later = try GarbageCollector.collect(s.chunks, now: Int64(time(nil)) + 15 * 86_400)
        #expect(later.chunksDeleted > 0)
        #expect(try !s.chunks.has(otherHead))
        #expect(try s.chunks.stats().chunks == afterFirst.chunks)
        #expect(try count(s.repo, "keep") == 20_000)
        let check = try StoreCheck.run(s.chunks)
        #expect(check.problems.isEmpty, "\(check.problems)")
        #expect(check.chunksChecked == afterFirst.chunks)
        // The space came back, and a second gc has nothing to do.
        #expect(later.fileBytesAfter < later.fileBytesBefore)
        #expect(try GarbageCollector.collect(s.chunks, pruneNow: true).chunksDeleted == 0)
    }

    /// A writer whose chunks no ref reaches yet (an import between batches) keeps them through a
    /// gc; once it ends, they go.
    @Test func aLiveWritersChunksSurviveAGc() throws {
        let s = try Store()
        let nodes = NodeStore(s.chunks, flushBytes: 4096)
        let value = try Self.bigMap(5_000, prefix: "w", store: nodes)
        guard case .map(let m) = value else { return }
        let root = try m.persistRoot()
        try nodes.flush()
        #expect(try s.chunks.has(root))
        #expect(try GarbageCollector.collect(s.chunks, pruneNow: true).chunksDeleted == 0)
        #expect(try s.chunks.has(root))
        nodes.endWriting()
        #expect(try GarbageCollector.collect(s.chunks, pruneNow: true).chunksDeleted > 0)
        #expect(try !s.chunks.has(root))
    }

    /// The sweep against a writer that runs between the mark and the sweep: a chunk it re-puts
    /// or references carries the new generation, and the step holding it deletes nothing.
    @Test func theSweepSparesWhatAWriterRenewedSinceTheMark() throws {
        let s = try Store()
        let child = Chunk(Array("old child".utf8)), old = Chunk(Array("old parent".utf8))
        try s.chunks.put([ChunkWrite(child), ChunkWrite(old, refs: [child.hash])])
        let start = try s.chunks.beginCollection(keepingReflogSince: Int64.max)
        #expect(start.roots.isEmpty)
        // A writer references the unreachable `child` from a new chunk.
        let fresh = Chunk(Array("new parent".utf8))
        try s.chunks.put([ChunkWrite(fresh, refs: [child.hash])])
        #expect(try s.chunks.sweep([old.hash, child.hash], keepFrom: start.keepFrom) == .renewed([child.hash]))
        #expect(try s.chunks.sweep([old.hash], keepFrom: start.keepFrom) == .deleted(chunks: 1, bytesStored: old.data.count, bytesUncompressed: old.data.count))
        // A re-put renews too.
        try s.chunks.put([ChunkWrite(old, refs: [child.hash])])
        #expect(try s.chunks.sweep([old.hash], keepFrom: start.keepFrom) == .renewed([old.hash]))
        try s.chunks.endCollection(start, droppingReflogBefore: Int64.min)
        #expect(try s.chunks.has(child.hash) && s.chunks.has(fresh.hash))
    }

    @Test func aSecondGcWaitsItsTurn() throws {
        let s = try Store()
        let other = try SQLiteChunkStore.open(at: s.chunks.path)
        defer { other.close() }
        let start = try s.chunks.beginCollection(keepingReflogSince: 0)
        // Not a second one in this process, on either handle of the file.
        #expect(throws: StoreError.self) { try other.beginCollection(keepingReflogSince: 0) }
        #expect(throws: StoreError.self) { try s.chunks.beginCollection(keepingReflogSince: 0) }
        try s.chunks.endCollection(start, droppingReflogBefore: Int64.min)
        let again = try other.beginCollection(keepingReflogSince: 0)
        try other.endCollection(again, droppingReflogBefore: Int64.min)
    }

    /// fsck names a flipped chunk, a missing one, and references recorded wrongly, with the refs
    /// that reach each; a sound store has none.
    @Test func fsckNamesEachKindOfDamage() throws {
        let s = try Store()
        try s.repo.replaceValue("t", with: try Self.bigMap(20_000, prefix: "t", store: s.repo.store))
        try s.repo.commitWorkingSet(message: "one", author: "t")
        #expect(try StoreCheck.run(s.chunks).problems.isEmpty)
        var leaves: [Hash] = [], inner: [Hash] = []
        try s.chunks.forEachHash { h in
            guard let c = try? s.chunks.get(h), c.data.count > 1 else { return }
            if c.data[1] == 0x0B { leaves.append(h) } else if c.data[1] == 0x22 { inner.append(h) }
        }
        try #require(leaves.count >= 2 && !inner.isEmpty)
        s.chunks.close()
        let db = s.dir + "/.cairn/store.db"
        func sql(_ q: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", db, q]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        func hex(_ h: Hash) -> String { h.bytes.map { String(format: "%02x", $0) }.joined() }
        // Flipped: a raw codec with other bytes. Missing: the row deleted. Recorded refs: some
        // left out (a record with more than the chunk holds is only conservative).
        try sql("""
            UPDATE chunks SET codec = 0, size = 5, data = x'0201020304' WHERE hash = x'\(hex(leaves[0]))';
            DELETE FROM chunks WHERE hash = x'\(hex(leaves[1]))';
            UPDATE chunks SET refs = x'\(hex(leaves[0]))' WHERE hash = x'\(hex(inner[0]))';
            """)
        let reopened = try StoreDirectory.open(in: s.dir)
        defer { reopened.close() }
        let problems = try StoreCheck.run(reopened).problems
        let byChunk = Dictionary(grouping: problems, by: { $0.chunk })
        #expect(byChunk[leaves[0]]?.first?.problem.contains("hash") == true, "\(problems)")
        #expect(byChunk[leaves[1]]?.first?.problem.contains("missing") == true, "\(problems)")
        #expect(byChunk[inner[0]]?.first?.problem.contains("recorded") == true, "\(problems)")
        for p in problems where p.chunk != nil && (leaves.prefix(2) + inner.prefix(1)).contains(p.chunk!) {
            #expect(p.refs == ["heads/main", "working/main"], "\(p)")
        }
    }
}

/// Writers on different branches and on one branch at once, each its own `Repository` over its
/// own connection to one file (as separate processes are): every edit and commit that returned
/// is in the result.
@Suite struct ConcurrentBranchWriterTests {
    @Test func writersOnDifferentBranchesAndOneBranchLoseNothing() throws {
        let dir = NSTemporaryDirectory() + "cairn-writers-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try StoreDirectory.create(in: dir)
        let seed = Repository(chunks: first)
        try seed.edit(at: ValuePath(parsing: "/t"), value: .map(try ProllyMap.empty(store: seed.store)))
        try seed.commitWorkingSet(message: "base", author: "t")
        let base = try #require(try seed.head()?.hash)
        for b in ["b0", "b1", "b2"] { try seed.createBranch(b, at: base) }
        first.close()
        // Three writers on their own branches, three more on main.
        let branches = ["b0", "b1", "b2", "main", "main", "main"]
        let done = LockedBox<[(branch: String, key: String, commit: Hash?)]>([])
        DispatchQueue.concurrentPerform(iterations: branches.count) { w in
            guard let store = try? StoreDirectory.open(in: dir) else { return }
            defer { store.close() }
            let repo = Repository(chunks: store)
            repo.branch = branches[w]
            let end = Date().addingTimeInterval(1.5)
            var i = 0
            while Date() < end {
                let key = "w\(w)-\(i)"
                do {
                    try repo.edit(at: ValuePath(parsing: "/t/\(key)"), value: .int(Int64(i)))
                    let c = try? repo.commitWorkingSet(message: key, author: "w\(w)", allowEmpty: true)
                    done.withLock { $0.append((branches[w], key, c?.hash)) }
                } catch {
                    Issue.record("writer \(w): \(error)")
                }
                i += 1
            }
        }
        let store = try StoreDirectory.open(in: dir)
        defer { store.close() }
        let repo = Repository(chunks: store)
        let results = done.withLock { $0 }
        #expect(results.count >= branches.count * 2)
        for b in Set(branches) {
            repo.branch = b
            guard case .map(let t)? = try repo.workingRoot().get(.string("t")) else { Issue.record("no /t on \(b)"); continue }
            let head = try #require(try repo.head())
            let messages = Set(try repo.log(from: head.hash).map(\.message))
            for r in results where r.branch == b {
                #expect(try t.get(.string(r.key)) != nil, "\(r.key) is lost on \(b)")
                if r.commit != nil { #expect(messages.contains(r.key), "commit \(r.key) is not in \(b)'s history") }
            }
        }
        #expect(try StoreCheck.run(store).problems.isEmpty)
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}

extension GarbageCollectorTests {
    /// A reachable chunk that is damaged stops the gc before it drops anything: what is under it
    /// cannot be known.
    @Test func aDamagedReachableChunkStopsTheGc() throws {
        let s = try Store()
        try s.repo.replaceValue("t", with: try Self.bigMap(20_000, prefix: "d", store: s.repo.store))
        try s.repo.commitWorkingSet(message: "one", author: "t")
        try s.repo.replaceValue("gone", with: .int(1))
        try s.repo.commitWorkingSet(message: "two", author: "t")
        var inner: Hash?
        try s.chunks.forEachHash { h in if let c = try? s.chunks.get(h), c.data.count > 1, c.data[1] == 0x22 { inner = h } }
        let node = try #require(inner)
        let before = try s.chunks.stats().chunks
        s.chunks.close()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let hex = node.bytes.map { String(format: "%02x", $0) }.joined()
        p.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE chunks SET codec = 0, size = 3, data = x'020102' WHERE hash = x'\(hex)'\"); c.commit()",
                       s.dir + "/.cairn/store.db"]
        try p.run()
        p.waitUntilExit()
        let reopened = try StoreDirectory.open(in: s.dir)
        defer { reopened.close() }
        #expect(throws: StoreError.self) { try GarbageCollector.collect(reopened, pruneNow: true) }
        #expect(try reopened.stats().chunks == before)
        // And the next gc may run (the failed one ended its collection).
        #expect(throws: StoreError.self) { try GarbageCollector.collect(reopened, pruneNow: true) }
    }
}
