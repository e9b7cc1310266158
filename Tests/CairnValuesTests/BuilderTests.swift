@testable import CairnStore
import Foundation
import Testing
@testable import CairnValues

@Suite struct UnsortedMapBuilderTests {
    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "cairn-runs-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Spilled runs merge to the same tree a sorted build gives, later duplicates winning.
    @Test(arguments: [1 << 30, 20_000])
    func sameTreeAsSortedBuild(runBytes: Int) throws {
        var rng = SplitMix(seed: 12)
        let store = memoryNodeStore()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = UnsortedMapBuilder(store: store, runBytes: runBytes, directory: dir)
        var model: [Int: Value] = [:]
        for _ in 0..<12_000 {
            let i = Int.random(in: 0..<8000, using: &rng)
            let v = Value.int(Int64.random(in: 0...1000, using: &rng))
            model[i] = v
            try builder.append(key: try row(i).0.encoded(store: store), value: try v.encoded(store: store))
        }
        // Spilled runs have no names: a process killed now leaves nothing in the directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "spilled runs are unnamed")
        let built = try builder.finish()
        let sorted = try ProllyMap.build(model.map { (row($0.key).0, $0.value) }, store: store)
        #expect(built.hash == sorted.hash)
        #expect(built.count == UInt64(model.count))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "spilled runs are removed")
    }

    /// Sorted input streams straight through; a later key out of order switches to runs, and
    /// a duplicate of a streamed key is still caught, with both positions.
    @Test func sortedPrefixThenUnsorted() throws {
        let store = memoryNodeStore()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = UnsortedMapBuilder(store: store, runBytes: 300, directory: dir, duplicates: .refuse)
        for i in [1, 2, 3, 10, 4, 11, 2] { try builder.append(key: try Value.int(Int64(i)).encoded(store: store), value: [0x00]) }
        do {
            _ = try builder.finish()
            Issue.record("a duplicate key was accepted")
        } catch let e as UnsortedMapBuilder.DuplicateKey {
            #expect(e.first == 1 && e.second == 6)
        }
        let ok = UnsortedMapBuilder(store: store, runBytes: 300, directory: dir)
        let keys = [1, 2, 3, 10, 4, 11, 2, 7] + Array(20..<400)
        for i in keys { try ok.append(key: try Value.int(Int64(i)).encoded(store: store), value: try Value.int(Int64(i)).encoded(store: store)) }
        let built = try ok.finish()
        #expect(try built.hash == ProllyMap.build(Set(keys).map { (Value.int(Int64($0)), Value.int(Int64($0))) }, store: store).hash)
    }

    /// Keys of every kind, ints across the sign, strings sharing long prefixes or holding zero
    /// bytes, long strings stored out of line: the normalized prefixes that speed the sort
    /// never contradict the order of values, and the merged tree equals a sorted build.
    static func mixedKey(_ rng: inout SplitMix) -> Value {
        switch Int.random(in: 0..<9, using: &rng) {
        case 0: return .int(Int64.random(in: -300...300, using: &rng))
        case 1: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 2: return .string("shared-prefix-of-twenty-" + String(Int.random(in: 0..<500, using: &rng)))
        case 3: return .string(String(repeating: "a", count: Int.random(in: 0..<20, using: &rng)) + (Bool.random(using: &rng) ? "\u{0}" : ""))
        case 4: return .float([-1.5, 0.0, -0.0, 2.25, .infinity, -.infinity, .nan][Int.random(in: 0..<7, using: &rng)])
        case 5: return .bool(Bool.random(using: &rng))
        case 6: return .null
        case 7: return .string(String(repeating: "z", count: 4097 + Int.random(in: 0..<3, using: &rng)))
        default: return .string(String(UnicodeScalar(UInt8.random(in: 32...126, using: &rng))) + "é" + String(Int.random(in: 0..<50, using: &rng)))
        }
    }

    @Test func normalizedPrefixesAgreeWithTheOrder() throws {
        var rng = SplitMix(seed: 31)
        let store = memoryNodeStore()
        let keys = try (0..<600).map { _ in try Self.mixedKey(&rng).encoded(store: store) }
        for a in keys {
            for b in keys.prefix(200) {
                let (na, nb) = (a.withUnsafeBytes { normalizedPrefix($0) }, b.withUnsafeBytes { normalizedPrefix($0) })
                let prefixOrder = na.0 != nb.0 ? (na.0 < nb.0 ? -1 : 1) : (na.1 != nb.1 ? (na.1 < nb.1 ? -1 : 1) : 0)
                if prefixOrder != 0 { #expect(KeyOrder.compare(a, b) == prefixOrder) }
            }
        }
    }

    @Test(arguments: [1 << 30, 3_000])
    func mixedKindsMergeLikeASortedBuild(runBytes: Int) throws {
        var rng = SplitMix(seed: 32)
        let store = memoryNodeStore()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = UnsortedMapBuilder(store: store, runBytes: runBytes, directory: dir)
        var model: [[UInt8]: Value] = [:]
        var keyValues: [[UInt8]: Value] = [:]
        for i in 0..<3_000 {
            let k = Self.mixedKey(&rng)
            let kb = try k.encoded(store: store)
            model[kb] = .int(Int64(i))
            keyValues[kb] = k
            try builder.append(key: kb, value: try Value.int(Int64(i)).encoded(store: store))
        }
        let built = try builder.finish()
        let sorted = try ProllyMap.build(model.map { (keyValues[$0.key]!, $0.value) }, store: store)
        #expect(built.hash == sorted.hash)
        #expect(built.count == UInt64(model.count))
    }

    @Test func refusesDuplicatesWhenAsked() throws {
        let store = memoryNodeStore()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = UnsortedMapBuilder(store: store, runBytes: 200, directory: dir, duplicates: .refuse)
        for i in [5, 3, 9, 1, 3, 7] {
            try builder.append(key: try Value.int(Int64(i)).encoded(store: store), value: [0x00])
        }
        do {
            _ = try builder.finish()
            Issue.record("a duplicate key was accepted")
        } catch let e as UnsortedMapBuilder.DuplicateKey {
            #expect(e.first == 1 && e.second == 4)
        }
    }
}

/// A store whose writes fail: the node store must report it, not lose it.
final class FailingChunkStore: ChunkStore, @unchecked Sendable {
    let inner = MemoryChunkStore()
    func get(_ hash: Hash) throws -> Chunk? { try inner.get(hash) }
    func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk] { try inner.getMany(hashes) }
    func has(_ hash: Hash) throws -> Bool { try inner.has(hash) }
    func hasMany(_ hashes: [Hash]) throws -> Set<Hash> { try inner.hasMany(hashes) }
    func put(_ batch: [ChunkWrite]) throws { throw StoreError.io("disk full") }
    func ref(_ name: String) throws -> Hash? { try inner.ref(name) }
    func compareAndSwapRef(_ name: String, expected: Hash?, new: Hash?) throws -> Bool {
        try inner.compareAndSwapRef(name, expected: expected, new: new)
    }
    func compareAndSwapRefs(_ moves: [RefMove]) throws -> Bool { try inner.compareAndSwapRefs(moves) }
    func refs(prefix: String) throws -> [(name: String, hash: Hash)] { try inner.refs(prefix: prefix) }
    func stats() throws -> StoreStats { try inner.stats() }
    func forEachHash(_ body: (Hash) throws -> Void) throws { try inner.forEachHash(body) }
    func hashes(in range: ClosedRange<Hash>, limit: Int) throws -> [Hash] { try inner.hashes(in: range, limit: limit) }
}

@Suite struct NodeStoreTests {
    @Test func writeFailuresSurfaceAtFlush() throws {
        let store = NodeStore(FailingChunkStore(), flushBytes: 4096)
        // Large enough to hand several batches to the writer before the final flush.
        #expect(throws: StoreError.self) {
            _ = try ProllyMap.build(sorted: (0..<5000).map(row), store: store)
            try store.flush()
        }
    }

    @Test func nodesAreReadableBeforeTheyAreStored() throws {
        let store = NodeStore(MemoryChunkStore(), flushBytes: 8192)
        let m = try ProllyMap.build(sorted: (0..<5000).map(row), store: store)
        for i in stride(from: 0, to: 5000, by: 250) { #expect(try m.get(row(i).0) == row(i).1) }
        try store.flush()
        #expect(try store.chunks.has(m.hash))
        #expect(try store.chunks.stats().chunks > 10)
    }
}
