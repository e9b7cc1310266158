import CairnStore
import CairnValues

extension Repository {
    /// The best common ancestors of two commits: those that are ancestors of both and of which
    /// no other common ancestor is a descendant. Empty for unrelated histories; one commit in a
    /// plain fork; several in a criss-cross history. Sorted by hash, so callers that fold
    /// them get the same result every time.
    ///
    /// The walk goes down by generation number (never by date, which can skew), as git's
    /// `paint_down_to_common` does: each commit is painted with the sides it is reached from,
    /// a commit reached from both is a result and paints its ancestors stale, and the walk
    /// stops when only stale commits are left. Parents are read a generation at a time, in one
    /// batch from the store, so the cost is about the commits since the fork.
    public func mergeBases(_ a: Hash, _ b: Hash) throws -> [Hash] {
        if a == b { return [a] }
        var walk = AncestorWalk(repository: self)
        return try walk.commonAncestors(a, b)
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors. A parent of `descendant` (a
    /// pull or push of new commits on top of the old head) is judged from `descendant` alone.
    public func isAncestor(_ ancestor: Hash, of descendant: Hash) throws -> Bool {
        if ancestor == descendant { return true }
        guard let chunk = try chunks.get(descendant) else { throw RepositoryError.unknownRevision(descendant.description) }
        if try Commit.graphInfo(chunk, store: store).parents.contains(ancestor) { return true }
        return try mergeBases(ancestor, descendant) == [ancestor]
    }
}

/// The state of one generation-ordered walk down the commit DAG from two commits.
struct AncestorWalk {
    let repository: Repository
    /// Generation and parents of every commit read so far.
    private var known: [Hash: (generation: UInt64, parents: [Hash])] = [:]
    private var flags: [Hash: UInt8] = [:]
    private static let fromA: UInt8 = 1, fromB: UInt8 = 2, stale: UInt8 = 4, result: UInt8 = 8

    init(repository: Repository) { self.repository = repository }

    /// Reads the commits not yet known, in one batch.
    private mutating func load(_ hashes: [Hash]) throws {
        let missing = Array(Set(hashes.filter { known[$0] == nil }))
        if missing.isEmpty { return }
        let chunks = try repository.chunks.getMany(missing)
        for h in missing {
            guard let chunk = chunks[h] else { throw RepositoryError.unknownRevision(h.description) }
            known[h] = try Commit.graphInfo(chunk, store: repository.store)
        }
    }

    mutating func commonAncestors(_ a: Hash, _ b: Hash) throws -> [Hash] {
        try load([a, b])
        flags[a, default: 0] |= Self.fromA
        flags[b, default: 0] |= Self.fromB
        // The queue: commits to visit, by generation. Every commit of the highest generation is
        // visited together, and their parents are read in one batch.
        var queue: [UInt64: Set<Hash>] = [:]
        var generations: [UInt64] = []  // a max-heap of the queue's generations
        func push(_ h: Hash, _ g: UInt64) {
            if queue[g] == nil {
                queue[g] = []
                generations.heapPush(g)
            }
            queue[g]!.insert(h)
        }
        push(a, known[a]!.generation)
        push(b, known[b]!.generation)
        var results: [Hash] = []
        var nonStaleQueued = 2
        while nonStaleQueued > 0, let g = generations.heapPop() {
            let batch = queue.removeValue(forKey: g)!.sorted()
            for h in batch where flags[h]! & Self.stale == 0 { nonStaleQueued -= 1 }
            try load(batch.flatMap { known[$0]!.parents })
            for h in batch {
                var f = flags[h]! & (Self.fromA | Self.fromB | Self.stale)
                if f == Self.fromA | Self.fromB {
                    flags[h]! |= Self.result
                    results.append(h)
                    f |= Self.stale
                }
                for p in known[h]!.parents {
                    // A parent has a lower generation than its child, so it is not visited
                    // yet: painted before means queued.
                    let had = flags[p] ?? 0
                    if had & f == f { continue }
                    let now = had | f
                    flags[p] = now
                    if had == 0 {
                        push(p, known[p]!.generation)
                        if now & Self.stale == 0 { nonStaleQueued += 1 }
                    } else if had & Self.stale == 0 && now & Self.stale != 0 {
                        nonStaleQueued -= 1
                    }
                }
            }
        }
        // A common ancestor that another one reaches is painted stale by it before it is
        // visited (its generation is lower), so every result is a best common ancestor.
        return results.sorted()
    }
}

extension Array where Element == UInt64 {
    mutating func heapPush(_ x: UInt64) {
        append(x)
        var i = count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if self[p] >= self[i] { break }
            swapAt(p, i)
            i = p
        }
    }

    mutating func heapPop() -> UInt64? {
        guard !isEmpty else { return nil }
        swapAt(0, count - 1)
        let top = removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < count && self[l] > self[m] { m = l }
            if r < count && self[r] > self[m] { m = r }
            if m == i { break }
            swapAt(i, m)
            i = m
        }
        return top
    }
}
