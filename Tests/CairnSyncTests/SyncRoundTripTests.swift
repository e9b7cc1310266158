import CairnStore
import CairnValues
import CairnVersioning
@testable import CairnSync
import CairnRemote
import Foundation
import Testing

/// A folder of stores for a test server, with one empty store `hub` in it.
final class ServerFolder {
    let root: String
    init(stores: [String] = ["hub"]) throws {
        root = NSTemporaryDirectory() + "cairn-srv-" + UUID().uuidString
        for s in stores { try StoreDirectory.create(in: root + "/" + s).close() }
    }
    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The hub's store, opened beside the server (a served store may be used locally).
    func open(_ name: String = "hub") throws -> SQLiteChunkStore { try StoreDirectory.open(in: root + "/" + name) }
}

func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

@Suite(.serialized) struct SyncRoundTripTests {
    /// What two stores must agree on: branches, tags, and each branch's log and root.
    func expectSameHistory(_ a: TempStore, _ b: Repository, branches: [String] = ["main"]) throws {
        for br in branches {
            let ha = try a.chunks.ref(RefName.branch(br).description)
            let hb = try b.chunks.ref(RefName.branch(br).description)
            #expect(ha == hb, "branch \(br)")
            if let ha {
                #expect(try a.repo.log(from: ha).map(\.hash) == b.log(from: ha).map(\.hash))
                #expect(try a.reachable([ha]).isSubset(of: Set(try allHashes(b.chunks))))
            }
        }
    }

    func allHashes(_ s: any ChunkStore) throws -> [Hash] {
        var out: [Hash] = []
        try s.forEachHash { out.append($0) }
        return out
    }

    @Test func cloneFetchPullAndPushAmongThreeStoresOverHTTPAndOnDisk() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let hubURL = server.url + "/hub"

        // A pushes its history to the hub over HTTP.
        let a = try TempStore()
        try a.putMap("big", count: 20_000)
        try a.commit("one")
        try a.set("/note", .string("hello"))
        try a.commit("two")
        try a.repo.setTag("v1", at: try a.chunks.ref("heads/main")!, force: false)
        try Remotes(a.chunks).add("origin", url: hubURL, token: nil)
        let sa = a.session(HTTPRemote(url: hubURL, token: nil))
        let first = try await sa.push(branch: "main", tags: true)
        #expect(first.updated.count == 2)
        #expect(try a.chunks.ref("remotes/origin/main") == a.chunks.ref("heads/main"))

        // C clones the hub over HTTP: every branch and tag, origin set, main checked out.
        let cDir = NSTemporaryDirectory() + "cairn-clone-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: cDir) }
        let (cStore, resuming) = try Clone.prepare(directory: cDir, url: hubURL, token: nil)
        #expect(!resuming)
        let c = Repository(chunks: cStore)
        _ = try await Clone.run(SyncSession(repo: c, remoteName: "origin", remote: HTTPRemote(url: hubURL, token: nil)), resuming: false)
        try expectSameHistory(a, c)
        #expect(try c.tags().map(\.name) == ["v1"])
        #expect(try c.currentBranch() == "main")
        #expect(try Remotes(cStore).get("origin")?.url == hubURL)
        #expect(try cStore.setting(Clone.pendingSetting) == nil)

        // C changes three rows and pushes; A pulls: a fast-forward.
        for k in ["k00000001", "k00010000", "k00019999"] { try c.edit(at: ValuePath(parsing: "/big/\(k)"), value: .string("c")) }
        let cCommit = try c.commitWorkingSet(message: "three", author: "c", date: 1_700_000_100)
        let sc = SyncSession(repo: c, remoteName: "origin", remote: HTTPRemote(url: hubURL, token: nil))
        let pushed = try await sc.push(branch: "main")
        #expect(pushed.chunksSent < 20)
        let pulled = try await sa.pull(author: "a")
        #expect(pulled.merge.kind == .fastForward)
        #expect(try a.chunks.ref("heads/main") == cCommit.hash)
        #expect(try a.repo.workingRoot().hash == c.root(of: cCommit).hash)

        // D clones A on disk; D commits and pushes back to A on disk; A's history follows.
        let d = try TempStore()
        let sd = d.session(a.local())
        _ = try await sd.fetch(createBranches: true)
        #expect(try d.chunks.ref("heads/main") == cCommit.hash)
        try d.set("/note", .string("from d"))
        let dCommit = try d.commit("d")
        _ = try await sd.push(branch: "main")
        #expect(try a.chunks.ref("heads/main") == dCommit.hash)
        #expect(try a.repo.workingRoot().hash == d.repo.root(of: dCommit).hash, "A's working set follows the pushed commit")
        // And A pushes it on to the hub; C fetches it: all three agree.
        _ = try await sa.push(branch: "main")
        _ = try await sc.fetch()
        #expect(try cStore.ref("remotes/origin/main") == dCommit.hash)
        _ = try await sc.pull(author: "c")
        try expectSameHistory(a, c)
        try expectSameHistory(a, d.repo)
        cStore.close()
    }

    @Test func aPushThatIsNotAFastForwardIsRefusedUnlessForced() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore(), b = try TempStore()
        try a.set("/x", .int(1))
        try a.commit("a1")
        _ = try await a.session(HTTPRemote(url: url, token: nil)).push(branch: "main")
        try b.set("/x", .int(2))
        let b1 = try b.commit("b1")
        let sb = b.session(HTTPRemote(url: url, token: nil))
        await #expect(throws: SyncError.self) { try await sb.push(branch: "main") }
        let hub = try folder.open()
        #expect(try hub.ref("heads/main") == a.chunks.ref("heads/main"))
        _ = try await sb.push(branch: "main", force: true)
        #expect(try hub.ref("heads/main") == b1.hash)
        // A's tracking ref is stale now: A's next push is refused by the server, not lost.
        try a.set("/x", .int(3))
        try a.commit("a2")
        let sa = a.session(HTTPRemote(url: url, token: nil))
        do {
            _ = try await sa.push(branch: "main")
            Issue.record("a stale push went through")
        } catch let e as SyncError {
            #expect(e.exitCode == 1)
            #expect(e.description.contains("pull first"))
        }
        #expect(try hub.ref("heads/main") == b1.hash)
        // --force is a lease on what A last saw: it does not overwrite b1, which A never fetched.
        do {
            _ = try await sa.push(branch: "main", force: true)
            Issue.record("a forced push overwrote a commit it had not seen")
        } catch let e as SyncError {
            #expect(e.exitCode == 1, "\(e)")
        }
        #expect(try hub.ref("heads/main") == b1.hash)
        _ = try await sa.fetch()
        _ = try await sa.push(branch: "main", force: true)
        #expect(try hub.ref("heads/main") == a.chunks.ref("heads/main"))
        hub.close()
    }

    /// Tracking refs that say the remote has a commit it no longer has (a store restored from
    /// an older copy): the push notices and sends what is missing.
    @Test func aPushRecoversFromTrackingRefsTheRemoteNoLongerMatches() async throws {
        let a = try TempStore()
        try a.putMap("big", count: 5000)
        let one = try a.commit("one")
        let dir = NSTemporaryDirectory() + "cairn-restored-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let remote = try LocalRemote(directory: try { try StoreDirectory.create(in: dir).close(); return dir }())
            _ = try await a.session(remote).push(branch: "main")
            (remote.service.chunks as? SQLiteChunkStore)?.close()
        }
        try FileManager.default.removeItem(atPath: dir)
        try StoreDirectory.create(in: dir).close()
        let remote = try LocalRemote(directory: dir)
        defer { (remote.service.chunks as? SQLiteChunkStore)?.close() }
        #expect(try a.chunks.ref("remotes/origin/main") == one.hash)
        _ = try await a.session(remote).push(branch: "main")
        #expect(try remote.service.chunks.ref("heads/main") == one.hash)
        #expect(try remote.service.chunks.stats().chunks == a.reachable([one.hash]).count)
    }

    /// An edit made from the branch's commit does not land once a push has moved the branch.
    @Test func anEditBasedOnAnOldCommitIsRefusedAfterAPush() throws {
        let a = try TempStore()
        try a.set("/x", .int(1))
        let one = try a.commit("one")
        try a.set("/x", .int(2))
        let two = try a.repo.commitWorkingSet(message: "two", author: "t")
        if let w = try a.chunks.ref("working/main") { _ = try a.chunks.compareAndSwapRef("working/main", expected: w, new: nil) }
        _ = try a.chunks.compareAndSwapRef("heads/main", expected: two.hash, new: one.hash)
        let seen = try a.repo.workingRoot()  // as of one, implied
        _ = try a.chunks.compareAndSwapRef("heads/main", expected: one.hash, new: two.hash)  // a push lands
        #expect(throws: RepositoryError.self) { try a.repo.setWorkingRoot(try seen.editing([(.string("y"), .int(3))]), expected: seen) }
        #expect(try a.chunks.ref("working/main") == nil)
    }

    @Test func twoPushesRacingForOneBranchOneWins() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let base = try TempStore()
        try base.putMap("big", count: 5000)
        try base.commit("base")
        _ = try await base.session(HTTPRemote(url: url, token: nil)).push(branch: "main")
        for round in 0..<4 {
            var stores: [TempStore] = []
            for i in 0..<2 {
                let s = try TempStore()
                _ = try await s.session(HTTPRemote(url: url, token: nil)).fetch(createBranches: true)
                try s.set("/big/k0000000\(i)", .string("round \(round) side \(i)"))
                try s.commit("side \(i)")
                stores.append(s)
            }
            let s0 = stores[0].session(HTTPRemote(url: url, token: nil)), s1 = stores[1].session(HTTPRemote(url: url, token: nil))
            async let r0 = attempt { try await s0.push(branch: "main") }
            async let r1 = attempt { try await s1.push(branch: "main") }
            let results = await [r0, r1]
            let wins = results.filter { if case .success = $0 { true } else { false } }
            #expect(wins.count == 1, "round \(round)")
            let hub = try folder.open()
            let winner = try results.firstIndex { if case .success = $0 { true } else { false } }.map { try stores[$0].chunks.ref("heads/main") }
            #expect(try hub.ref("heads/main") == winner ?? nil)
            hub.close()
        }
    }

    @Test func pullWithDivergedHistoriesMergesByTheRulesInTheData() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore()
        try a.set("/players", try JSON.parse(#"{"ann": {"score": 10}, "bob": {"score": 1}}"#, store: a.repo.store))
        _ = try a.repo.setRule("/players/*/score", to: .counter)
        try a.commit("base")
        let sa = a.session(HTTPRemote(url: url, token: nil))
        _ = try await sa.push(branch: "main")
        let b = try TempStore()
        let sb = b.session(HTTPRemote(url: url, token: nil))
        _ = try await sb.fetch(createBranches: true)
        try a.set("/players/ann/score", .int(15))
        try a.commit("a +5")
        _ = try await sa.push(branch: "main")
        try b.set("/players/ann/score", .int(13))
        try b.set("/players/bob/score", .int(2))
        try b.commit("b +3")
        let r = try await sb.pull(author: "b")
        #expect(r.merge.kind == .merged)
        let root = try b.repo.root(of: b.repo.head()!)
        #expect(try ValuePath(parsing: "/players/ann/score").resolve(in: .map(root)) == .int(18))
        #expect(try ValuePath(parsing: "/players/bob/score").resolve(in: .map(root)) == .int(2))
        #expect(try b.repo.head()!.parents.count == 2)
    }

    @Test func aPushToABranchWithUncommittedChangesThereIsRefused() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore()
        try a.set("/x", .int(1))
        try a.commit("one")
        let sa = a.session(HTTPRemote(url: url, token: nil))
        _ = try await sa.push(branch: "main")
        // Someone edits the hub's main locally, without committing.
        let hubStore = try folder.open()
        let hub = Repository(chunks: hubStore)
        try hub.edit(at: ValuePath(parsing: "/y"), value: .int(9))
        try a.set("/x", .int(2))
        try a.commit("two")
        do {
            _ = try await sa.push(branch: "main")
            Issue.record("the push went through")
        } catch let e as SyncError {
            #expect(e.description.contains("uncommitted"))
        }
        // Committed there, the push is a non-fast-forward; after a pull it goes.
        try hub.commitWorkingSet(message: "hub", author: "hub")
        _ = try await sa.pull(author: "a")
        _ = try await sa.push(branch: "main")
        #expect(try hubStore.ref("heads/main") == a.chunks.ref("heads/main"))
        hubStore.close()
    }

    @Test func tagsDeletesRetriesAndPrune() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore()
        try a.set("/x", .int(1))
        let one = try a.commit("one")
        try a.repo.setTag("v1", at: one.hash, force: false)
        try a.repo.createBranch("feature", at: one.hash)
        let sa = a.session(HTTPRemote(url: url, token: nil))
        _ = try await sa.push(branch: "main", tags: true)
        _ = try await sa.push(branch: "feature")
        let hub = try folder.open()
        #expect(try hub.ref("tags/v1") == one.hash)
        // A retried push whose ref is there already succeeds, sending nothing.
        let remote = HTTPRemote(url: url, token: nil)
        let again = try await remote.push([RefUpdate(name: "heads/main", old: nil, new: one.hash)]) { .empty }
        #expect(again == [RefUpdateResult(name: "heads/main", outcome: .ok)])
        // Moving a tag needs force.
        try a.set("/x", .int(2))
        let two = try a.commit("two")
        try a.repo.setTag("v1", at: two.hash, force: true)
        await #expect(throws: SyncError.self) { try await sa.push(branch: "main", tags: true) }
        #expect(try hub.ref("tags/v1") == one.hash)
        #expect(try hub.ref("heads/main") == two.hash, "the branch moved though the tag did not")
        _ = try await sa.push(branch: "main", force: true, tags: true)
        #expect(try hub.ref("tags/v1") == two.hash)
        // A second store sees feature, then prunes it once it is deleted.
        let b = try TempStore()
        let sb = b.session(HTTPRemote(url: url, token: nil))
        _ = try await sb.fetch()
        #expect(try b.chunks.ref("remotes/origin/feature") == one.hash)
        _ = try await sa.push(branch: "feature", delete: true)
        #expect(try hub.ref("heads/feature") == nil)
        _ = try await sb.fetch()
        #expect(try b.chunks.ref("remotes/origin/feature") == one.hash, "kept without --prune")
        let pruned = try await sb.fetch(prune: true)
        #expect(try b.chunks.ref("remotes/origin/feature") == nil)
        #expect(pruned.updated.contains { $0.ref == "remotes/origin/feature" && $0.new == nil })
        hub.close()
    }

    /// The 3-row change of the performance table, on a 100,000-entry map: a push is one
    /// request, a pull one (`fetch-refs`), and together they stay far under 32 KiB.
    @Test func aSmallChangeIsAFewChunksInOneOrTwoRequests() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore()
        try a.putMap("big", count: 100_000)
        try a.commit("one")
        _ = try await a.session(HTTPRemote(url: url, token: nil)).push(branch: "main")
        let b = try TempStore()
        _ = try await b.session(HTTPRemote(url: url, token: nil)).fetch(createBranches: true)
        try b.chunks.setSetting("core.head", "main")
        for k in ["k00000001", "k00000002", "k00000003"] { try a.set("/big/\(k)", .string("three")) }
        try a.commit("three")
        let pushRemote = HTTPRemote(url: url, token: nil)
        _ = try await a.session(pushRemote).push(branch: "main")
        #expect(pushRemote.counters.requests == 1, "the tracking ref is right: one push")
        let pullRemote = HTTPRemote(url: url, token: nil)
        let pulled = try await b.session(pullRemote).pull(author: "b")
        #expect(pulled.merge.kind == .fastForward)
        #expect(pullRemote.counters.requests == 1, "the refs and the chunks in one answer")
        let bytes = pushRemote.counters.sent + pushRemote.counters.received + pullRemote.counters.sent + pullRemote.counters.received
        #expect(bytes < 32 * 1024, "\(bytes) bytes on the wire")
        #expect(try b.chunks.ref("heads/main") == a.chunks.ref("heads/main"))
    }

    /// A push larger than one request's limits goes as several requests, each a whole
    /// children-first stream; the refs move with the last.
    @Test func aLargePushIsSplitIntoRequests() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root) { $0.limits.maxChunksPerRequest = 1100 }
        defer { Task { await server.stop() } }
        let a = try TempStore()
        try a.putMap("big", count: 40_000)
        let c = try a.commit("one")
        let remote = HTTPRemote(url: server.url + "/hub", token: nil)
        remote.pushRequestBytes = 64 * 1024
        remote.pushRequestChunks = 1100
        _ = try await a.session(remote).push(branch: "main")
        let hub = try folder.open()
        defer { hub.close() }
        #expect(try hub.ref("heads/main") == c.hash)
        #expect(try hub.stats().chunks == a.reachable([c.hash]).count)
        // has requests, then several pushes.
        #expect(remote.counters.requests >= 5, "\(remote.counters.requests) requests")
    }

    /// A fast-forward pull moves the branch with the fetch; with uncommitted changes it goes
    /// through the merge, which carries them over; a working set equal to HEAD follows.
    @Test func fastForwardPullsKeepTheWorkingSetRight() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore(), b = try TempStore()
        try a.set("/x", .int(1))
        try a.set("/y", .int(1))
        try a.commit("one")
        let sa = a.session(HTTPRemote(url: url, token: nil)), sb = b.session(HTTPRemote(url: url, token: nil))
        _ = try await sa.push(branch: "main")
        _ = try await sb.pull(author: "b")
        // b's working set exists but equals HEAD (an edit undone).
        try b.set("/x", .int(5))
        try b.set("/x", .int(1))
        try a.set("/x", .int(2))
        let two = try a.commit("two")
        _ = try await sa.push(branch: "main")
        let r1 = try await sb.pull(author: "b")
        #expect(r1.merge.kind == .fastForward)
        #expect(try b.chunks.ref("heads/main") == two.hash)
        #expect(try b.repo.workingRoot().hash == a.repo.root(of: two).hash)
        // Uncommitted changes on b: the pull fast-forwards and keeps them on top.
        try b.set("/y", .int(7))
        try a.set("/x", .int(3))
        let three = try a.commit("three")
        _ = try await sa.push(branch: "main")
        let r2 = try await sb.pull(author: "b")
        #expect(r2.merge.kind == .fastForward)
        #expect(try b.chunks.ref("heads/main") == three.hash)
        let root = try b.repo.workingRoot()
        #expect(try root.get(.string("x")) == .int(3))
        #expect(try root.get(.string("y")) == .int(7))
    }
}
