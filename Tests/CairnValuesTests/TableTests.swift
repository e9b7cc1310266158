@testable import CairnStore
import Testing
@testable import CairnValues

/// Tables, tuples, schemas and rows (docs/format.md, Tables).
@Suite struct TableTests {
    let store = memoryNodeStore()

    func weatherSchema() throws -> Schema {
        try Schema(columns: ["origin", "time_hour", "temp", "wind", "note"], key: ["origin", "time_hour"], format: "csv",
                   null: "NA", infer: true)
    }

    /// The byte layouts of docs/format.md's examples.
    @Test func encodingsAreAsDocumented() throws {
        #expect(try Value.tuple([.string("EWR"), .int(6)]).encoded(store: store) == [0x12, 0x02, 0x05, 0x03, 0x45, 0x57, 0x52, 0x03, 0x0c])
        let t = try Table.empty(schema: try Schema(columns: ["k", "a", "b", "c"], key: ["k"], format: "csv", null: nil, infer: true),
                                store: store)
        #expect(try t.encodeRow([.string("a"), nil, .int(1)]).bytes == [0x14, 0x03, 0x05, 0x01, 0x61, 0x1f, 0x03, 0x02])
        // Trailing missing cells cost nothing; a missing cell one byte.
        #expect(try t.encodeRow([.int(1), nil, nil]).bytes == [0x14, 0x01, 0x03, 0x02])
        #expect(try t.encodeRow([nil, nil, nil]).bytes == [0x14, 0x00])
    }

    /// Tuples sort element by element in the total order, a prefix first, against a model
    /// that compares the elements one by one.
    @Test func tuplesOrderElementByElement() throws {
        var rng = SplitMix(seed: 12)
        func model(_ a: [Value], _ b: [Value]) throws -> Int {
            for (x, y) in zip(a, b) {
                let c = try KeyOrder.compare(x.encoded(store: store), y.encoded(store: store))
                if c != 0 { return c }
            }
            return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
        }
        for _ in 0..<2000 {
            let a = (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomScalar(&rng) }
            var b = (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomScalar(&rng) }
            if Bool.random(using: &rng) { b = Array(a.prefix(Int.random(in: 0...a.count, using: &rng))) + b.prefix(1) }
            let c = try KeyOrder.compare(Value.tuple(a).encoded(store: store), Value.tuple(b).encoded(store: store))
            #expect(c == (try model(a, b)), "\(a) vs \(b)")
            // The normalized prefix used to sort imports agrees with the order.
            let na = try Value.tuple(a).encoded(store: store).withUnsafeBytes { normalizedPrefix($0) }
            let nb = try Value.tuple(b).encoded(store: store).withUnsafeBytes { normalizedPrefix($0) }
            if c < 0 { #expect(na.0 < nb.0 || (na.0 == nb.0 && na.1 <= nb.1)) }
        }
    }

    /// A schema encodes and decodes to itself; column ids come from names, survive renames,
    /// and a new column under a renamed column's old name gets an id of its own.
    @Test func schemaRoundTripsAndKeepsIdsThroughRenames() throws {
        var s = try weatherSchema()
        let tempID = s.column(named: "temp")!.id
        #expect(tempID == Schema.columnID(for: "temp", taken: []))
        try s.renameColumn("temp", to: "temperature")
        #expect(s.column(named: "temperature")!.id == tempID)
        let again = try s.addColumn("temp")
        #expect(again.id != tempID)
        #expect(again.slot == 3)  // temp (now temperature), wind and note hold slots 0 to 2
        try s.dropColumn("wind")
        s.null = nil
        let t = Table(schema: s, rows: try ProllyMap.empty(store: store))
        let decoded = try Value.decode(Value.table(t).encoded(store: store), store: store)
        guard case .table(let back) = decoded else { Issue.record("not a table"); return }
        #expect(back.schema == s)
        #expect(throws: SchemaError.keyColumn("origin")) { try s.dropColumn("origin") }
        #expect(throws: SchemaError.self) { try Schema(columns: ["a", "a"], key: ["a"], format: "csv", null: nil, infer: true) }
    }

    /// Rows come back as they went in, by slot, inline or out of line, with nested values.
    @Test func rowsRoundTripInlineAndOutOfLine() throws {
        let t = try Table.empty(schema: try weatherSchema(), store: store)
        let long = String(repeating: "0123456789", count: 400)  // 4000 bytes: inline string
        let rows: [(key: [Value], cells: [Value?]?)] = [
            ([.string("EWR"), .string("2013-01-01T06:00:00Z")], [.float(39.02), .int(10), nil]),
            ([.string("EWR"), .string("2013-01-01T07:00:00Z")], [nil, nil, .string("x")]),
            ([.string("JFK"), .string("2013-01-01T06:00:00Z")], [.string(long), .string(long), .list(try ProllyList.build([.int(1)], store: store))]),
        ]
        let edited = try t.editing(rows)
        #expect(edited.count == 3)
        for r in rows {
            let got = try edited.row(key: r.key)
            #expect(got == r.cells!, "\(r.key)")
        }
        // The wide row is out of line: a Ref in the leaf, the row in a chunk of its own.
        let wide = try edited.encodeRow(rows[2].cells!)
        #expect(wide.bytes.first == Tag.rowRef.rawValue && wide.bytes.count == 21)
        #expect(try edited.invariantProblems() == [])
        // Rows under a key prefix are one range.
        var under: [[Value]] = []
        try edited.forEachRow(under: [.string("EWR")]) { k, _ in under.append(try edited.decodeKey(Array(k))); return true }
        #expect(under == [rows[0].key, rows[1].key])
        #expect(try edited.count(under: [.string("JFK")]) == 1)
        #expect(try edited.count(under: [.string("LGA")]) == 0)
    }

    /// The same rows give the same table hash whatever the order of edits (history
    /// independence), and diff then apply gives back the target, against a dictionary model.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func historyIndependentAndDiffApplies(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let schema = try Schema(columns: ["a", "b", "x", "y"], key: ["a", "b"], format: "csv", null: nil, infer: true)
        var t = try Table.empty(schema: schema, store: store)
        var model: [[Value]: [Value?]] = [:]
        for _ in 0..<8 {
            var batch: [(key: [Value], cells: [Value?]?)] = []
            for _ in 0..<Int.random(in: 1...600, using: &rng) {
                let key: [Value] = [.string("k\(Int.random(in: 0..<30, using: &rng))"), .int(Int64.random(in: 0..<100, using: &rng))]
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    batch.append((key, nil))
                    model[key] = nil
                } else {
                    let cells: [Value?] = [Bool.random(using: &rng) ? .int(Int64.random(in: 0...9, using: &rng)) : nil,
                                           .string("v\(Int.random(in: 0..<5, using: &rng))")]
                    batch.append((key, cells))
                    model[key] = cells
                }
            }
            let before = t
            t = try t.editing(batch)
            // diff then apply: the changes from `before` to `t`, applied to `before`, give `t`.
            var changes: [(key: [UInt8], value: [UInt8]?, refs: [Hash])] = []
            try before.rows.diffEncoded(to: t.rows) { d in changes.append((d.key, d.new, [])); return true }
            #expect(try before.rows.editingEncoded(changes).hash == t.rows.hash)
        }
        let fresh = try Table.empty(schema: schema, store: store).editing(model.shuffled(using: &rng).map { ($0.key, $0.value) })
        #expect(fresh.rows.hash == t.rows.hash)
        #expect(Value.table(fresh) == Value.table(t))
        #expect(t.count == UInt64(model.count))
        #expect(try t.invariantProblems() == [])
        for (k, cells) in model {
            var padded = cells
            while padded.count < schema.slotCount { padded.append(nil) }
            #expect(try t.row(key: k) == padded)
        }
    }

    /// Malformed schemas and rows are refused with a DecodeError, never a crash.
    @Test func mutatedTablesNeverCrash() throws {
        var rng = SplitMix(seed: 55)
        let t = try Table.empty(schema: try weatherSchema(), store: store)
            .editing([([.string("EWR"), .int(1)], [.int(1), nil, .string("n")])])
        let good = try Value.table(t).encoded(store: store)
        var decoded = 0
        for _ in 0..<4000 {
            var bytes = good
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            case 1: bytes.removeLast(Int.random(in: 1...bytes.count - 1, using: &rng))
            default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
            }
            do {
                if case .table(let back) = try Value.decode(bytes, store: store) {
                    _ = try back.invariantProblems()
                    decoded += 1
                }
            } catch is DecodeError {
            } catch is StoreError {
            } catch is ValueError {
            }
        }
        #expect(decoded < 4000)
    }

    /// Rows that are not canonical, or that claim more cells than they hold, are refused with
    /// a DecodeError: never a read past their bytes.
    @Test func malformedRowsAreRefused() throws {
        let t = try Table.empty(schema: try weatherSchema(), store: store)
        for bad: [UInt8] in [[0x14, 0x02, 0x05, 0x01, 0x61], [0x14, 0x02, 0x03, 0x02, 0x1f], [0x14, 0x01, 0x1f], [0x14, 0x03, 0x1f]] {
            #expect(throws: DecodeError.self, "\(bad)") { _ = try t.decodeRow(bad) }
            var w = ByteWriter()
            w.byte(Format.version)
            w.byte(Tag.mapLeaf.rawValue)
            w.varint(1)
            w.append(try Value.string("k").encoded(store: store))
            w.append(bad)
            #expect(throws: DecodeError.self, "\(bad)") { _ = try Node(hash: Hash(of: w.bytes), bytes: w.bytes) }
        }
        // A small row stored out of line is not canonical either.
        let h = try store.write([Format.version, 0x14, 0x01, 0x03, 0x02], refs: [])
        var ref = ByteWriter()
        ref.byte(Tag.rowRef.rawValue)
        ref.hash(h)
        #expect(throws: StoreError.self) { _ = try t.decodeRow(ref.bytes) }
    }

    /// The invariant checker finds a node cut where the chunker would not cut it.
    @Test func invariantCheckerFindsBadBoundariesAndCounts() throws {
        let map = try ProllyMap.build(sorted: (0..<5000).map(row), store: store)
        #expect(try map.invariantProblems() == [])
        let list = try ProllyList.build((0..<5000).map { Value.int(Int64($0)) }, store: store)
        #expect(try list.invariantProblems() == [])
        let blob = try Blob.build((0..<200_000).map { UInt8(($0 * 7919) % 251) }, store: store)
        #expect(try blob.invariantProblems() == [])
        // A leaf of two entries where the first closes no node, written as a tree of one
        // internal node over two leaves: the leaves end with no boundary.
        var refs: [Hash] = []
        func leaf(_ i: Int) throws -> Hash {
            var w = ByteWriter()
            w.byte(Format.version)
            w.byte(Tag.mapLeaf.rawValue)
            w.varint(1)
            try w.value(row(i).0, refs: &refs, store: store)
            try w.value(row(i).1, refs: &refs, store: store)
            return try store.write(w.bytes, refs: [])
        }
        let leafA = try leaf(1), leafB = try leaf(2)
        var n = ByteWriter()
        n.byte(Format.version)
        n.byte(Tag.mapNode.rawValue)
        n.varint(1)
        n.varint(2)
        try n.value(row(1).0, refs: &refs, store: store)
        n.hash(leafA)
        n.varint(1)
        try n.value(row(2).0, refs: &refs, store: store)
        n.hash(leafB)
        n.varint(2)  // wrong: the leaf holds 1
        let rootHash = try store.write(n.bytes, refs: [leafA, leafB])
        let bad = ProllyMap(store: store, root: TreeRoot(hash: rootHash, count: 3, height: 2))
        let problems = try bad.invariantProblems().map(\.problem)
        #expect(problems.contains { $0.contains("no boundary") }, "\(problems)")
        #expect(problems.contains { $0.contains("counts 2") }, "\(problems)")
        // With a memo of sound subtrees (fsck's, over every commit), a problem is found every
        // time: only sound subtrees are remembered.
        let memo = TreeCheckMemo()
        for _ in 0..<2 {
            let again = try Value.map(bad).treeProblems(memo: memo).map(\.problem)
            #expect(again.contains { $0.contains("counts 2") }, "\(again)")
        }
    }

    /// The memo skips a subtree two trees share, and still sees keys out of order around it.
    @Test func aMemoOfSoundSubtreesSkipsSharedOnesAndKeepsTheOrder() throws {
        let store = NodeStore(MemoryChunkStore())
        let b = MapBuilder(store: store)
        for i in 0..<20_000 { try b.append(.int(Int64(i)), .string("v\(i)")) }
        let big = try b.finish()
        let memo = TreeCheckMemo()
        #expect(try Value.map(big).treeProblems(memo: memo).isEmpty)
        let remembered = memo.count
        #expect(remembered > 10)
        // An edit shares all but one path with `big`: checking it adds only that path.
        let edited = try big.setting(.int(5), to: .string("changed"))
        #expect(try Value.map(edited).treeProblems(memo: memo).isEmpty)
        #expect(memo.count > remembered && memo.count < remembered + 10)
        #expect(try edited.invariantProblems().isEmpty)
    }
}
