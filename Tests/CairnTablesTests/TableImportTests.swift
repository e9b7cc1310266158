import Foundation
import Testing
import CairnStore
@testable import CairnValues
@testable import CairnTables

/// Imports into tables through the library, as an app calls them, and exports back.
@Suite struct TableImportTests {
    let store = NodeStore(MemoryChunkStore())
    let dir: String = {
        let d = NSTemporaryDirectory() + "cairn-tables-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func file(_ name: String, _ text: String) throws -> String {
        let p = dir + "/" + name
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func export(_ t: Table, _ format: TableExport.Format, under prefix: [Value] = [], missing: String? = nil) throws -> String {
        var out: [UInt8] = []
        try TableExport.table(t, under: prefix, format: format, missing: missing) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func csvWithACompositeKeyRoundTrips() throws {
        let text = "origin,time_hour,temp,wind\nJFK,2013-01-01T06:00:00Z,39.02,NA\nEWR,2013-01-01T07:00:00Z,NA,10\nEWR,2013-01-01T06:00:00Z,37.94,8\n"
        let imported = try TableImport.csv(path: file("w.csv", text), options: .init(key: ["origin", "time_hour"], null: "NA"),
                                           store: store, tempDirectory: dir)
        let t = imported.table
        #expect(imported.rows == 3)
        #expect(t.schema.keyColumns.map(\.name) == ["origin", "time_hour"])
        #expect(t.schema.columns.map(\.name) == ["origin", "time_hour", "temp", "wind"])
        // Rows in key order, each as imported, NA written back.
        #expect(try export(t, .csv) == "origin,time_hour,temp,wind\nEWR,2013-01-01T06:00:00Z,37.94,8\nEWR,2013-01-01T07:00:00Z,NA,10\nJFK,2013-01-01T06:00:00Z,39.02,NA\n")
        #expect(try export(t, .csv, under: [.string("JFK")], missing: "") == "origin,time_hour,temp,wind\nJFK,2013-01-01T06:00:00Z,39.02,\n")
        #expect(try export(t, .ndjson, under: [.string("EWR"), .string("2013-01-01T07:00:00Z")])
            == #"{"origin":"EWR","time_hour":"2013-01-01T07:00:00Z","wind":10}"# + "\n")
        #expect(try t.invariantProblems() == [])
    }

    @Test func csvErrorsNameTheirLine() throws {
        #expect(throws: ImportError("line 3: duplicate key 'a' (first at line 2)")) {
            try TableImport.csv(path: try file("d.csv", "id,x\na,1\na,2\n"), options: .init(), store: store, tempDirectory: dir)
        }
        #expect(throws: ImportError("line 2: the key column 'id' is empty")) {
            try TableImport.csv(path: try file("e.csv", "id,x\n,1\n"), options: .init(), store: store, tempDirectory: dir)
        }
        #expect(throws: ImportError("line 2: 1 fields, the header has 2")) {
            try TableImport.csv(path: try file("r.csv", "id,x\na\n"), options: .init(), store: store, tempDirectory: dir)
        }
    }

    /// NDJSON rows with fields that vary: columns in the order first seen, absent fields
    /// missing, null a value, nested values kept; the same rows as CSV give the same schema ids.
    @Test func ndjsonColumnsInTheOrderFirstSeen() throws {
        let text = #"{"id":"b","x":1}"# + "\n" + #"{"y":{"n":[1,2]},"id":"a","x":null}"# + "\n\n" + #"{"id":"c","z":"last"}"#
        let imported = try TableImport.ndjson(path: file("r.ndjson", text), key: ["id"], store: store, tempDirectory: dir)
        let t = imported.table
        #expect(imported.rows == 3)
        #expect(t.schema.columns.map(\.name) == ["id", "x", "y", "z"])
        #expect(try export(t, .ndjson) == #"{"id":"a","x":null,"y":{"n":[1,2]}}"# + "\n" + #"{"id":"b","x":1}"# + "\n" + #"{"id":"c","z":"last"}"# + "\n")
        #expect(try export(t, .csv) == "id,x,y,z\na,,\"{\"\"n\"\":[1,2]}\",\nb,1,,\nc,,,last\n")
        let csv = try TableImport.csv(path: file("r.csv", "id,x,y,z\nb,1,,\n"), options: .init(), store: store, tempDirectory: dir)
        #expect(csv.table.schema.columns.map(\.id) == t.schema.columns.map(\.id))
        #expect(throws: ImportError.self) {
            try TableImport.ndjson(path: try file("k.ndjson", #"{"x":1}"#), key: ["id"], store: store, tempDirectory: dir)
        }
        #expect(throws: ImportError.self) {
            try TableImport.ndjson(path: try file("j.ndjson", "{\"id\":1,"), key: ["id"], store: store, tempDirectory: dir)
        }
    }

    /// A duplicate key right after its twin, a missing key field or a key that is no string
    /// or number: an ImportError saying where, in NDJSON and in a JSON array.
    @Test func objectRowErrorsSayWhere() throws {
        #expect(throws: ImportError("line 2: duplicate key '1' (first at line 1)")) {
            try TableImport.ndjson(path: try file("d.ndjson", "{\"id\":1}\n{\"id\":1}\n"), key: ["id"], store: store, tempDirectory: dir)
        }
        #expect(throws: ImportError("element 2: duplicate key '1' (first at element 1)")) {
            try TableImport.jsonRows(path: try file("d.json", #"[{"id":1},{"id":1}]"#), key: ["id"], store: store, tempDirectory: dir)
        }
        #expect(throws: ImportError("line 1: the key field 'id' is not a string or a number")) {
            try TableImport.ndjson(path: try file("b.ndjson", #"{"id":true}"#), key: ["id"], store: store, tempDirectory: dir)
        }
    }

    /// A JSON array of objects makes a table as NDJSON does; its JSON export re-imports to the
    /// same table.
    @Test func jsonArrayOfObjectsRoundTrips() throws {
        let text = #"[{"Name":"chevrolet chevelle","Miles_per_Gallon":18,"Year":"1970-01-01"},{"Name":"buick skylark","Miles_per_Gallon":null,"Year":"1970-01-01"}]"#
        let t = try TableImport.jsonRows(path: file("cars.json", text), key: ["Name"], store: store, tempDirectory: dir).table
        #expect(t.count == 2)
        let again = try TableImport.jsonRows(path: file("again.json", try export(t, .json)), key: ["Name"], store: store,
                                             tempDirectory: dir).table
        #expect(Value.table(again) == Value.table(t))
    }
}

/// A chunk store that remembers the references each chunk was put with.
final class RecordingChunkStore: ChunkStore, @unchecked Sendable {
    let inner = MemoryChunkStore()
    private let lock = NSLock()
    private(set) var declared: [Hash: Set<Hash>] = [:]
    func get(_ hash: Hash) throws -> Chunk? { try inner.get(hash) }
    func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk] { try inner.getMany(hashes) }
    func has(_ hash: Hash) throws -> Bool { try inner.has(hash) }
    func hasMany(_ hashes: [Hash]) throws -> Set<Hash> { try inner.hasMany(hashes) }
    func put(_ batch: [ChunkWrite]) throws {
        try inner.put(batch)
        lock.lock()
        for w in batch { declared[w.chunk.hash, default: []].formUnion(w.refs) }
        lock.unlock()
    }
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

@Suite struct ImportReferenceTests {
    /// Every chunk an import writes declares the chunks its bytes reference (the completeness
    /// invariant, and what gc will follow): long key strings, long cells and wide rows stored
    /// out of line, in sorted and shuffled files, spilled or not.
    @Test(arguments: [false, true])
    func everyChunkDeclaresWhatItReferences(shuffled: Bool) throws {
        let chunks = RecordingChunkStore()
        let store = NodeStore(chunks)
        let dir = NSTemporaryDirectory() + "cairn-refs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var lines: [String] = []
        for i in 0..<3000 {
            let key = i % 500 == 7 ? "k\(i)-" + String(repeating: "x", count: 5000) : String(format: "k%05d", i)
            let cell = i % 300 == 3 ? String(repeating: "y\(i)", count: 1500) : "v\(i)"
            let wide = i % 400 == 11 ? (0..<6).map { _ in String(repeating: "w", count: 1000) }.joined(separator: ",") : ",,,,,"
            lines.append("\(key),\(cell),\(wide)")
        }
        if shuffled { lines.reverse() }
        let path = dir + "/r.csv"
        try ("id,a,c1,c2,c3,c4,c5,c6\n" + lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let t = try TableImport.csv(path: path, options: .init(), store: store, tempDirectory: dir).table
        try store.flush()
        #expect(t.count == 3000)
        var checked = 0
        try chunks.forEachHash { h in
            guard let c = try chunks.get(h) else { return }
            // Read from the bytes, for every kind of chunk (nodes and out-of-line rows).
            let missing = Set(try ChunkReferences.of(c)).subtracting(chunks.declared[h] ?? [])
            #expect(missing.isEmpty, "chunk \(h) does not declare \(missing.count) of its references")
            checked += 1
        }
        #expect(checked > 10)
        #expect(try t.invariantProblems() == [])
    }
}
