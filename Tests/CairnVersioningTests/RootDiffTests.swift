import Testing
import CairnStore
import CairnValues
import CairnTables
@testable import CairnVersioning

/// Structural diff of roots holding tables: rows by key, cells by column id.
@Suite struct RootDiffTests {
    let store = NodeStore(MemoryChunkStore())

    func table(_ rows: [(String, [Value?])], schema: Schema? = nil) throws -> Table {
        let s = try schema ?? Schema(columns: ["id", "a", "b"], key: ["id"], format: "csv", null: nil, infer: true)
        return try Table.empty(schema: s, store: store).editing(rows.map { ([.string($0.0)], $0.1) })
    }

    func changes(_ a: Table, _ b: Table) throws -> [String] {
        var out: [String] = []
        try RootDiff.diff(.table(a), .table(b), path: ValuePath(segments: ["t"])) { c in
            out.append("\(c.op.rawValue) \(c.path)\(c.isSchema ? " schema" : "")")
            return true
        }
        return out
    }

    @Test func rowsAndCellsByKeyAndColumn() throws {
        let a = try table([("k1", [.int(1), .string("x")]), ("k2", [.int(2), nil]), ("k3", [.int(3), .string("z")])])
        let b = try table([("k1", [.int(1), .string("y")]), ("k2", [.int(2), .string("new")]), ("k4", [nil, nil])])
        #expect(try changes(a, b) == ["modify /t/k1/b", "add /t/k2/b", "remove /t/k3", "add /t/k4"])
    }

    /// A rename is one schema change and no row change; a drop removes the cells it held.
    @Test func renamesAreOneSchemaChangeAndDropsRemoveCells() throws {
        let a = try table([("k1", [.int(1), .string("x")]), ("k2", [.int(2), nil])])
        var renamed = a.schema
        try renamed.renameColumn("a", to: "alpha")
        #expect(try changes(a, a.withSchema(renamed)) == ["modify /t schema"])
        var dropped = a.schema
        try dropped.dropColumn("b")
        let b = try Table(schema: dropped, rows: a.rows).editing([([.string("k1")], [.int(1), nil])])
        #expect(try changes(a, b) == ["modify /t schema", "remove /t/k1/b"])
    }

    /// Moving a column re-encodes every row; stat counts no row modified, as diff shows none.
    @Test func statCountsCellsByColumnID() throws {
        let a = try table([("k1", [.int(1), .string("x")]), ("k2", [.int(2), nil])])
        let moved = try Schema(columns: ["id", "b", "a"], key: ["id"], format: "csv", null: nil, infer: true)
        let b = try table([("k1", [.string("x"), .int(1)]), ("k2", [nil, .int(2)])], schema: moved)
        #expect(try changes(a, b) == ["modify /t schema"])
        let counts = try RootDiff.countRows(a, b, prefix: [])
        #expect(counts == ChangeCounts())
    }

    /// Stat counts rows per table, 1 for any other value; tables added whole count their rows.
    @Test func statCountsRows() throws {
        let a = try table([("k1", [.int(1), nil]), ("k2", [.int(2), nil])])
        let b = try table([("k1", [.int(5), nil]), ("k3", [.int(3), nil]), ("k4", [.int(4), nil])])
        let rootA = try ProllyMap.build([(.string("t"), .table(a)), (.string("doc"), .int(1))], store: store)
        let rootB = try ProllyMap.build([(.string("t"), .table(b)), (.string("doc"), .int(2)), (.string("u"), .table(b))], store: store)
        let stat = try RootDiff.stat(rootA, rootB)
        #expect(stat.map(\.name) == ["doc", "t", "u"])
        #expect(stat.map { [$0.counts.added, $0.counts.removed, $0.counts.modified] } == [[0, 0, 1], [2, 1, 1], [3, 0, 0]])
    }

    /// Diff then apply gives back the target: each change, applied through `Repository.edit`,
    /// turns the old table into the new one (random edits, against the rows tree's hash).
    @Test(arguments: [1, 2] as [UInt64])
    func diffThenApplyGivesTheTarget(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let repo = Repository(chunks: MemoryChunkStore())
        func random() -> [(String, [Value?])] {
            (0..<40).compactMap { i in
                Int.random(in: 0..<4, using: &rng) == 0 ? nil
                    : ("k\(i)", [Bool.random(using: &rng) ? .int(Int64.random(in: 0..<3, using: &rng)) : nil,
                                 Bool.random(using: &rng) ? .string("s\(Int.random(in: 0..<3, using: &rng))") : nil])
            }
        }
        let a = try table(random()), b = try table(random())
        try repo.replaceValue("t", with: .table(a))
        var edits: [(ValuePath, Value?)] = []
        try RootDiff.diff(.table(a), .table(b), path: ValuePath(segments: ["t"])) { c in
            edits.append((c.path, c.new))
            return true
        }
        for (p, v) in edits { try repo.edit(at: p, value: v) }
        guard case .table(let result)? = try repo.workingRoot().get(.string("t")) else { Issue.record("no table"); return }
        #expect(result.rows.hash == b.rows.hash)
    }
}
