@testable import CairnStore
import Testing
@testable import CairnValues

@Suite struct ProllySetTests {
    @Test func modelBasedAndHistoryIndependent() throws {
        var rng = SplitMix(seed: 5)
        let store = memoryNodeStore()
        var model = Set<Value>()
        var s = try ProllySet.empty(store: store)
        for _ in 0..<15 {
            var batch: [(Value, Bool)] = []
            for _ in 0..<Int.random(in: 1...600, using: &rng) {
                let e = Value.int(Int64.random(in: 0..<8000, using: &rng))
                let insert = Int.random(in: 0..<3, using: &rng) != 0
                batch.append((e, insert))
                if insert { model.insert(e) } else { model.remove(e) }
            }
            s = try s.editing(batch)
        }
        #expect(s.count == UInt64(model.count))
        #expect(try s.hash == ProllySet.build(model, store: store).hash)
        let elements = try s.elements()
        #expect(Set(elements) == model)
        for (i, e) in elements.enumerated() where i % 50 == 0 {
            #expect(try s.contains(e))
            #expect(try s.element(at: UInt64(i)) == e)
            #expect(try s.rank(of: e) == UInt64(i))
        }
        #expect(try !s.contains(.int(-1)))
    }

    @Test func diff() throws {
        let store = memoryNodeStore()
        let a = try ProllySet.build((0..<5000).map { Value.int(Int64($0)) }, store: store)
        let b = try a.editing([(.int(10), false), (.int(99_999), true)])
        var seen: [(EncodedDiff.Op, Value)] = []
        try a.diff(to: b) { seen.append(($0, $1)); return true }
        #expect(seen.count == 2)
        #expect(seen[0].0 == .remove && seen[0].1 == .int(10))
        #expect(seen[1].0 == .add && seen[1].1 == .int(99_999))
    }
}

@Suite struct ProllyListTests {
    @Test func matchesArray() throws {
        var rng = SplitMix(seed: 3)
        let store = memoryNodeStore()
        let model: [Value] = (0..<8000).map { _ in randomScalar(&rng) }
        let l = try ProllyList.build(model, store: store)
        #expect(l.count == UInt64(model.count))
        #expect(try l.elements() == model)
        for i in stride(from: 0, to: model.count, by: 131) { #expect(try l.element(at: UInt64(i)) == model[i]) }
        #expect(throws: ValueError.self) { try l.element(at: 8000) }
        var tail: [Value] = []
        try l.forEach(from: 7990) { tail.append($0); return true }
        #expect(tail == Array(model[7990...]))
        // Equal lists, equal trees.
        #expect(try ProllyList.build(model, store: store).hash == l.hash)
    }
}

@Suite struct BlobTests {
    @Test func matchesBytes() throws {
        var rng = SplitMix(seed: 8)
        let store = memoryNodeStore()
        let bytes = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b = try Blob.build(bytes, store: store)
        #expect(b.count == 200_000)
        #expect(try b.bytes() == bytes)
        #expect(try b.read(offset: 12_345, length: 40_000) == Array(bytes[12_345..<52_345]))
        #expect(try b.read(offset: 199_990, length: 100) == Array(bytes[199_990...]))
        // Built in pieces, the same tree.
        let pieces = stride(from: 0, to: bytes.count, by: 7777).map { Array(bytes[$0..<min(bytes.count, $0 + 7777)]) }
        #expect(try Blob.build(streaming: pieces, store: store).hash == b.hash)
    }

    /// An edit in the middle changes only the leaves around it.
    @Test func localEditSharesMostLeaves() throws {
        var rng = SplitMix(seed: 9)
        let store = memoryNodeStore()
        var bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let a = try Blob.build(bytes, store: store)
        bytes.insert(contentsOf: [1, 2, 3], at: 150_000)
        let b = try Blob.build(bytes, store: store)
        func leaves(_ blob: Blob) throws -> Set<Hash> {
            var out = Set<Hash>()
            var stack = [try store.rootNode(blob.root)]
            while let n = stack.popLast() {
                if n.isLeaf { out.insert(n.hash) } else { for c in n.children { stack.append(try store.node(c)) } }
            }
            return out
        }
        let la = try leaves(a), lb = try leaves(b)
        #expect(la.subtracting(lb).count <= 2)
        #expect(la.count > 20)
    }

    @Test func smallBlobIsInline() throws {
        let store = memoryNodeStore()
        #expect(try Blob.build([1, 2, 3], store: store).root.isInline)
        #expect(try Blob.build([], store: store).count == 0)
    }
}

@Suite struct ProllyListEditTests {
    /// Random batches of splices against Swift's Array; after each, the tree equals a fresh
    /// build of the same elements (history independence).
    @Test(arguments: [21, 22, 23])
    func splicesMatchArray(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let store = memoryNodeStore()
        var model: [Value] = (0..<3000).map { .int(Int64($0)) }
        var list = try ProllyList.build(model, store: store)
        for _ in 0..<25 {
            // Non-overlapping splices in the positions of the list before the batch.
            var splices: [ListSplice] = []
            var cursor: UInt64 = 0
            while splices.count < Int.random(in: 1...6, using: &rng) {
                let remaining = UInt64(model.count) - cursor
                guard remaining > 0 || splices.isEmpty else { break }
                let at = cursor + UInt64.random(in: 0...min(remaining, 900), using: &rng)
                let remove = UInt64.random(in: 0...min(UInt64(model.count) - at, 40), using: &rng)
                let insert = (0..<Int.random(in: 0...60, using: &rng)).map { _ in randomScalar(&rng) }
                splices.append(ListSplice(at: at, removing: remove, inserting: insert))
                cursor = at + remove
                if cursor >= UInt64(model.count) { break }
            }
            for s in splices.reversed() {
                model.replaceSubrange(Int(s.position)..<Int(s.position + s.removing), with: s.inserting)
            }
            list = try list.editing(splices)
            #expect(list.count == UInt64(model.count))
        }
        #expect(try list.elements() == model)
        #expect(try list.hash == ProllyList.build(model, store: store).hash)
        for i in stride(from: 0, to: model.count, by: 61) { #expect(try list.element(at: UInt64(i)) == model[i]) }
    }

    @Test func singleEdits() throws {
        let store = memoryNodeStore()
        var list = try ProllyList.build([], store: store)
        for i in 0..<500 { list = try list.appending(.int(Int64(i))) }
        list = try list.inserting(.string("first"), at: 0)
        list = try list.setting(.null, at: 250)
        list = try list.removing(at: 500)
        var model: [Value] = (0..<500).map { .int(Int64($0)) }
        model.insert(.string("first"), at: 0)
        model[250] = .null
        model.remove(at: 500)
        #expect(try list.elements() == model)
        #expect(throws: ValueError.self) { try list.removing(at: 9999) }
        #expect(throws: ValueError.overlappingSplices) {
            try list.editing([ListSplice(at: 5, removing: 10), ListSplice(at: 8, removing: 1)])
        }
    }
}

@Suite struct ProllyListDiffTests {
    /// Applying the diff from A to B onto A gives B, and a local change reads few nodes.
    @Test(arguments: [31, 32, 33, 34])
    func diffThenApply(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let store = memoryNodeStore()
        let base: [Value] = (0..<4000).map { .int(Int64($0)) }
        let a = try ProllyList.build(base, store: store)
        var model = base
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let at = Int.random(in: 0...model.count, using: &rng)
            let remove = Int.random(in: 0...min(model.count - at, 30), using: &rng)
            model.replaceSubrange(at..<(at + remove), with: (0..<Int.random(in: 0...30, using: &rng)).map { _ in randomScalar(&rng) })
        }
        let b = try ProllyList.build(model, store: store)
        let splices = try a.diff(to: b)
        #expect(try a.editing(splices).hash == b.hash)
        if a.hash == b.hash { #expect(splices.isEmpty) }
    }

    @Test func localChangeIsCheap() throws {
        let store = memoryNodeStore()
        let a = try ProllyList.build((0..<30_000).map { Value.int(Int64($0)) }, store: store)
        let b = try a.setting(.string("x"), at: 15_000)
        try store.flush()
        let cold = NodeStore(store.chunks)
        let splices = try ProllyList(store: cold, root: a.root).diff(to: ProllyList(store: cold, root: b.root))
        #expect(splices.count == 1)
        #expect(splices[0].position == 15_000 && splices[0].removing == 1 && splices[0].inserting == [.string("x")])
        #expect(cold.nodeReads <= 8 * a.root.height + 8, "read \(cold.nodeReads)")
    }
}

@Suite struct BlobEditTests {
    /// Splices against an Array of bytes; each result equals a fresh build.
    @Test(arguments: [41, 42])
    func splicesMatchBytes(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let store = memoryNodeStore()
        var model = (0..<120_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var blob = try Blob.build(model, store: store)
        for _ in 0..<20 {
            let at = Int.random(in: 0...model.count, using: &rng)
            let remove = Int.random(in: 0...min(model.count - at, 5000), using: &rng)
            let insert = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            model.replaceSubrange(at..<(at + remove), with: insert)
            blob = try blob.splicing(at: UInt64(at), removing: UInt64(remove), inserting: insert)
            #expect(blob.count == UInt64(model.count))
            #expect(try blob.hash == Blob.build(model, store: store).hash)
        }
        #expect(try blob.bytes() == model)
    }

    @Test func smallBlobs() throws {
        let store = memoryNodeStore()
        let b = try Blob.build([1, 2, 3], store: store)
        #expect(try b.splicing(at: 1, removing: 1, inserting: [9, 9]).bytes() == [1, 9, 9, 3])
        #expect(try b.splicing(at: 3, inserting: [4]).bytes() == [1, 2, 3, 4])
        #expect(throws: ValueError.self) { try b.splicing(at: 4) }
    }
}

@Suite struct ChunkCountTests {
    /// Counting chunks from the internal nodes agrees with walking every node.
    @Test func chunkCountAgreesWithAFullWalk() throws {
        let store = memoryNodeStore()
        var roots: [TreeRoot] = []
        for n in [0, 3, 200, 5_000, 60_000] {
            roots.append(try ProllyMap.build((0..<n).map { (Value.int(Int64($0)), Value.string("value \($0)")) }, store: store).root)
            roots.append(try ProllyList.build((0..<n).map { Value.int(Int64($0)) }, store: store).root)
        }
        roots.append(try Blob.build(Array(repeating: UInt8(7), count: 300_000) + (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }, store: store).root)
        #expect(roots.contains { $0.height >= 3 })
        for r in roots {
            #expect(try r.chunkCount(store: store) == r.stats(store: store).chunks, "height \(r.height), count \(r.count)")
        }
    }
}
