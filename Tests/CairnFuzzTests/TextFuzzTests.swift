import CairnStore
@testable import CairnValues
@testable import CairnTables
import CairnVersioning
import Foundation
import Testing

func isTextRefusal(_ e: any Error) -> Bool {
    e is JSONError || e is ImportError || e is ValueError || e is DecodeError || e is RepositoryError || e is ExportError
}

/// A folder for the importers' files and spilled sort runs, removed at the end.
final class ScratchFolder: @unchecked Sendable {
    let path = NSTemporaryDirectory() + "cairn-fuzz-" + UUID().uuidString
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let p = path + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
}

func exported(_ t: Table, _ format: TableExport.Format) throws -> [UInt8] {
    var out: [UInt8] = []
    try TableExport.table(t, format: format) { out += $0 }
    return out
}

/// The CSV reader, the CSV importer, the JSON parser and the NDJSON and JSON-rows importers.
@Suite struct TextFuzzTests {
    static let csvSeeds: [[UInt8]] = [
        "id,name,score\n1,ann,3.5\n2,bob,\n3,\"c,d\",7\n", "a,b\r\n\"x\"\"y\",\"multi\nline\"\r\n",
        "k\n1\n2\n-0\n1e5\n0x10\n", "id,v\n\"é\",∂\n9223372036854775807,NaN\n-9223372036854775809,inf\n",
        "a,b,c\n1,,\n2,\"\",x\n",
    ].map { Array($0.utf8) }

    static let csvDictionary: [[UInt8]] = [[0x22], [0x2C], [0x0A], [0x0D, 0x0A], Array("\"\"".utf8), Array("1.5e308".utf8), [0xC3], [0xFF]]

    /// Both reading loops on the same bytes, arriving in pieces.
    static func readCSV(_ input: [UInt8]) throws {
        var split = SplitMix64(seed: UInt64(input.count))
        func pieces() -> () throws -> [UInt8] {
            var at = 0
            return {
                let n = 1 + Int(split.next() % 32)
                defer { at += n }
                return at < input.count ? Array(input[at..<min(input.count, at + n)]) : []
            }
        }
        var a = CSVReader(refill: pieces())
        var record = CSVRecord()
        var fast: [[UInt8]] = []
        var fastError = false
        do { while try a.next(into: &record) != nil { fast += (0..<record.count).map { Array(record.field($0)) } } } catch { fastError = true }
        var b = CSVReader(refill: pieces())
        var slow: [[UInt8]] = []
        var slowError = false
        do { while let r = try b.next() { slow += r.fields.map { Array($0.utf8) } } } catch { slowError = true }
        // The two loops read the same fields (the slow one also checks UTF-8; the fast one
        // keeps a CR before a LF inside a quoted field the same way).
        if !fastError && !slowError { Finding.check(fast == slow, "the two CSV readers disagree") }
    }

    @Test func csvReader() async {
        await Fuzz.run("csv-reader", seeds: Self.csvSeeds, iterations: 4000, dictionary: Self.csvDictionary,
                       acceptable: isTextRefusal) { try Self.readCSV($0) }
    }

    @Test func csvReaderRegressions() async {
        await Fuzz.replay("csv-reader", acceptable: isTextRefusal) { try Self.readCSV($0) }
    }

    static let scratch = ScratchFolder()

    /// Import, export, import the export: the second export is the first.
    static func importCSV(_ input: [UInt8]) throws {
        let store = NodeStore(MemoryChunkStore())
        let infer = input.count % 2 == 0
        let path = scratch.file("in-\(UUID().uuidString).csv", input)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let t = try TableImport.csv(path: path, options: .init(infer: infer), store: store, tempDirectory: scratch.path).table
        let e1 = try exported(t, .csv)
        let path2 = scratch.file("out-\(UUID().uuidString).csv", e1)
        defer { try? FileManager.default.removeItem(atPath: path2) }
        let again = try TableImport.csv(path: path2, options: .init(infer: infer), store: store, tempDirectory: scratch.path).table
        Finding.check(again.count == t.count, "CSV round trip changed the row count \(t.count) → \(again.count)")
        Finding.check(try exported(again, .csv) == e1, "CSV export does not import back to itself")
    }

    @Test func csvImport() async {
        await Fuzz.run("csv-import", seeds: Self.csvSeeds, iterations: 600, dictionary: Self.csvDictionary,
                       acceptable: isTextRefusal) { try Self.importCSV($0) }
    }

    @Test func csvImportRegressions() async {
        await Fuzz.replay("csv-import", acceptable: isTextRefusal) { try Self.importCSV($0) }
    }

    /// Random valid tables: CSV written from the cells imports to those cells and exports back.
    @Test func csvRoundTrip() throws {
        var g = ValueGenerator(rng: SplitMix64(seed: Fuzz.seed("csv-roundtrip")), store: NodeStore(MemoryChunkStore()))
        for _ in 0..<(Fuzz.longRun ? 500 : 40) {
            let columns = 1 + g.below(5)
            let rows = g.below(30)
            var text: [UInt8] = []
            let header = (0..<columns).map { "c\($0)" }
            text += Array(header.joined(separator: ",").utf8) + [0x0A]
            var cells: [[String]] = []
            for r in 0..<rows {
                let row = (0..<columns).map { c in c == 0 ? "key\(r)" : g.text(g.below(10)) }
                cells.append(row)
                var line: [UInt8] = []
                for (i, cell) in row.enumerated() {
                    if i > 0 { line.append(0x2C) }
                    appendCSVField(Array(cell.utf8), to: &line)
                }
                text += line + [0x0A]
            }
            let store = NodeStore(MemoryChunkStore())
            let path = Self.scratch.file("rt-\(UUID().uuidString).csv", text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let t = try TableImport.csv(path: path, options: .init(infer: false), store: store, tempDirectory: Self.scratch.path).table
            let e = try exported(t, .csv)
            var given = false
            var reader = CSVReader(refill: { defer { given = true }; return given ? [] : e })
            var back: [[String]] = []
            while let r = try reader.next() { back.append(r.fields) }
            // Empty cells are missing cells, written back empty; rows come back in key order.
            #expect(back.first == header)
            #expect(Array(back.dropFirst()) == cells.sorted { $0[0].utf8.lexicographicallyPrecedes($1[0].utf8) }, "\(String(decoding: text, as: UTF8.self))")
        }
    }

    static let jsonSeeds: [[UInt8]] = [
        #"{"a": [1, 2.5, -0, 1e-7, "x\u00e9\ud83d\ude00", true, false, null], "b": {"c": {}}, "": []}"#,
        #"[{"$set": [1, 2]}, {"$struct": "P", "fields": {"x": 1}}, {"$counter": 3}, {"$float": "nan"}, {"$bytes": "AAEC"}]"#,
        #"{"$map": [[1, "one"], [[2], "two"]]}"#, #"{"$tuple": [1, "a"]}"#, #""\"\\\/\b\f\n\r\t""#, "9223372036854775807", "[[[[[[1]]]]]]",
    ].map { Array($0.utf8) }

    static let jsonDictionary: [[UInt8]] = ["{", "}", "[", "]", "\"", ",", ":", "\\u", "\\ud800", "$set", "1e999", "-", "null", " "].map { Array($0.utf8) }

    /// Byte 0 chooses plain or tagged JSON. What parses writes back to text that parses to it.
    static func parseJSON(_ input: [UInt8]) throws {
        guard let mode = input.first else { return }
        let tagged = mode & 1 == 1
        let store = NodeStore(MemoryChunkStore())
        let v = try JSON.parse(Array(input.dropFirst()), store: store, tagged: tagged)
        var w = JSONWriter(tagged: tagged)
        try w.write(v)
        let back = try JSON.parse(w.out, store: store, tagged: tagged)
        Finding.check(back == v, "JSON round trip changed the value: \(String(decoding: w.out.prefix(200), as: UTF8.self))")
    }

    @Test func json() async {
        await Fuzz.run("json", seeds: Self.jsonSeeds.flatMap { [[0] + $0, [1] + $0] }, iterations: 4000,
                       dictionary: Self.jsonDictionary, acceptable: isTextRefusal) { try Self.parseJSON($0) }
    }

    @Test func jsonRegressions() async {
        await Fuzz.replay("json", acceptable: isTextRefusal) { try Self.parseJSON($0) }
    }

    /// Random values of every kind through tagged JSON and back.
    @Test func jsonRoundTrip() throws {
        let store = NodeStore(MemoryChunkStore())
        var g = ValueGenerator(rng: SplitMix64(seed: Fuzz.seed("json-roundtrip")), store: store, tuples: false)
        for _ in 0..<(Fuzz.longRun ? 3000 : 200) {
            let v = try g.value(depth: 1 + g.below(4), big: g.below(10) == 0)
            var w = JSONWriter(tagged: true)
            try w.write(v)
            try store.flush()
            let back = try JSON.parse(w.out, store: store, tagged: true)
            #expect(back == v, "\(String(decoding: w.out.prefix(300), as: UTF8.self))")
        }
    }

    static let ndjsonSeeds: [[UInt8]] = [
        [0] + Array("{\"id\": 1, \"a\": \"x\"}\n{\"id\": 2, \"b\": [1, {\"c\": null}]}\r\n\n{\"a\": 3, \"id\": \"k\"}\n".utf8),
        [0] + Array("{\"id\": 1.5, \"nested\": {\"deep\": {\"deeper\": [[]]}}}\n".utf8),
        [1] + Array("[{\"id\": 1, \"a\": true}, {\"id\": 2}, {\"id\": 3, \"a\": {\"$set\": [1]}}]".utf8),
    ]

    /// Byte 0 chooses NDJSON or a JSON array of objects, keyed by `id`. What imports exports
    /// as NDJSON that imports to the same export.
    static func importRows(_ input: [UInt8]) throws {
        guard let mode = input.first else { return }
        let store = NodeStore(MemoryChunkStore())
        let path = scratch.file("in-\(UUID().uuidString).json", Array(input.dropFirst()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let t = mode & 1 == 0
            ? try TableImport.ndjson(path: path, key: ["id"], store: store, tempDirectory: scratch.path).table
            : try TableImport.jsonRows(path: path, key: ["id"], store: store, tempDirectory: scratch.path).table
        let e1 = try exported(t, .ndjson)
        let path2 = scratch.file("out-\(UUID().uuidString).ndjson", e1)
        defer { try? FileManager.default.removeItem(atPath: path2) }
        let again = try TableImport.ndjson(path: path2, key: ["id"], store: store, tempDirectory: scratch.path).table
        Finding.check(try exported(again, .ndjson) == e1, "NDJSON export does not import back to itself")
        _ = try exported(t, .json)
        _ = try exported(t, .csv)
    }

    @Test func ndjsonImport() async {
        await Fuzz.run("ndjson", seeds: Self.ndjsonSeeds, iterations: 600, dictionary: Self.jsonDictionary + [[0x0A]],
                       acceptable: isTextRefusal) { try Self.importRows($0) }
    }

    @Test func ndjsonRegressions() async {
        await Fuzz.replay("ndjson", acceptable: isTextRefusal) { try Self.importRows($0) }
    }
}
