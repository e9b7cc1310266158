import CairnStore
import CairnValues
import CairnVersioning
import CairnSync
import CairnRemote
#if canImport(Glibc)
import Glibc
#endif

/// `sync-plan DIR`: what a push of HEAD to a receiver holding HEAD~1 sends.
func syncPlan(storeDir: String) async throws {
    let chunks = try StoreDirectory.open(in: storeDir)
    defer { chunks.close() }
    let repo = Repository(chunks: chunks)
    let head = try repo.head()!
    let planner = SendPlanner(source: chunks, receiverHas: nil)
    let plan = try await planner.plan(wants: [head.hash], haves: head.parents)
    let stored = try chunks.getStored(plan)
    figure("plan_chunks", Double(plan.count), "chunks")
    figure("plan_bytes", Double(stored.reduce(0) { $0 + $1.bytes.count }), "B")
    figure("plan_read", Double(planner.chunksRead), "chunks")
    for c in stored.sorted(by: { $0.bytes.count > $1.bytes.count }).prefix(20) {
        let d = try ChunkReferences.describe(try c.verified())
        print("  \(c.hash) \(c.bytes.count)B level \(d.treeLevel.map(String.init) ?? "value") refs \(d.refs.count)")
    }
}

/// `sync-incr STORE CLONE URL TABLE [ROUNDS]`: the 3-row change of doltlite_ref.py, timed around
/// the library calls as doltlite's are: STORE changes three rows' `score` and commits (not
/// timed), pushes to URL (timed), then CLONE pulls (timed), ROUNDS times (default 6) in one
/// process.
///
/// doltlite times its push and pull on connections that have just pushed the whole store and
/// cloned it. Here the first round is what a process that has not yet written either store
/// pays (its first write after SQLite's last checkpoint syncs the WAL header, its statements
/// are prepared, its pages not yet read): it is printed as `*_cold_ms`. The figures compared
/// with doltlite's are the medians of the later rounds, made by a process that has written
/// both stores before, as doltlite's connections have. Bytes and requests are the last round's.
func syncIncremental(storeDir: String, cloneDir: String, url: String, table: String, rounds: Int) async throws {
    let chunks = try StoreDirectory.open(in: storeDir)
    defer { chunks.close() }
    let repo = Repository(chunks: chunks)
    let cloneChunks = try StoreDirectory.open(in: cloneDir)
    defer { cloneChunks.close() }
    let pushRemote = HTTPRemote(url: url, token: nil)
    let push = SyncSession(repo: repo, remoteName: "origin", remote: pushRemote)
    let pullRemote = HTTPRemote(url: url, token: nil)
    let pull = SyncSession(repo: Repository(chunks: cloneChunks), remoteName: "origin", remote: pullRemote)
    // The connections are open and the tracking refs fresh before anything is timed.
    _ = try await push.fetch()
    _ = try await pullRemote.listRefs()
    var pushes: [Double] = [], pulls: [Double] = []
    var pushCounts = (bytes: 0, requests: 0), pullCounts = (bytes: 0, requests: 0)
    for _ in 0..<max(2, rounds) {
        let stamp = Int64(clockMs() * 1000)
        for k in ["k00000001", "k00000002", "k00000003"] {
            try repo.edit(at: ValuePath(parsing: "/\(table)/\(k)/score"), value: .int(-3 - stamp % 1000))
        }
        try repo.commitWorkingSet(message: "three", author: "bench")
        let pushBase = (pushRemote.counters.sent + pushRemote.counters.received, pushRemote.counters.requests)
        var t = clockMs()
        _ = try await push.push(branch: "main")
        pushes.append(clockMs() - t)
        pushCounts = (pushRemote.counters.sent + pushRemote.counters.received - pushBase.0, pushRemote.counters.requests - pushBase.1)

        let pullBase = (pullRemote.counters.sent + pullRemote.counters.received, pullRemote.counters.requests)
        t = clockMs()
        let r = try await pull.pull(author: "bench")
        pulls.append(clockMs() - t)
        precondition(r.merge.kind == .fastForward)
        pullCounts = (pullRemote.counters.sent + pullRemote.counters.received - pullBase.0, pullRemote.counters.requests - pullBase.1)
    }
    func median(_ xs: ArraySlice<Double>) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    figure("push_incr_ms", median(pushes.dropFirst()), "ms")
    figure("pull_incr_ms", median(pulls.dropFirst()), "ms")
    figure("push_incr_cold_ms", pushes[0], "ms")
    figure("pull_incr_cold_ms", pulls[0], "ms")
    figure("push_incr_bytes", Double(pushCounts.bytes), "B")
    figure("push_incr_requests", Double(pushCounts.requests), "requests")
    figure("pull_incr_bytes", Double(pullCounts.bytes), "B")
    figure("pull_incr_requests", Double(pullCounts.requests), "requests")
}

func clockMs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}
