import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
import Foundation
import Testing

/// The library as an app embeds it: a `Repository` over a chunk store, edited, committed,
/// branched and read back without the CLI.
@Suite struct RepositoryTests {
    /// The working root's top-level names and their Int values.
    func contents(_ root: ProllyMap) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        try root.forEach { k, v in
            if case .string(let name) = k, !name.hasPrefix("."), case .int(let i) = v { out[name] = i }
            return true
        }
        return out
    }

    @Test func anAppKeepsItsStateWithHistory() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        #expect(try repo.head() == nil)
        #expect(throws: RepositoryError.nothingToCommit) { try repo.commitWorkingSet(message: "empty", author: "app") }

        try repo.edit(at: ValuePath(parsing: "/settings"), value: try JSON.parse(#"{"theme":"dark","size":12}"#, store: repo.store))
        let first = try repo.commitWorkingSet(message: "first", author: "app", date: 100)
        try repo.edit(at: ValuePath(parsing: "/settings/size"), value: .int(14))
        try repo.edit(at: ValuePath(parsing: "/settings/theme"), value: nil)
        let second = try repo.commitWorkingSet(message: "second", author: "app", date: 200)

        #expect(second.parents == [first.hash])
        #expect(try repo.log(from: second.hash).map(\.message) == ["second", "first"])
        #expect(try repo.resolveCommit("HEAD~1") == first)
        #expect(try repo.resolveCommit(String(second.hash.description.prefix(8))) == second)

        // What changed between the two commits, field by field.
        var changes: [String] = []
        try RootDiff.diff(.map(try repo.root(of: first)), .map(try repo.root(of: second)), path: ValuePath(segments: [])) { c in
            changes.append("\(c.op.rawValue) \(c.path)")
            return true
        }
        #expect(changes == ["modify /settings/size", "remove /settings/theme"])
        let old = try ValuePath(parsing: "/settings/theme").resolve(in: .map(try repo.root(of: first)))
        #expect(old == .string("dark"))
    }

    /// The README's library example, on a SQLite store, then reopened as an app restarting.
    @Test func theReadmeStoryOnDisk() throws {
        let appSupportDir = NSTemporaryDirectory() + "cairn-app-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: appSupportDir) }
        do {
            let chunks = try StoreDirectory.create(in: appSupportDir)
            defer { chunks.close() }
            let repo = Repository(chunks: chunks)
            try repo.edit(at: ValuePath(parsing: "/settings"),
                          value: try JSON.parse(#"{"theme":"dark","size":12}"#, store: repo.store))
            _ = try repo.commitWorkingSet(message: "first", author: "app")
            try repo.edit(at: ValuePath(parsing: "/settings/size"), value: .int(14))
            let second = try repo.commitWorkingSet(message: "second", author: "app")
            #expect(try repo.log(from: second.hash).map(\.message) == ["second", "first"])
            try repo.checkoutNewBranch("experiment", at: nil)
            try repo.edit(at: ValuePath(parsing: "/settings/size"), value: .int(16))
        }
        let chunks = try StoreDirectory.open(in: appSupportDir)
        defer { chunks.close() }
        let repo = Repository(chunks: chunks)
        #expect(try repo.currentBranch() == "experiment")
        let old = try repo.root(of: repo.resolveCommit("HEAD~1"))
        var changes: [String] = []
        try RootDiff.diff(.map(old), .map(repo.workingRoot()), path: ValuePath(segments: [])) { change in
            changes.append("\(change.op) \(change.path)")
            return true
        }
        #expect(changes == ["modify /settings/size"])
        #expect(try ValuePath(parsing: "/settings/size").resolve(in: .map(repo.workingRoot(branch: "main"))) == .int(14))
        #expect(try ValuePath(parsing: "/settings/size").resolve(in: .map(repo.workingRoot())) == .int(16))
    }

    @Test func refusesBadNamesAndUnknownRevisions() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(1))
        let c = try repo.commitWorkingSet(message: "c", author: "a")
        for bad in ["", "-x", "a b", "a..b", "x~1", "y^", "p:q", "HEAD", "WORKING", "/a", "a/", "a//b"] {
            #expect(throws: RepositoryError.self, "\(bad)") { try repo.createBranch(bad, at: c.hash) }
            #expect(throws: RepositoryError.self, "\(bad)") { try repo.setTag(bad, at: c.hash, force: false) }
        }
        #expect(throws: RepositoryError.unknownRevision("nope")) { try repo.resolve("nope") }
        #expect(throws: RepositoryError.unknownRevision("HEAD~1")) { try repo.resolve("HEAD~1") }
        #expect(throws: RepositoryError.noSuchPath("/n/x")) { try repo.edit(at: ValuePath(parsing: "/n/x"), value: .int(2)) }
        #expect(throws: RepositoryError.cannotDeleteCurrentBranch("main")) { try repo.deleteBranch("main") }
    }

    /// Random sequences of edits, commits, branch creations, checkouts and tags, checked after
    /// every step against a plain model: each branch's working set and commit chain.
    @Test(arguments: 0..<12 as Range<UInt64>)
    func agreesWithAModel(seed: UInt64) throws {
        struct ModelCommit { let root: [String: Int64]; let parent: Int? }
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9 &+ 7)
        let repo = Repository(chunks: MemoryChunkStore())
        var commits: [ModelCommit] = []
        var hashes: [Hash] = []
        var heads: [String: Int] = [:]             // branch → index in commits
        var working: [String: [String: Int64]] = [:] // branch → its working set, once it has one
        var current = "main"
        var tags: [String: Int] = [:]
        var date: Int64 = 1_000
        func workingOf(_ b: String) -> [String: Int64] { working[b] ?? heads[b].map { commits[$0].root } ?? [:] }
        let names = ["a", "b", "c", "d"]

        for step in 0..<80 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...3: // set a top-level name
                let name = names.randomElement(using: &rng)!
                let v = Int64.random(in: 0..<5, using: &rng)
                try repo.edit(at: ValuePath(segments: [name]), value: .int(v))
                var w = workingOf(current); w[name] = v; working[current] = w
            case 4: // remove one, if present
                let name = names.randomElement(using: &rng)!
                if workingOf(current)[name] == nil {
                    #expect(throws: RepositoryError.noSuchPath("/" + name)) { try repo.edit(at: ValuePath(segments: [name]), value: nil) }
                } else {
                    try repo.edit(at: ValuePath(segments: [name]), value: nil)
                    var w = workingOf(current); w[name] = nil; working[current] = w
                }
            case 5...6: // commit
                date += 1
                let w = workingOf(current)
                let unchanged = heads[current].map { commits[$0].root == w } ?? w.isEmpty
                if unchanged {
                    #expect(throws: RepositoryError.nothingToCommit) { try repo.commitWorkingSet(message: "s\(step)", author: "m", date: date) }
                } else {
                    let c = try repo.commitWorkingSet(message: "s\(step)", author: "m", date: date)
                    #expect(c.parents == (heads[current].map { [hashes[$0]] } ?? []))
                    commits.append(ModelCommit(root: w, parent: heads[current]))
                    hashes.append(c.hash)
                    heads[current] = commits.count - 1
                }
            case 7: // new branch from HEAD, carrying the working set
                let name = "b\(step)"
                try repo.checkoutNewBranch(name, at: nil)
                if let h = heads[current] { heads[name] = h }
                working[name] = workingOf(current)
                current = name
            case 8: // switch to an existing branch
                guard let name = heads.keys.sorted().randomElement(using: &rng) else { continue }
                try repo.checkout(name)
                current = name
            default: // tag HEAD
                guard let h = heads[current] else {
                    #expect(throws: RepositoryError.unbornBranch(current)) { try repo.resolve("HEAD") }
                    continue
                }
                let name = "t\(step)"
                try repo.setTag(name, at: hashes[h], force: false)
                tags[name] = h
            }

            // The repository agrees with the model.
            #expect(try repo.currentBranch() == current)
            #expect(try contents(repo.workingRoot()) == workingOf(current), "seed \(seed) step \(step)")
            #expect(try repo.head()?.hash == heads[current].map { hashes[$0] })
            #expect(Dictionary(uniqueKeysWithValues: try repo.branches().map { ($0.name, $0.commit) })
                    == heads.mapValues { hashes[$0] })
            #expect(Dictionary(uniqueKeysWithValues: try repo.tags().map { ($0.name, $0.commit) })
                    == tags.mapValues { hashes[$0] })
            for (b, _) in heads {
                #expect(try contents(repo.workingRoot(branch: b)) == workingOf(b), "branch \(b)")
            }
        }
        // Every branch's history is its model chain, and each commit holds its model root.
        for (b, h) in heads {
            var chain: [Int] = []
            var i: Int? = h
            while let j = i { chain.append(j); i = commits[j].parent }
            let log = try repo.log(from: hashes[h])
            #expect(log.map(\.hash) == chain.map { hashes[$0] }, "branch \(b)")
            for (c, j) in zip(log, chain) { #expect(try contents(repo.root(of: c)) == commits[j].root) }
            for n in 0..<chain.count {
                #expect(try repo.resolveCommit("\(b)~\(n)").hash == hashes[chain[n]])
            }
        }
    }
}
