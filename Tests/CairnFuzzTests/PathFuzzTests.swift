import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
import Foundation
import Testing

/// A small repository: three commits on main, a branch, a tag, and a root with a map, a list,
/// a struct and a table to resolve paths in.
final class SampleRepository: @unchecked Sendable {
    let repo = Repository(chunks: MemoryChunkStore())
    let commits: [Commit]

    init() throws {
        var made: [Commit] = []
        let scratch = ScratchFolder()
        let csv = scratch.file("t.csv", Array("id,name\n1,ann\n2,bob\nx/y,z\n".utf8))
        let table = try TableImport.csv(path: csv, options: .init(), store: repo.store, tempDirectory: scratch.path).table
        try repo.edit(at: ValuePath(parsing: "/t"), value: .table(table))
        try repo.edit(at: ValuePath(parsing: "/m"), value: try JSON.parse(#"{"a": {"b~/c": [1, 2, {"d": null}]}, "": 0}"#, store: repo.store))
        made.append(try repo.commitWorkingSet(message: "one", author: "fuzz", date: 1))
        try repo.edit(at: ValuePath(parsing: "/s"), value: .struct(StructValue(name: "P", fields: [("x", .int(1))])))
        made.append(try repo.commitWorkingSet(message: "two", author: "fuzz", date: 2))
        try repo.createBranch("dev", at: made[1].hash)
        try repo.edit(at: ValuePath(parsing: "/l"), value: .list(try ProllyList.build([.int(1), .string("two")], store: repo.store)))
        made.append(try repo.commitWorkingSet(message: "three", author: "fuzz", date: 3))
        commits = made
    }
}

@Suite struct PathFuzzTests {
    static let sample = Result { try SampleRepository() }

    /// A JSON Pointer: it parses or is refused; what parses prints back to itself, and resolves.
    static func path(_ input: [UInt8]) throws {
        let s = try sample.get()
        let text = String(decoding: input, as: UTF8.self)
        let p = try ValuePath(parsing: text)
        Finding.check(try ValuePath(parsing: p.description) == p, "a path does not print back to itself: \(text)")
        if let c = s.commits.last {
            _ = try p.resolve(in: .map(try s.repo.root(of: c)))
        }
    }

    @Test func paths() async {
        let seeds = ["", "/", "/m/a/b~0~1c/2/d", "/t/1/name", "/t/x~1y", "/l/1", "/s/x", "/m//", "/~", "/t/99999999999999999999", "/l/-1"]
        await Fuzz.run("path", seeds: seeds.map { Array($0.utf8) }, iterations: 4000, dictionary: ["/", "~0", "~1", "~", "é"].map { Array($0.utf8) },
                       acceptable: isTextRefusal) { try Self.path($0) }
    }

    @Test func pathRegressions() async {
        await Fuzz.replay("path", acceptable: isTextRefusal) { try Self.path($0) }
    }

    /// Random segments print to a pointer that parses back to them.
    @Test func pathRoundTrip() throws {
        var g = ValueGenerator(rng: SplitMix64(seed: Fuzz.seed("path-roundtrip")), store: NodeStore(MemoryChunkStore()))
        for _ in 0..<(Fuzz.longRun ? 20_000 : 1000) {
            let p = ValuePath(segments: (0..<g.below(5)).map { _ in g.text(g.below(6)) })
            #expect(try ValuePath(parsing: p.description) == p)
        }
    }

    /// A REV: it names a commit or the working set, or is refused.
    static func revision(_ input: [UInt8]) throws {
        let s = try sample.get()
        _ = try s.repo.resolve(String(decoding: input, as: UTF8.self))
    }

    @Test func revisions() async throws {
        let s = try Self.sample.get()
        let h = s.commits[0].hash.description
        let seeds = ["HEAD", "HEAD~2", "HEAD^", "main^1~1", "dev", "WORKING", String(h.prefix(8)), h, h + "^0", "HEAD~", "HEAD^^^", "HEAD~99999999999999999999"]
        await Fuzz.run("revision", seeds: seeds.map { Array($0.utf8) }, iterations: 3000, dictionary: ["~", "^", "1", "0", "HEAD", "WORKING"].map { Array($0.utf8) },
                       acceptable: { isTextRefusal($0) || $0 is StoreError }) { try Self.revision($0) }
    }

    @Test func revisionRegressions() async {
        await Fuzz.replay("revision", acceptable: { isTextRefusal($0) || $0 is StoreError }) { try Self.revision($0) }
    }
}
