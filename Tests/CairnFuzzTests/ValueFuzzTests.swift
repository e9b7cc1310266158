@testable import CairnStore
@testable import CairnValues
import CairnTables
import Foundation
import Testing

/// Random values of every kind, small and large (trees of several levels, strings and blobs
/// stored out of line), and the store that holds their chunks.
struct ValueGenerator {
    var rng: SplitMix64
    let store: NodeStore
    /// Tagged JSON writes tuples but does not read them back (docs/format.md).
    var tuples = true

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }

    mutating func text(_ n: Int) -> String {
        let alphabet: [String] = ["a", "b", "z", "0", " ", "é", "∂", "🙂", "~", "/", "\"", "\\", ",", "\n"]
        return (0..<n).map { _ in alphabet[below(alphabet.count)] }.joined()
    }

    mutating func scalar() -> Value {
        switch below(8) {
        case 0: return .null
        case 1: return .bool(below(2) == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> UInt64(below(64)))
        case 3: return .float(Double(Int64(bitPattern: rng.next()) >> 20) / 1024)
        case 4: return .counter(Int64(below(100)) - 50)
        case 5: return .float([0.0, -0.0, .infinity, -.infinity, .nan, 1e300][below(6)])
        default: return .string(text(below(12)))
        }
    }

    /// A value nested at most `depth` more levels; `big` allows multi-level trees.
    mutating func value(depth: Int, big: Bool = false) throws -> Value {
        if depth <= 0 { return scalar() }
        let n = big && below(4) == 0 ? 200 + below(3000) : below(6)
        switch below(11) {
        case 0: return .string(text(big && below(3) == 0 ? 5000 : below(40)))
        case 1: return .blob(try Blob.build((0..<(big ? below(20_000) : below(64))).map { UInt8(truncatingIfNeeded: $0 &* 31) }, store: store))
        case 2: return .list(try ProllyList.build(try (0..<n).map { _ in try value(depth: depth - 1) }, store: store))
        case 3, 4:
            let entries = try (0..<n).map { i in (Value.string("k\(i)"), try value(depth: depth - 1)) }
            return .map(try ProllyMap.build(entries, store: store))
        case 5: return .set(try ProllySet.build((0..<n).map { i in i % 2 == 0 ? .int(Int64(i)) : .string("s\(i)") }, store: store))
        case 6:
            let fields = try (0..<below(4)).map { i in ("f\(i)", try value(depth: depth - 1)) }
            return .struct(StructValue(name: below(2) == 0 ? "" : "Point", fields: fields))
        case 7 where tuples: return .tuple(try (0..<below(4)).map { _ in try value(depth: depth - 1) })
        case 8:
            // A Ref must name a stored chunk (a store refuses a dangling one): a Blob's root.
            let target = try Blob.build([UInt8](repeating: UInt8(below(256)), count: 2000), store: store)
            return .ref(ValueRef(target: target.root.hash, targetKind: .blob))
        default: return scalar()
        }
    }
}

/// Everything the value and node fuzzers need: a store, seed values with their chunks.
final class ValueCorpus: @unchecked Sendable {
    let chunks = MemoryChunkStore()
    let store: NodeStore
    var values: [Value] = []
    var encodings: [[UInt8]] = []

    init() throws {
        store = NodeStore(chunks)
        var g = ValueGenerator(rng: SplitMix64(seed: 11), store: store)
        for i in 0..<40 { values.append(try g.value(depth: 1 + i % 4, big: i % 3 == 0)) }
        // A table, as an import makes it.
        let dir = NSTemporaryDirectory() + "cairn-fuzz-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("id,name,score\n1,ann,3.5\n2,bob,\n3,\"c,d\",7\n".utf8).write(to: URL(fileURLWithPath: dir + "/t.csv"))
        values.append(.table(try TableImport.csv(path: dir + "/t.csv", options: .init(), store: store, tempDirectory: dir).table))
        encodings = try values.map { try $0.encoded(store: store) }
        try store.flush()
    }

    /// Every stored chunk: tree nodes of every kind and level.
    func storedChunks() throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        try chunks.forEachHash { h in if let c = try chunks.get(h) { out.append(c.data) } }
        return out.sorted { $0.count < $1.count }
    }
}

/// Reads all of a decoded value the ways the CLI does (iteration, lookups, export, the tree
/// checker, re-encoding), touching at most `budget` entries.
func exercise(_ v: Value, store: NodeStore, budget: inout Int, depth: Int = 0) throws {
    budget -= 1
    guard budget > 0, depth < 80 else { return }
    func root(_ r: TreeRoot, _ kind: TreeKind) throws {
        _ = try r.invariantProblems(kind: kind, store: store)
    }
    switch v {
    case .blob(let b):
        try root(b.root, .blob)
        var n = 0
        try b.forEachPiece { n += $0.count; budget -= 1; return budget > 0 }
        if b.count > 0 { _ = try b.read(offset: b.count / 2, length: 16) }
    case .list(let l):
        try root(l.root, .list)
        try l.forEach { try exercise($0, store: store, budget: &budget, depth: depth + 1); return budget > 0 }
        if l.count > 0 { _ = try l.element(at: l.count - 1) }
    case .map(let m):
        try root(m.root, .map)
        var first: Value?
        try m.forEach { k, v in
            first = first ?? k
            try exercise(k, store: store, budget: &budget, depth: depth + 1)
            try exercise(v, store: store, budget: &budget, depth: depth + 1)
            return budget > 0
        }
        if let first { _ = try m.get(first) }
    case .set(let s):
        try root(s.root, .set)
        try s.forEach { try exercise($0, store: store, budget: &budget, depth: depth + 1); return budget > 0 }
        if s.count > 0 { _ = try s.element(at: s.count - 1) }
    case .struct(let s):
        for f in s.fields { try exercise(f.value, store: store, budget: &budget, depth: depth + 1) }
    case .tuple(let xs):
        for x in xs { try exercise(x, store: store, budget: &budget, depth: depth + 1) }
    case .table(let t):
        try root(t.rows.root, .map)
        try t.forEachRow { _, _ in budget -= 1; return budget > 0 }
        try TableExport.table(t, format: .csv) { _ in }
    default:
        break
    }
    if depth == 0 {
        _ = try v.encoded(store: store)
        var w = JSONWriter(tagged: true)
        try w.write(v)
    }
}

/// What a decoder of stored bytes may throw: its refusal of malformed bytes, a chunk it
/// cannot find, a value it may not write back.
func isValueRefusal(_ e: any Error) -> Bool {
    e is DecodeError || e is ValueError || e is StoreError || e is ExportError
}

@Suite struct ValueFuzzTests {
    static let corpus = Result { try ValueCorpus() }

    /// A value's bytes as they appear inside a parent (`Value.decode`).
    static func decodeValue(_ bytes: [UInt8]) throws {
        let c = try corpus.get()
        let v = try Value.decode(bytes, store: c.store)
        var budget = 3000
        try exercise(v, store: c.store, budget: &budget)
        // Skipping and decoding agree on where a value ends.
        Finding.check((try? EncodedView.refs(bytes)) != nil, "decoded, but skipValue refuses it: \(bytes.prefix(64))")
    }

    @Test func valueDecoder() async throws {
        let c = try Self.corpus.get()
        await Fuzz.run("value", seeds: c.encodings, iterations: 30_000,
                       dictionary: (0..<0x24).map { [UInt8($0)] } + [[0x05, 0x80, 0x20]], acceptable: isValueRefusal) {
            try Self.decodeValue($0)
        }
    }

    @Test func valueRegressions() async {
        await Fuzz.replay("value", acceptable: isValueRefusal) { try Self.decodeValue($0) }
    }

    /// Encode then decode gives back the value, and the same bytes again.
    @Test func valueRoundTrip() throws {
        let c = try Self.corpus.get()
        var g = ValueGenerator(rng: SplitMix64(seed: Fuzz.seed("value-roundtrip")), store: c.store)
        for _ in 0..<(Fuzz.longRun ? 5000 : 300) {
            let v = try g.value(depth: 1 + g.below(4), big: g.below(8) == 0)
            let bytes = try v.encoded(store: c.store)
            let back = try Value.decode(bytes, store: c.store)
            #expect(back == v, "round trip changed \(v)")
            #expect(try back.encoded(store: c.store) == bytes)
        }
    }

    /// A stored chunk (tree node or value chunk), as sync, gc and fsck read it.
    static func decodeChunk(_ bytes: [UInt8]) throws {
        let c = try corpus.get()
        let chunk = Chunk(bytes)
        let described = try ChunkReferences.describe(chunk)
        guard described.treeLevel != nil else { return }
        let node = try Node(hash: chunk.hash, bytes: bytes)
        Finding.check(node.refs == described.refs, "Node and ChunkReferences disagree on the references")
        // Stored and reached through a Ref, as a hostile push would leave it.
        try c.chunks.put([ChunkWrite(chunk, refs: node.refs)])
        let root = TreeRoot(hash: chunk.hash, count: node.subtreeCount, height: node.level + 1)
        let value: Value = switch node.tag {
        case .blobLeaf, .blobNode: .blob(Blob(store: c.store, root: root))
        case .listLeaf, .listNode: .list(ProllyList(store: c.store, root: root))
        case .setLeaf, .setNode: .set(ProllySet(store: c.store, root: root))
        default: .map(ProllyMap(store: c.store, root: root))
        }
        var budget = 3000
        try exercise(value, store: c.store, budget: &budget)
    }

    @Test func treeNodeDecoder() async throws {
        let c = try Self.corpus.get()
        let chunks = try c.storedChunks()
        await Fuzz.run("node", seeds: Array(chunks.prefix(200)), iterations: 15_000,
                       dictionary: (0..<0x24).map { [UInt8($0)] }, acceptable: isValueRefusal) {
            try Self.decodeChunk($0)
        }
    }

    @Test func treeNodeRegressions() async {
        await Fuzz.replay("node", acceptable: isValueRefusal) { try Self.decodeChunk($0) }
    }
}
