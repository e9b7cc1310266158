import CairnStore
import CairnValues
import CairnVersioning
import Dispatch

/// Decides what a transfer sends: every chunk reachable from the wanted heads that the
/// receiver lacks, ordered children before parents (docs/sync.md).
///
/// - Commits: the commits reachable from the wants and not from the haves, found by walking
///   generations down (git's `rev-list WANTS --not HAVES`).
/// - Values: the new commits' roots are walked against the roots the receiver has (the haves'
///   and the new commits' old parents'), both sides one tree level at a time from the top, so a
///   subtree whose hash both hold is never opened. A 3-row change in a 1M-row table opens a
///   few nodes a level.
/// - When nothing is known in common (no haves), `receiverHas` is asked which chunks of each
///   level the receiver holds, in large batches; what it holds is pruned with everything under it.
package final class SendPlanner {
    package typealias Oracle = @Sendable ([Hash]) async throws -> Set<Hash>

    let source: any ChunkStore
    let nodes: NodeStore
    let receiverHas: Oracle?
    /// Hashes an oracle call takes at once.
    static let oracleBatch = 16_384

    /// What is known of a chunk that has been read: its references, and its class for the
    /// level walk (a tree node's level; ``valueClass`` for any other chunk).
    private var refsOf: [Hash: [Hash]] = [:]
    private var classOf: [Hash: Int] = [:]
    static let valueClass = Int.max

    private var emitted: [Hash] = []
    private var emittedRefs: [Hash: [Hash]] = [:]
    private var seenNew = Set<Hash>()
    private var seenOld = Set<Hash>()
    /// The frontiers: chunks to consider sending, and the receiver's chunks to match them against.
    private var newFrontier: [Hash: Int?] = [:]
    private var oldFrontier: [Hash: Int?] = [:]
    private var asked = Set<Hash>()
    /// How many chunks were read: what the tests and the bench look at.
    package private(set) var chunksRead = 0

    /// How many more of the receiver's chunks of a level than 4 × the sender's are still opened.
    let oldLevelSlack: Int

    /// Whether the references the store recorded stand in for reading chunks (asking the
    /// receiver, nothing to match). Off: every chunk is read, as a retry does when the
    /// receiver said a chunk's children were missing.
    let useRecordedRefs: Bool

    package init(source: any ChunkStore, receiverHas: Oracle?, oldLevelSlack: Int = 64, useRecordedRefs: Bool = true) {
        self.source = source
        self.oldLevelSlack = oldLevelSlack
        self.useRecordedRefs = useRecordedRefs
        self.nodes = NodeStore(source)
        self.receiverHas = receiverHas
    }

    /// The chunks to send, children first. `haves` the source does not hold are ignored.
    package func plan(wants: [Hash], haves: [Hash]) async throws -> [Hash] {
        let present = try source.hasMany(haves)
        let haves = haves.filter { present.contains($0) }
        try await walkCommits(wants: wants, haves: haves)
        try await walkValues()
        return childrenFirst()
    }

    // MARK: Commits

    private func read(_ hashes: [Hash]) throws -> [Hash: Chunk] {
        let chunks = try source.getMany(hashes)
        chunksRead += chunks.count
        for h in hashes where chunks[h] == nil { throw SyncError.missingChunk(h) }
        return chunks
    }

    private func walkCommits(wants: [Hash], haves: [Hash]) async throws {
        struct Entry { let generation: UInt64; let hash: Hash; let parents: [Hash]; let refs: [Hash] }
        var flags: [Hash: UInt8] = [:]  // 1: reachable from a want, 2: from a have
        var entries: [Hash: Entry] = [:]
        var heap = Heap<(UInt64, Hash)> { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) }
        // The commits in the heap reached from wants only: the walk goes on while there are any.
        // A set, not a count, so bogus generations in received commits cannot stop it early.
        var pendingNew = Set<Hash>()

        // Read a batch at a time: a request naming many heads is never read whole.
        func load(_ hashes: [Hash]) throws -> [Hash] {
            var commits: [Hash] = []
            for start in stride(from: 0, to: hashes.count, by: 256) {
                let part = Array(hashes[start..<min(hashes.count, start + 256)])
                let chunks = try read(part)
                for h in part {
                    let chunk = chunks[h]!
                    if let g = try Commit.graphInfoIfCommit(chunk, store: nodes) {
                        entries[h] = Entry(generation: g.generation, hash: h, parents: g.parents, refs: try ChunkReferences.of(chunk))
                        commits.append(h)
                    }
                }
            }
            return commits
        }

        let wantCommits = Set(try load(wants))
        for w in wants where !wantCommits.contains(w) && !seenNew.contains(w) {
            seenNew.insert(w)
            newFrontier[w] = .some(nil)
        }
        let haveCommits = Set(try load(haves))
        for h in haves {
            if haveCommits.contains(h) {
                addOldRoots(of: entries[h]!)
            } else {
                addOld(h, class: nil)
            }
        }
        for h in wantCommits where flags[h] == nil { flags[h] = 1; heap.push((entries[h]!.generation, h)); pendingNew.insert(h) }
        for h in haveCommits {
            pendingNew.remove(h)
            if flags[h] == nil { heap.push((entries[h]!.generation, h)) }
            flags[h, default: 0] |= 2
        }

        var newCommits: [Hash] = []
        var boundary = Set<Hash>()
        while !pendingNew.isEmpty, let (_, h) = heap.pop() {
            let f = flags[h]!
            pendingNew.remove(h)
            if entries[h] == nil { _ = try load([h]) }
            guard let e = entries[h] else { throw StoreError.corruptChunk(h, reason: "a commit's parent is not a commit") }
            let unknown = e.parents.filter { entries[$0] == nil }
            if !unknown.isEmpty { _ = try load(unknown) }
            for p in e.parents {
                let before = flags[p]
                if before == nil { heap.push((entries[p]?.generation ?? 0, p)) }
                if f & 2 != 0 {
                    pendingNew.remove(p)
                    flags[p, default: 0] |= 2
                } else {
                    if before == nil { pendingNew.insert(p) }
                    flags[p, default: 0] |= 1
                }
            }
            if f == 1 { newCommits.append(h) }
        }
        // A commit reached from both sides after it was taken as new is old after all.
        newCommits.removeAll { flags[$0]! & 2 != 0 }
        if let receiverHas, !newCommits.isEmpty {
            let held = try await ask(receiverHas, newCommits)
            for h in newCommits where held.contains(h) { flags[h, default: 0] |= 2 }
            newCommits.removeAll { held.contains($0) }
        }
        for h in newCommits {
            let e = entries[h]!
            for p in e.parents where flags[p].map({ $0 & 2 != 0 }) ?? false { boundary.insert(p) }
        }
        for b in boundary {
            if entries[b] == nil { _ = try load([b]) }
            if let e = entries[b] { addOldRoots(of: e) }
        }
        for h in newCommits {
            let e = entries[h]!
            seenNew.insert(h)
            emit(h, refs: e.refs)
            let parents = Set(e.parents)
            for r in e.refs where !parents.contains(r) { addNew(r, class: nil) }
        }

        func addOldRoots(of e: Entry) {
            let parents = Set(e.parents)
            for r in e.refs where !parents.contains(r) { addOld(r, class: nil) }
        }
    }

    // MARK: Values

    // A hash both sides reach is shared: it leaves both frontiers, so neither side opens it.
    private func addNew(_ h: Hash, class c: Int?) {
        if seenOld.contains(h) {
            oldFrontier.removeValue(forKey: h)
            return
        }
        guard !seenNew.contains(h) else { return }
        seenNew.insert(h)
        newFrontier[h] = .some(c)
    }

    private func addOld(_ h: Hash, class c: Int?) {
        guard !seenOld.contains(h) else { return }
        seenOld.insert(h)
        if newFrontier.removeValue(forKey: h) != nil { return }
        oldFrontier[h] = .some(c)
    }

    private func emit(_ h: Hash, refs: [Hash]) {
        emitted.append(h)
        emittedRefs[h] = refs
    }

    /// Reads the chunks among `hashes` not read yet, recording their references and class.
    /// Reads the stored bytes and parses them on every core, without checking their hashes:
    /// the receiver checks every chunk it is sent.
    private func describe(_ hashes: [Hash]) throws {
        var todo = hashes.filter { refsOf[$0] == nil }
        guard !todo.isEmpty else { return }
        // Asking the receiver, with nothing of its own to match: the order of the walk does
        // not matter, so the references the store recorded will do, and the chunks are not
        // read at all. A chunk whose level is not known from its parent counts as a value.
        // Internal tree nodes have none recorded: they are read.
        if useRecordedRefs && receiverHas != nil && oldFrontier.isEmpty && seenOld.isEmpty {
            let recorded = try source.storedRefs(todo)
            chunksRead += recorded.count
            for (h, refs) in recorded {
                refsOf[h] = refs
                classOf[h] = Self.valueClass
            }
            if recorded.count == todo.count { return }
            todo.removeAll { recorded[$0] != nil }
        }
        let stored = try source.getStored(todo)
        chunksRead += stored.count
        guard stored.count == todo.count else {
            let got = Set(stored.map(\.hash))
            throw SyncError.missingChunk(todo.first { !got.contains($0) }!)
        }
        let described = try parallelMap(stored) { c, decoder in
            try ChunkReferences.describe(Chunk(hash: c.hash, data: try c.decompressed(using: decoder)))
        }
        for (c, d) in zip(stored, described) {
            refsOf[c.hash] = d.refs
            classOf[c.hash] = d.treeLevel ?? Self.valueClass
        }
    }

    private func walkValues() async throws {
        while !newFrontier.isEmpty {
            if let receiverHas {
                let toAsk = newFrontier.keys.filter { !asked.contains($0) }
                if !toAsk.isEmpty {
                    asked.formUnion(toAsk)
                    let held = try await ask(receiverHas, Array(toAsk))
                    for h in held { newFrontier.removeValue(forKey: h) }
                    SyncTrace.mark("plan: asked \(toAsk.count)")
                }
            }
            // Classes not known from a parent's level are read.
            let unknown = newFrontier.filter { $0.value == nil }.map(\.key) + oldFrontier.filter { $0.value == nil }.map(\.key)
            try describe(unknown)
            for h in unknown {
                if newFrontier[h] != nil { newFrontier[h] = classOf[h]! }
                if oldFrontier[h] != nil { oldFrontier[h] = classOf[h]! }
            }
            guard let top = newFrontier.values.compactMap({ $0 }).max() else { break }
            // The receiver's side comes down to the same level first, so equal subtrees meet.
            let oldAbove = oldFrontier.filter { ($0.value ?? 0) > top }.map(\.key)
            let oldLevel = oldFrontier.filter { $0.value == top }.map(\.key)
            let newLevel = newFrontier.filter { $0.value == top }.map(\.key)
            // Past a budget, the receiver's chunks of this level are not opened: an unrelated
            // tree is not read whole to save a few chunks.
            let openOld = oldAbove + (oldLevel.count <= 4 * newLevel.count + oldLevelSlack ? oldLevel : [])
            for h in oldAbove + oldLevel { oldFrontier.removeValue(forKey: h) }
            try describe(openOld + newLevel)
            SyncTrace.mark("plan: described \(openOld.count + newLevel.count)")
            for h in openOld {
                let c = classOf[h]!
                for r in refsOf.removeValue(forKey: h)! { addOld(r, class: c != Self.valueClass && c > 0 ? c - 1 : nil) }
            }
            for h in newLevel where newFrontier[h] != nil {
                newFrontier.removeValue(forKey: h)
                let refs = refsOf.removeValue(forKey: h)!
                emit(h, refs: refs)
                for r in refs { addNew(r, class: top != Self.valueClass && top > 0 ? top - 1 : nil) }
            }
        }
    }

    private func ask(_ oracle: @escaping Oracle, _ hashes: [Hash]) async throws -> Set<Hash> {
        if hashes.count <= Self.oracleBatch { return try await oracle(hashes) }
        // Batches in flight together.
        return try await withThrowingTaskGroup(of: Set<Hash>.self) { group in
            for start in stride(from: 0, to: hashes.count, by: Self.oracleBatch) {
                let part = Array(hashes[start..<min(hashes.count, start + Self.oracleBatch)])
                group.addTask { try await oracle(part) }
            }
            var all = Set<Hash>()
            for try await s in group { all.formUnion(s) }
            return all
        }
    }

    /// The references of stored chunks: those the store recorded, and for the rest, read from
    /// their bytes (decompressed and parsed on both cores, not re-hashed: the receiver checks).
    static func references(of stored: [StoredChunk], recorded: [Hash: [Hash]]) throws -> [[Hash]] {
        let unrecorded = stored.filter { recorded[$0.hash] == nil }
        let read = try parallelMap(unrecorded, parallelFrom: 16) { c, decoder in
            try ChunkReferences.of(Chunk(hash: c.hash, data: try c.decompressed(using: decoder)))
        }
        let parsed = Dictionary(zip(unrecorded.map(\.hash), read), uniquingKeysWith: { a, _ in a })
        return stored.map { recorded[$0.hash] ?? parsed[$0.hash]! }
    }


    // MARK: Order

    /// The emitted chunks, each after every emitted chunk it references (a depth-first
    /// post-order), so the receiver can store every batch as it arrives.
    private func childrenFirst() -> [Hash] {
        var out: [Hash] = []
        out.reserveCapacity(emitted.count)
        var done = Set<Hash>(minimumCapacity: emitted.count)
        var stack: [(Hash, Int)] = []
        for root in emitted where !done.contains(root) {
            stack.append((root, 0))
            done.insert(root)
            while let (h, i) = stack.last {
                let refs = emittedRefs[h] ?? []
                if i < refs.count {
                    stack[stack.count - 1].1 = i + 1
                    let r = refs[i]
                    if emittedRefs[r] != nil && !done.contains(r) {
                        done.insert(r)
                        stack.append((r, 0))
                    }
                } else {
                    out.append(h)
                    stack.removeLast()
                }
            }
        }
        return out
    }
}

/// A binary heap ordered by `before`: the element for which `before` holds against all others
/// comes out first.
struct Heap<Element> {
    private var items: [Element] = []
    private let before: (Element, Element) -> Bool
    init(_ before: @escaping (Element, Element) -> Bool) { self.before = before }
    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard before(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && before(items[l], items[m]) { m = l }
            if r < items.count && before(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
