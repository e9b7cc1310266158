import CairnStore
import CairnValues
import CairnVersioning
@testable import CairnSync
import Foundation
import Testing

/// The planner sends exactly what the receiver lacks, children first.
@Suite struct SendPlannerTests {
    /// Checks that `plan` is children first against `receiver` and covers every chunk of
    /// `wants` the receiver lacks.
    func checkPlan(_ plan: [Hash], source: TempStore, wants: [Hash], receiverHas: Set<Hash>) throws {
        let needed = try source.reachable(wants).subtracting(receiverHas)
        #expect(Set(plan).isSuperset(of: needed))
        var placed = receiverHas
        for h in plan {
            let refs = try ChunkReferences.of(try source.chunks.get(h)!)
            #expect(refs.allSatisfy { placed.contains($0) }, "chunk \(h) comes before one of its children")
            placed.insert(h)
        }
        #expect(Set(plan).count == plan.count)
    }

    @Test func aFirstPushAsksTheReceiverAndSendsEverything() async throws {
        let a = try TempStore()
        try a.putMap("big", count: 30_000)
        let c = try a.commit("one")
        let planner = SendPlanner(source: a.chunks, receiverHas: { _ in [] })
        let plan = try await planner.plan(wants: [c.hash], haves: [])
        let all = try a.reachable([c.hash])
        #expect(Set(plan) == all)
        try checkPlan(plan, source: a, wants: [c.hash], receiverHas: [])
    }

    @Test func aSmallChangeAgainstAKnownHeadReadsAndSendsAFewChunks() async throws {
        let a = try TempStore()
        try a.putMap("big", count: 100_000)
        let one = try a.commit("one")
        for k in ["k00000001", "k00050000", "k00099999", "k00000002"] { try a.set("/big/\(k)", .string("changed")) }
        let two = try a.commit("two")
        let planner = SendPlanner(source: a.chunks, receiverHas: nil, oldLevelSlack: 0)
        let plan = try await planner.plan(wants: [two.hash], haves: [one.hash])
        let exact = try a.reachable([two.hash]).subtracting(try a.reachable([one.hash]))
        #expect(Set(plan) == exact)
        #expect(plan.count < 20)
        #expect(planner.chunksRead < 60, "read \(planner.chunksRead) chunks")
        try checkPlan(plan, source: a, wants: [two.hash], receiverHas: try a.reachable([one.hash]))
    }

    @Test func historiesSendOnlyTheNewCommitsAndTheirValues() async throws {
        let a = try TempStore()
        try a.putMap("big", count: 20_000)
        var commits = [try a.commit("c0")]
        for i in 1...12 {
            try a.set("/big/k\(String(format: "%08d", i * 1000))", .int(Int64(i)))
            if i % 3 == 0 { try a.set("/extra\(i)", .string("x")) }
            commits.append(try a.commit("c\(i)"))
        }
        for have in [0, 4, 11] {
            let planner = SendPlanner(source: a.chunks, receiverHas: nil)
            let plan = try await planner.plan(wants: [commits.last!.hash], haves: [commits[have].hash])
            let old = try a.reachable([commits[have].hash])
            let exact = try a.reachable([commits.last!.hash]).subtracting(old)
            #expect(Set(plan) == exact, "against c\(have)")
            try checkPlan(plan, source: a, wants: [commits.last!.hash], receiverHas: old)
        }
    }

    /// Random edits, random haves (some unrelated), and a receiver that holds random
    /// complete subtrees: the plan always covers what is missing, in a storable order.
    @Test(arguments: 0..<6) func randomHistoriesAndReceivers(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let a = try TempStore()
        try a.putMap("big", count: 5_000 + Int(rng.next() % 20_000))
        var commits = [try a.commit("c0")]
        for i in 1...6 {
            for _ in 0..<Int(rng.next() % 40) {
                let k = String(format: "k%08d", Int(rng.next() % 30_000))
                try? a.set("/big/\(k)", rng.next() % 5 == 0 ? nil : .string("v\(rng.next() % 1000)"))
            }
            if rng.next() % 2 == 0 { try a.putMap("m\(i)", count: Int(rng.next() % 3000), salt: "\(i)") }
            commits.append(try a.commit("c\(i)"))
        }
        let want = commits.last!.hash
        let have = commits[Int(rng.next() % UInt64(commits.count))].hash
        // A receiver with the have's graph and a few random complete subtrees of the want's.
        var held = try a.reachable([have])
        let wanted = Array(try a.reachable([want])).sorted()
        for _ in 0..<5 { held.formUnion(try a.reachable([wanted[Int(rng.next() % UInt64(wanted.count))]])) }
        let receiver = held
        for haves in [[have], []] {
            let planner = SendPlanner(source: a.chunks, receiverHas: { hs in Set(hs.filter { receiver.contains($0) }) })
            let plan = try await planner.plan(wants: [want], haves: haves)
            try checkPlan(plan, source: a, wants: [want], receiverHas: held)
        }
    }
}

extension SendPlannerTests {
    /// A table as `import` makes it: three changed cells send a few leaves and their parents.
    @Test func threeChangedRowsOfAnImportedTable() async throws {
        let a = try TempStore()
        let csv = NSTemporaryDirectory() + "rows-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: csv) }
        var text = "id,name,score\n"
        for i in 0..<100_000 { text += String(format: "k%08d,name %d,%d\n", i, i * 7, i % 1000) }
        try text.write(toFile: csv, atomically: true, encoding: .utf8)
        try a.repo.importCSV(path: csv, table: "kv", options: .init(key: ["id"]), tempDirectory: NSTemporaryDirectory())
        let one = try a.commit("one")
        for k in ["k00000001", "k00000002", "k00000003"] { try a.set("/kv/\(k)/score", .int(-3)) }
        let two = try a.commit("three")
        // No slack: the receiver's side of a level is opened only when it is small.
        let planner = SendPlanner(source: a.chunks, receiverHas: nil, oldLevelSlack: 0)
        let plan = try await planner.plan(wants: [two.hash], haves: [one.hash])
        let exact = try a.reachable([two.hash]).subtracting(try a.reachable([one.hash]))
        #expect(Set(plan) == exact)
        let bytes = try a.chunks.getStored(plan).reduce(0) { $0 + $1.bytes.count }
        #expect(plan.count <= 12, "\(plan.count) chunks")
        #expect(bytes < 24 * 1024, "\(bytes) bytes")
    }
}

extension SendPlannerTests {
    /// A clone's stream: every chunk of a history once, children first, none of the skipped
    /// subtrees; the order is checked against a receiver that holds the skipped chunks.
    @Test(arguments: [false, true]) func aCloneStreamsEverythingChildrenFirst(resumed: Bool) async throws {
        let a = try TempStore()
        try a.putMap("big", count: 8_000)
        for i in 1...5 {
            try a.set("/big/k0000\(i)000", .int(Int64(i)))
            try a.putMap("m\(i % 2)", count: 500 * i, salt: "\(i)")
            try a.commit("c\(i)")
        }
        let head = try a.chunks.ref("heads/main")!
        let all = try a.reachable([head])
        var skip = Set<Hash>()
        if resumed {
            var rng = SplitMix64(seed: 3)
            let sorted = all.sorted()
            for _ in 0..<8 { skip.formUnion(try a.reachable([sorted[Int(rng.next() % UInt64(sorted.count))]])) }
        }
        let service = StoreService(store: a.chunks)
        var order: [Hash] = []
        for try await batch in try await service.fetchBatches(FetchRequest(wants: [head], haveChunks: Array(skip))) {
            order += batch.map(\.hash)
        }
        #expect(Set(order) == all.subtracting(skip))
        try checkPlan(order, source: a, wants: [head], receiverHas: skip)
    }
}

extension SendPlannerTests {
    /// Sync follows the references a store recorded at write time without reading chunks, so
    /// every writer must record all of a chunk's references: tables, documents, blobs, lists,
    /// working sets, merges with conflicts, commits, and chunks received by sync. Internal tree
    /// nodes are the exception: their references are in their bytes, and none are recorded.
    @Test func everyWriterRecordsEveryReference() async throws {
        let a = try TempStore()
        let csv = NSTemporaryDirectory() + "rows-\(UUID().uuidString).csv"
        let blob = NSTemporaryDirectory() + "blob-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: csv); try? FileManager.default.removeItem(atPath: blob) }
        var text = "id,name,note\n"
        for i in 0..<20_000 { text += "k\(i),name \(i),\(String(repeating: "x", count: i % 7 == 0 ? 3000 : 5))\n" }
        try text.write(toFile: csv, atomically: true, encoding: .utf8)
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }).write(to: URL(fileURLWithPath: blob))
        try a.repo.importCSV(path: csv, table: "t", options: .init(key: ["id"]), tempDirectory: NSTemporaryDirectory())
        try a.repo.importBlob(path: blob, name: "b")
        try a.set("/doc", try JSON.parse(#"{"list": [1, 2, {"deep": [3, 4]}], "long": "\#(String(repeating: "y", count: 70_000))"}"#, store: a.repo.store))
        try a.putMap("m", count: 30_000)
        let base = try a.commit("base")
        try a.repo.createBranch("other", at: base.hash)
        try a.set("/t/k1/name", .string("main"))
        try a.commit("main")
        try a.repo.checkout("other")
        try a.set("/t/k1/name", .string("other"))
        try a.commit("other")
        try a.repo.checkout("main")
        _ = try a.repo.mergeIntoCurrentBranch(try a.chunks.ref("heads/other")!, message: nil, author: "t")  // a conflict, kept
        // And a store that received it all by sync.
        let b = try TempStore()
        _ = try await b.session(a.local()).fetch(createBranches: true)
        for store in [a, b] {
            var checked = 0
            var all: [Hash] = []
            try store.chunks.forEachHash { all.append($0) }
            let recorded = try store.chunks.storedRefs(all)
            var internalNodes = 0
            for h in all {
                let described = try ChunkReferences.describe(try store.chunks.get(h)!)
                let actual = Set(described.refs)
                if let level = described.treeLevel, level > 0 {
                    // An internal node's references are in its bytes: none recorded.
                    #expect(recorded[h] == nil, "internal node \(h) recorded \(recorded[h]?.count ?? -1)")
                    internalNodes += 1
                } else {
                    #expect(recorded[h].map { Set($0).isSuperset(of: actual) } == true, "chunk \(h) recorded \(recorded[h]?.count ?? -1) of \(actual.count)")
                }
                checked += 1
            }
            #expect(checked > 100)
            #expect(internalNodes > 3)
        }
    }

    @Test func aFirstPushPlansFromRecordedReferencesAsFromTheChunks() async throws {
        let a = try TempStore()
        try a.putMap("big", count: 30_000)
        try a.set("/s", .string(String(repeating: "z", count: 50_000)))
        let c = try a.commit("one")
        let fromRecorded = try await SendPlanner(source: a.chunks, receiverHas: { _ in [] }).plan(wants: [c.hash], haves: [])
        let fromChunks = try await SendPlanner(source: a.chunks, receiverHas: { _ in [] }, useRecordedRefs: false).plan(wants: [c.hash], haves: [])
        #expect(Set(fromRecorded) == Set(fromChunks))
        try checkPlan(fromRecorded, source: a, wants: [c.hash], receiverHas: [])
    }
}
