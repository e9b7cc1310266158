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
