import CairnStore
import CairnValues

/// One thing `cairn fsck` found wrong: the chunk (nil for the file itself), what is wrong, and
/// the refs whose graph reaches it.
public struct StoreProblem: Sendable, Equatable, CustomStringConvertible {
    public let chunk: Hash?
    public let problem: String
    public var refs: [String]
    public var description: String {
        (chunk.map { "\($0): " } ?? "") + problem + (refs.isEmpty ? "" : " (reached from \(refs.joined(separator: ", ")))")
    }
}

public struct StoreCheckReport: Sendable {
    public var chunksChecked = 0
    public var problems: [StoreProblem] = []
}

/// `cairn fsck` (docs/reliability.md):
/// - every chunk reachable from any ref (branches, tags, remote-tracking refs, working sets
///   and the merges they hold): its bytes decompress and hash to its name, it decodes, the
///   references recorded beside it are the ones it holds, and every chunk it references is
///   present;
/// - the trees of every commit's and working set's root (each table and collection in it):
///   keys in order, counts that add up, boundaries where the chunker puts them
///   (`TreeInvariants`), each node once (a subtree two trees share is checked once); and the
///   rows of each ref's tables against their schema;
/// - the completeness invariant over every stored chunk, reachable or not;
/// - SQLite's `PRAGMA integrity_check`.
/// It reads the graph a batch at a time, holding the references of what it read (not the
/// chunks), so memory stays bounded by the store's chunk count.
public enum StoreCheck {
    public static func run(_ store: SQLiteChunkStore, progress: ((Int, Int) -> Void)? = nil) throws -> StoreCheckReport {
        var report = StoreCheckReport()
        let total = try store.stats().chunks
        let refs = try store.refs(prefix: "")
        var children: [Hash: [Hash]] = [:]
        var problems: [StoreProblem] = []
        func problem(_ h: Hash?, _ what: String) { problems.append(StoreProblem(chunk: h, problem: what, refs: [])) }

        // 1. The reachable graph, level by level.
        var seen = Set<Hash>()
        var valueChunks: [Hash] = []  // commits, working sets, rows out of line
        var frontier: [(Hash, Hash?)] = []  // (chunk, the parent that references it)
        for r in refs where seen.insert(r.hash).inserted { frontier.append((r.hash, nil)) }
        while !frontier.isEmpty {
            var next: [(Hash, Hash?)] = []
            for start in stride(from: 0, to: frontier.count, by: 2048) {
                let part = frontier[start..<min(frontier.count, start + 2048)]
                let hashes = part.map(\.0)
                let stored = try readStored(hashes, store, problem: problem)
                let recorded = try store.storedRefs(hashes)
                let found = Set(stored.map(\.hash))
                for (h, parent) in part where !found.contains(h) {
                    if let parent {
                        problem(h, "missing: \(parent) references it")
                    } else {
                        problem(h, "missing: the target of \(refs.filter { $0.hash == h }.map(\.name).joined(separator: ", "))")
                    }
                }
                let checked = try parallelMap(stored) { c, decoder in Self.check(c, decoder) }
                for (c, result) in zip(stored, checked) {
                    report.chunksChecked += 1
                    switch result {
                    case .failure(let why):
                        problem(c.hash, why)
                    case .success(let (rs, level)):
                        if level == nil { valueChunks.append(c.hash) }
                        if let rec = recorded[c.hash], rec != rs, !Set(rs).isSubset(of: rec) {
                            problem(c.hash, "the references recorded beside it (\(rec.count)) leave out some of the \(rs.count) it holds")
                        }
                        if !rs.isEmpty { children[c.hash] = rs }
                        for r in rs where seen.insert(r).inserted { next.append((r, c.hash)) }
                    }
                }
            }
            progress?(report.chunksChecked, total)
            frontier = next
        }

        // 2. The trees of every commit's and working set's root, each node once (a memo of
        //    the subtrees found sound), and the rows of each ref's tables against their schema.
        let nodes = NodeStore(store, cacheBytes: 16 << 20)
        let memo = TreeCheckMemo()
        var roots: [Hash: ProllyMap] = [:]
        for h in valueChunks {
            guard let chunk = try? store.get(h) else { continue }
            if let m = try? valueRoot(of: chunk, nodes: nodes) { roots[m.hash] = m }
        }
        for (_, root) in roots {
            for p in treeProblems(root, memo: memo) { problem(p.node ?? root.hash, p.problem) }
        }
        var tips = Set<Hash>()
        for r in refs {
            guard let chunk = try? store.get(r.hash), let root = try? valueRoot(of: chunk, nodes: nodes), tips.insert(root.hash).inserted else { continue }
            try? root.forEach { _, v in
                if case .table(let t) = v { for p in (try? t.rowProblems()) ?? [] { problem(p.node ?? root.hash, p.problem) } }
                return true
            }
        }

        // 3. Every other stored chunk: its bytes check and decode, and what it references
        //    (read from it and recorded beside it) is present, reachable or not.
        var all = Set<Hash>(minimumCapacity: total)
        try store.forEachHash { all.insert($0) }
        let unreachable = Array(all.lazy.filter { !seen.contains($0) })
        for start in stride(from: 0, to: unreachable.count, by: 2048) {
            let part = Array(unreachable[start..<min(unreachable.count, start + 2048)])
            let stored = try readStored(part, store, problem: problem)
            let recorded = try store.storedRefs(part)
            let checked = try parallelMap(stored) { c, decoder in Self.check(c, decoder) }
            for (c, result) in zip(stored, checked) {
                report.chunksChecked += 1
                var refs = recorded[c.hash] ?? []
                switch result {
                case .failure(let why): problem(c.hash, why + " (no ref reaches it)")
                case .success(let (rs, _)): refs += rs
                }
                for r in Set(refs) where !all.contains(r) {
                    problem(r, "missing: \(c.hash) references it (no ref reaches \(c.hash))")
                }
            }
            progress?(report.chunksChecked, total)
        }

        // 4. The file itself.
        for line in try store.integrityProblems() { problem(nil, "SQLite integrity check: \(line)") }

        // Which refs reach each problem: up the graph read in step 1.
        if !problems.isEmpty {
            var parents: [Hash: [Hash]] = [:]
            for (p, cs) in children { for c in cs { parents[c, default: []].append(p) } }
            var byTarget: [Hash: [String]] = [:]
            for r in refs { byTarget[r.hash, default: []].append(r.name) }
            for i in problems.indices {
                guard let h = problems[i].chunk else { continue }
                var names = Set<String>()
                var up = [h], visited: Set<Hash> = [h]
                while let x = up.popLast() {
                    names.formUnion(byTarget[x] ?? [])
                    for p in parents[x] ?? [] where visited.insert(p).inserted { up.append(p) }
                }
                problems[i].refs = names.sorted()
            }
        }
        report.problems = problems
        return report
    }

    /// The stored forms of `hashes`; when the batch cannot be read (a chunk with an unknown
    /// codec), each chunk alone, naming those that cannot.
    static func readStored(_ hashes: [Hash], _ store: SQLiteChunkStore, problem: (Hash?, String) -> Void) throws -> [StoredChunk] {
        do { return try store.getStored(hashes) } catch StoreError.corruptChunk {
            var out: [StoredChunk] = []
            for h in hashes {
                do { out += try store.getStored([h]) } catch StoreError.corruptChunk(_, let reason) { problem(h, reason) }
            }
            return out
        }
    }

    /// A stored chunk's references, or what is wrong with it.
    static func check(_ c: StoredChunk, _ decoder: StoredChunkDecoder) -> CheckResult {
        let data: [UInt8]
        do { data = try c.decompressed(using: decoder) } catch { return .failure("does not decompress: \(error)") }
        let actual = Hash(of: data)
        guard actual == c.hash else { return .failure("its bytes hash to \(actual)") }
        do {
            let d = try ChunkReferences.describe(Chunk(hash: c.hash, data: data))
            return .success((d.refs, d.treeLevel))
        } catch {
            return .failure("does not decode: \(error)")
        }
    }

    enum CheckResult { case success(([Hash], Int?)), failure(String) }

    /// The root Map a value chunk holds: a commit's root, or a working set's; nil for any other.
    static func valueRoot(of chunk: Chunk, nodes: NodeStore) throws -> ProllyMap? {
        if try Commit.graphInfoIfCommit(chunk, store: nodes) != nil {
            return try ProllyMap.load(try Commit.decode(chunk, store: nodes).root, store: nodes)
        }
        return try? WorkingSet.read(chunk.hash, store: nodes).root
    }

    /// The invariant problems of a root Map and of each collection it holds, skipping the
    /// subtrees `memo` knows; a tree that cannot be read is a problem step 1 names already.
    static func treeProblems(_ root: ProllyMap, memo: TreeCheckMemo) -> [TreeProblem] {
        var out = (try? Value.map(root).treeProblems(memo: memo, storedRoot: true)) ?? []
        try? root.forEach { _, v in
            out += (try? v.treeProblems(memo: memo)) ?? []
            return true
        }
        return out
    }
}
