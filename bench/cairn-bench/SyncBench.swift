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

/// `sync-incr STORE CLONE URL TABLE`: the 3-row change of doltlite_ref.py, timed around the
/// library calls as doltlite's are: STORE changes three rows' `score` and commits (not timed),
/// pushes to URL (timed), then CLONE pulls (timed). Prints the times, and the bytes and
/// requests each way that the HTTP client counted.
func syncIncremental(storeDir: String, cloneDir: String, url: String, table: String) async throws {
    let chunks = try StoreDirectory.open(in: storeDir)
    defer { chunks.close() }
    let repo = Repository(chunks: chunks)
    let stamp = Int64(clockMs() * 1000)
    for k in ["k00000001", "k00000002", "k00000003"] {
        try repo.edit(at: ValuePath(parsing: "/\(table)/\(k)/score"), value: .int(-3 - stamp % 1000))
    }
    try repo.commitWorkingSet(message: "three", author: "bench")
    // doltlite's figures come from a process that pushed and cloned before: its client is warm.
    // So is this one: its connection is open and the tracking refs are fresh.
    let pushRemote = HTTPRemote(url: url, token: nil)
    let push = SyncSession(repo: repo, remoteName: "origin", remote: pushRemote)
    _ = try await push.fetch()
    let pushBase = (pushRemote.counters.sent + pushRemote.counters.received, pushRemote.counters.requests)
    var t = clockMs()
    _ = try await push.push(branch: "main")
    figure("push_incr_ms", clockMs() - t, "ms")
    figure("push_incr_bytes", Double(pushRemote.counters.sent + pushRemote.counters.received - pushBase.0), "B")
    figure("push_incr_requests", Double(pushRemote.counters.requests - pushBase.1), "requests")

    let cloneChunks = try StoreDirectory.open(in: cloneDir)
    defer { cloneChunks.close() }
    let pullRemote = HTTPRemote(url: url, token: nil)
    let pull = SyncSession(repo: Repository(chunks: cloneChunks), remoteName: "origin", remote: pullRemote)
    _ = try await pullRemote.listRefs()
    let pullBase = (pullRemote.counters.sent + pullRemote.counters.received, pullRemote.counters.requests)
    t = clockMs()
    let r = try await pull.pull(author: "bench")
    figure("pull_incr_ms", clockMs() - t, "ms")
    precondition(r.merge.kind == .fastForward)
    figure("pull_incr_bytes", Double(pullRemote.counters.sent + pullRemote.counters.received - pullBase.0), "B")
    figure("pull_incr_requests", Double(pullRemote.counters.requests - pullBase.1), "requests")
}

func clockMs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}
