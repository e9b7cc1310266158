import CairnStore
import CairnValues
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `cairn gc` freed.
public struct GCReport: Sendable, Equatable {
    public var chunksBefore = 0
    public var chunksDeleted = 0
    public var bytesStoredFreed = 0
    public var bytesUncompressedFreed = 0
    /// Chunks a writer put or referenced while the gc ran, kept with what is under them.
    public var chunksRenewed = 0
    public var reflogEntriesDropped = 0
    /// The file and its WAL, before and after.
    public var fileBytesBefore = 0
    public var fileBytesAfter = 0
    /// The longest write transaction of the gc (its start, a sweep step, a vacuum step), in
    /// milliseconds: the longest a writer waited for it.
    public var longestStepMs = 0.0
    public init() {}
}

/// `cairn gc`: drops the chunks nothing reaches and gives their space back to the file
/// system, safe against writers running at the same moment (docs/gc.md).
///
/// 1. A short transaction moves the write generation on and reads the roots: every ref, the
///    reflog's targets of the last 14 days (none with `pruneNow`), and every chunk stamped
///    since the oldest live writer began (an import, a merge or a transfer not yet reachable).
/// 2. The mark follows every reference from the roots, read from the chunks themselves (not
///    from the references recorded beside them: a gc must not trust a record it cannot check).
/// 3. The sweep deletes what is unmarked, parents before children, a few hundred chunks to a
///    transaction (writers wait milliseconds, never a second). A chunk a writer re-put or
///    referenced since the mark carries the new generation: it is spared, with everything
///    under it.
/// 4. The free pages go back to the file system, a step at a time.
public enum GarbageCollector {
    public static let reflogDays: Int64 = 14
    /// Chunks deleted to a write transaction.
    static let sweepStep = 512

    public enum Phase: Sendable { case marking, sweeping, reclaiming }

    static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
    }

    public static func collect(_ store: SQLiteChunkStore, pruneNow: Bool = false, now: Int64 = Int64(time(nil)),
                               progress: ((Phase, Int, Int?) -> Void)? = nil) throws -> GCReport {
        if let url = try store.setting("clone.pending") { throw RepositoryError.unfinishedClone(url) }
        var report = GCReport()
        report.chunksBefore = try store.stats().chunks
        report.fileBytesBefore = store.fileSize()
        let cutoff = pruneNow ? Int64.max : now - reflogDays * 86_400
        let began = clock()
        let start = try store.beginCollection(keepingReflogSince: cutoff)
        report.longestStepMs = clock() - began
        do {
            let marked = try mark(store, from: start.roots + (try store.chunks(stampedSince: start.keepFrom)), progress: progress)
            var candidates: [Hash] = []
            try store.forEachHash { h in if !marked.contains(h) { candidates.append(h) } }
            try sweep(store, candidates, keepFrom: start.keepFrom, report: &report, progress: progress)
            report.reflogEntriesDropped = try store.endCollection(start, droppingReflogBefore: cutoff)
        } catch {
            // Writers stop stamping; the reflog stays as it was.
            _ = try? store.endCollection(start, droppingReflogBefore: Int64.min)
            throw error
        }
        progress?(.reclaiming, 0, nil)
        let sizes = try store.reclaimSpace { ms in report.longestStepMs = max(report.longestStepMs, ms) }
        report.fileBytesAfter = sizes.after
        return report
    }

    /// Every chunk reachable from `roots` that is present.
    static func mark(_ store: any ChunkStore, from roots: [Hash], progress: ((Phase, Int, Int?) -> Void)?) throws -> Set<Hash> {
        var marked = Set<Hash>()
        var frontier: [Hash] = []
        for r in roots where marked.insert(r).inserted { frontier.append(r) }
        while !frontier.isEmpty {
            var next: [Hash] = []
            for start in stride(from: 0, to: frontier.count, by: 4096) {
                let part = Array(frontier[start..<min(frontier.count, start + 4096)])
                for (h, refs) in try references(of: part, in: store) {
                    // What is under a damaged chunk cannot be known: nothing is dropped then.
                    guard let refs else { throw StoreError.corruptChunk(h, reason: "it is damaged, so gc cannot tell what it reaches; run 'cairn fsck'") }
                    for r in refs where marked.insert(r).inserted { next.append(r) }
                }
            }
            progress?(.marking, marked.count, nil)
            frontier = next
        }
        return marked
    }

    /// The references of the chunks among `hashes` that are present: those read from their
    /// bytes (checked against their hash, on both cores) and those recorded beside them, both.
    /// Nil for a chunk whose bytes do not check, decompress or parse and that has none recorded.
    static func references(of hashes: [Hash], in store: any ChunkStore) throws -> [Hash: [Hash]?] {
        let stored = try store.getStored(hashes)
        let recorded = try store.storedRefs(hashes)
        let parsed = try parallelMap(stored) { c, decoder -> [Hash]? in
            guard let chunk = try? c.verified(using: decoder) else { return nil }
            return try? ChunkReferences.of(chunk)
        }
        var out: [Hash: [Hash]?] = [:]
        for (c, p) in zip(stored, parsed) {
            guard let p else {
                out[c.hash] = .some(nil)  // damaged: a record alone is not trusted
                continue
            }
            let r = recorded[c.hash] ?? []
            out[c.hash] = .some(r.isEmpty || r == p ? p : Array(Set(p).union(r)))
        }
        return out
    }

    /// Deletes `candidates`, parents first, sparing any a writer stamped since the mark and
    /// everything under those.
    static func sweep(_ store: SQLiteChunkStore, _ candidates: [Hash], keepFrom: Int64, report: inout GCReport,
                      progress: ((Phase, Int, Int?) -> Void)?) throws {
        guard !candidates.isEmpty else { return }
        let isCandidate = Set(candidates)
        var children: [Hash: [Hash]] = [:]
        for start in stride(from: 0, to: candidates.count, by: 4096) {
            let part = Array(candidates[start..<min(candidates.count, start + 4096)])
            for (h, refs) in try references(of: part, in: store) {
                let inside = (refs ?? []).filter { isCandidate.contains($0) }
                if !inside.isEmpty { children[h] = inside }
            }
        }
        // Parents first (Kahn's order over the candidates' own references).
        var parents: [Hash: Int] = [:]
        for (_, cs) in children { for c in cs { parents[c, default: 0] += 1 } }
        var order: [Hash] = candidates.filter { parents[$0] == nil }
        var i = 0
        while i < order.count {
            for c in children[order[i]] ?? [] {
                parents[c]! -= 1
                if parents[c] == 0 { order.append(c) }
            }
            i += 1
        }
        var spared = Set<Hash>()
        func spare(_ h: Hash) {
            var stack = [h]
            while let x = stack.popLast() {
                guard spared.insert(x).inserted else { continue }
                report.chunksRenewed += 1
                stack.append(contentsOf: children[x] ?? [])
            }
        }
        var at = 0
        while at < order.count {
            let step = order[at..<min(order.count, at + sweepStep)].filter { !spared.contains($0) }
            let t = clock()
            let outcome = try store.sweep(step, keepFrom: keepFrom)
            report.longestStepMs = max(report.longestStepMs, clock() - t)
            switch outcome {
            case .renewed(let hs):
                for h in hs { spare(h) }
            case let .deleted(n, stored, raw):
                report.chunksDeleted += n
                report.bytesStoredFreed += stored
                report.bytesUncompressedFreed += raw
                at += sweepStep
                progress?(.sweeping, at, order.count)
            }
        }
    }
}
