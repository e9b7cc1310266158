@testable import CairnStore
import Testing
@testable import CairnValues

@Suite struct ProllyMapTests {
    @Test func emptyMap() throws {
        let store = memoryNodeStore()
        let m = try ProllyMap.empty(store: store)
        #expect(m.count == 0)
        #expect(try m.get(.int(1)) == nil)
        #expect(try m.entries().isEmpty)
        #expect(m.root.isInline)
    }

    @Test func buildAndReadLargeMap() throws {
        let store = memoryNodeStore()
        let n = 20_000
        let m = try ProllyMap.build(sorted: (0..<n).map(row), store: store)
        #expect(m.count == UInt64(n))
        #expect(m.height >= 2)
        for i in stride(from: 0, to: n, by: 97) {
            #expect(try m.get(row(i).0) == row(i).1)
            #expect(try m.rank(of: row(i).0) == UInt64(i))
            #expect(try m.entry(at: UInt64(i)).key == row(i).0)
        }
        #expect(try m.get(.string("nope")) == nil)
        var count = 0
        try m.forEach(from: row(n - 10).0) { k, _ in
            #expect(k == row(n - 10 + count).0)
            count += 1
            return true
        }
        #expect(count == 10)
        let r = try m.range(from: row(100).0, to: row(105).0)
        #expect(r.map(\.key) == (100..<105).map { row($0).0 })
    }

    /// Node sizes stay within the rule's bounds: every node ≤ 16 KiB plus one item, and every
    /// leaf but the last ≥ 512 B.
    @Test func nodeSizesStayInBounds() throws {
        let store = memoryNodeStore()
        let m = try ProllyMap.build(sorted: (0..<20_000).map(row), store: store)
        var leaves: [Int] = []
        var stack = [try store.rootNode(m.root)]
        while let node = stack.popLast() {
            #expect(node.bytes.count <= 16 * 1024 + 200)
            if node.isLeaf { leaves.append(node.bytes.count) } else {
                for c in node.children.reversed() { stack.append(try store.node(c)) }
            }
        }
        #expect(leaves.dropLast().allSatisfy { $0 >= 512 })
        let mean = leaves.reduce(0, +) / leaves.count
        #expect(mean > 2000 && mean < 6000, "mean leaf \(mean)")
    }

    /// The same contents give the same root hash whatever the order of insertions and
    /// deletions, and the same as a fresh build.
    @Test(arguments: [1, 2, 3])
    func historyIndependence(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let store = memoryNodeStore()
        let n = 6000
        var model: [Value: Value] = [:]
        var m = try ProllyMap.empty(store: store)
        // Random batches of inserts, updates and deletes.
        for _ in 0..<12 {
            var batch: [(Value, Value?)] = []
            for _ in 0..<Int.random(in: 1...900, using: &rng) {
                let (k, v) = row(Int.random(in: 0..<n, using: &rng))
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    batch.append((k, nil))
                    model[k] = nil
                } else {
                    let value: Value = Bool.random(using: &rng) ? v : .int(Int64.random(in: 0...9, using: &rng))
                    batch.append((k, value))
                    model[k] = value
                }
            }
            m = try m.editing(batch)
        }
        let fresh = try ProllyMap.build(model.map { ($0.key, $0.value) }, store: store)
        #expect(m.hash == fresh.hash)
        #expect(m.count == UInt64(model.count))
        // Reach the same contents by a different route: shuffled single-key batches.
        var other = try ProllyMap.empty(store: store)
        for chunk in Array(model).shuffled(using: &rng).chunked(by: 500) {
            other = try other.editing(chunk.map { ($0.key, $0.value) })
        }
        #expect(other.hash == fresh.hash)
    }

    /// Against Swift's Dictionary, for every operation.
    @Test func modelBased() throws {
        var rng = SplitMix(seed: 42)
        let store = memoryNodeStore()
        var model: [Value: Value] = [:]
        var m = try ProllyMap.empty(store: store)
        for round in 0..<30 {
            var batch: [(Value, Value?)] = []
            for _ in 0..<Int.random(in: 1...400, using: &rng) {
                let k: Value = round % 3 == 0 ? randomScalar(&rng) : row(Int.random(in: 0..<3000, using: &rng)).0
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    batch.append((k, nil))
                    model[k] = nil
                } else {
                    let v = randomScalar(&rng)
                    batch.append((k, v))
                    model[k] = v
                }
            }
            m = try m.editing(batch)
            #expect(m.count == UInt64(model.count))
            for (k, v) in model.prefix(50) { #expect(try m.get(k) == v) }
        }
        let entries = try m.entries()
        #expect(entries.count == model.count)
        for (i, e) in entries.enumerated() {
            #expect(model[e.key] == e.value)
            if i % 37 == 0 {
                #expect(try m.rank(of: e.key) == UInt64(i))
                #expect(try m.entry(at: UInt64(i)).key == e.key)
            }
        }
        // Keys come out in the total order.
        let enc = try entries.map { try $0.key.encoded(store: store) }
        #expect(zip(enc, enc.dropFirst()).allSatisfy { KeyOrder.compare($0, $1) < 0 })
    }

    /// Applying the diff from A to B onto A gives B.
    @Test(arguments: [7, 8, 9, 10])
    func diffThenApply(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let store = memoryNodeStore()
        let base = try ProllyMap.build(sorted: (0..<5000).map(row), store: store)
        var a = base, b = base
        for _ in 0..<Int.random(in: 0...400, using: &rng) {
            let i = Int.random(in: 0..<6000, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: a = try a.removing(row(i).0)
            case 1: b = try b.setting(row(i).0, to: .int(Int64(i)))
            default: b = try b.removing(row(i).0)
            }
        }
        var diffs: [MapDiff] = []
        try a.diff(to: b) { diffs.append($0); return true }
        #expect(try a.applying(diffs).hash == b.hash)
        // Each change is reported once, in key order, with the right sides.
        for d in diffs {
            switch d.op {
            case .add: #expect(d.old == nil && d.new != nil)
            case .remove: #expect(d.old != nil && d.new == nil)
            case .modify: #expect(d.old != nil && d.new != nil && d.old != d.new)
            }
        }
        if a.hash == b.hash { #expect(diffs.isEmpty) }
    }

    /// A diff after one change reads a few nodes per level, not the tree.
    @Test func diffCostFollowsChangesNotSize() throws {
        let store = memoryNodeStore()
        let a = try ProllyMap.build(sorted: (0..<30_000).map(row), store: store)
        let b = try a.setting(row(12_345).0, to: .string("changed"))
        try store.flush()
        let cold = NodeStore(store.chunks)
        let a2 = ProllyMap(store: cold, root: a.root), b2 = ProllyMap(store: cold, root: b.root)
        var diffs: [MapDiff] = []
        try a2.diff(to: b2) { diffs.append($0); return true }
        #expect(diffs.count == 1)
        #expect(diffs.first?.op == .modify)
        #expect(cold.nodeReads <= 4 * a.height + 4, "read \(cold.nodeReads) nodes, height \(a.height)")
    }

    @Test func unchangedEditKeepsTheRoot() throws {
        let store = memoryNodeStore()
        let a = try ProllyMap.build(sorted: (0..<3000).map(row), store: store)
        #expect(try a.setting(row(5).0, to: row(5).1).root == a.root)
        #expect(try a.removing(.string("absent")).root == a.root)
    }

    @Test func nestedCollectionsAsValues() throws {
        let store = memoryNodeStore()
        let big = try ProllyList.build((0..<3000).map { Value.int(Int64($0)) }, store: store)
        let m = try ProllyMap.build([(.string("big"), .list(big)), (.string("small"), .int(1))], store: store)
        #expect(!big.root.isInline)
        guard case .list(let back)? = try m.get(.string("big")) else { Issue.record("not a list"); return }
        #expect(back.count == 3000)
        #expect(try back.element(at: 2999) == .int(2999))
        // Everything reaches the chunk store, children first.
        try store.flush()
        #expect(try store.chunks.has(big.hash))
    }
}

extension Array {
    func chunked(by n: Int) -> [[Element]] {
        stride(from: 0, to: count, by: n).map { Array(self[$0..<Swift.min(count, $0 + n)]) }
    }
}

@Suite struct TreeShapeTests {
    /// The trees the other tests use are deep enough to exercise internal-node edits.
    @Test func testTreesHaveSeveralLevels() throws {
        let store = memoryNodeStore()
        #expect(try ProllyMap.build(sorted: (0..<6000).map(row), store: store).height >= 2)
        #expect(try ProllyMap.build(sorted: (0..<30_000).map(row), store: store).height >= 3)
        #expect(try ProllyList.build((0..<8000).map { Value.int(Int64($0)) }, store: store).root.height >= 2)
    }
}

@Suite struct ByteHelperTests {
    /// The word-at-a-time common prefix agrees with a byte-by-byte count, wherever the first
    /// difference falls (inside a word, on its edge, in the tail, nowhere).
    @Test func commonPrefixLengthMatchesNaive() {
        var rng = SplitMix(seed: 77)
        for _ in 0..<2_000 {
            let n = Int.random(in: 0..<70, using: &rng)
            let a = (0..<n).map { _ in UInt8.random(in: 0...3, using: &rng) }
            var b = a
            if n > 0 && Bool.random(using: &rng) { b[Int.random(in: 0..<n, using: &rng)] ^= 0x10 }
            let naive = zip(a, b).prefix { $0 == $1 }.count
            let fast = a.withUnsafeBytes { x in b.withUnsafeBytes { y in commonPrefixLength(x.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, y.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, n) } }
            #expect(fast == naive)
        }
    }
}

@Suite struct BoundaryTests {
    /// The shortcut in `splits` decides exactly as the full rule, on random items and on hash
    /// fractions placed right at the threshold.
    @Test func shortcutDecidesAsTheFullRule() {
        var rng = SplitMix(seed: 2024)
        for _ in 0..<300_000 {
            let s0 = Int.random(in: 0..<17_000, using: &rng)
            let a = Int.random(in: 1..<600, using: &rng)
            let h = UInt32.random(in: 0...UInt32.max, using: &rng)
            #expect(Boundary.splits(sizeBefore: s0, itemSize: a, keyHash: h) == Boundary.splitsExactly(sizeBefore: s0, itemSize: a, keyHash: h))
        }
        for s0 in stride(from: 400, to: 16_500, by: 37) {
            for a in [1, 7, 40, 300] {
                let x0 = Double(s0) / Boundary.lambda, x1 = Double(s0 + a) / Boundary.lambda
                let p = 1 - Boundary.expNeg(x1 * x1 * x1 * x1 - x0 * x0 * x0 * x0)
                let center = UInt32(clamping: Int64((p * 4_294_967_295.0).rounded()))
                for delta in -3...3 {
                    let h = UInt32(clamping: Int64(center) + Int64(delta))
                    #expect(Boundary.splits(sizeBefore: s0, itemSize: a, keyHash: h) == Boundary.splitsExactly(sizeBefore: s0, itemSize: a, keyHash: h))
                }
            }
        }
    }

    /// The format pinned: this map's root hash changes only with a new format version.
    @Test func rootHashIsPinned() throws {
        let store = memoryNodeStore()
        let map = try ProllyMap.build(sorted: (0..<20_000).map(row), store: store)
        #expect(map.hash.description == "sfihddjahjh2b107mlrv6gtrgjtivrdd")
    }
}
