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
