import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a gc starts from (``SQLiteChunkStore/beginCollection(keepingReflogSince:)``).
public struct CollectionStart: Sendable {
    /// The generation writers stamp chunks with from now on.
    public let generation: Int64
    /// Every chunk stamped at this generation or later is kept: the oldest live writer's
    /// generation, or ``generation`` when no writer is live.
    public let keepFrom: Int64
    /// The chunks the mark starts from: every ref's target and the reflog's kept targets.
    public internal(set) var roots: [Hash]
    /// How many reflog entries the roots come from.
    public internal(set) var reflogEntries: Int
    /// The newest reflog entry when the gc began: entries made since are not the gc's to drop.
    public let reflogNewest: Int64
}

/// One step of a sweep: the chunks deleted, or, when some chunk of the step was stamped again
/// since the mark (a writer re-put it or referenced it), those chunks, and nothing deleted.
public enum SweepStep: Sendable, Equatable {
    case deleted(chunks: Int, bytesStored: Int, bytesUncompressed: Int)
    case renewed([Hash])
}

/// One entry of the reflog: a ref moved from `old` to `new` (nil: created, deleted) at `time`.
public struct ReflogEntry: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let old: Hash?
    public let new: Hash?
    /// Seconds since 1970.
    public let time: Int64
}

/// The gc's steps on the SQLite store (docs/gc.md). The mark itself, which follows chunks'
/// references, sits above (CairnVersioning's `GarbageCollector`).
extension SQLiteChunkStore {
    /// Starts a collection, in one short write transaction: the write generation moves on (so
    /// what writers put from now on is told apart from what the mark sees), writers start
    /// stamping the chunks they reference, dead writers' records go, and the roots are read:
    /// every ref, and the targets of the reflog entries made at `cutoff` (seconds since 1970)
    /// or later, or while a live writer was running. Refused when another gc is collecting.
    public func beginCollection(keepingReflogSince cutoff: Int64) throws -> CollectionStart {
        // One gc of a file at a time in this process (its id cannot tell two apart).
        guard Self.collections.withLock({ $0.insert(path).inserted }) else {
            throw StoreError.busy("another gc of this store is running in this process")
        }
        do { return try startCollection(keepingReflogSince: cutoff) } catch {
            Self.collections.withLock { _ = $0.remove(path) }
            throw error
        }
    }

    static let collections = Locked(Set<String>())

    private func startCollection(keepingReflogSince cutoff: Int64) throws -> CollectionStart {
        var start = try withConnection { conn in
            try conn.transaction {
                let st = try conn.statement("SELECT generation, collecting FROM totals WHERE id = 0")
                guard try st.step() else { throw StoreError.corruptStore(reason: "the totals row is missing") }
                let g0 = st.int(0), collector = st.int(1)
                st.reset()
                let me = Int64(getpid())
                if collector != 0 && collector != me && Self.isAlive(collector) {
                    throw StoreError.busy("another gc (process \(collector)) is collecting this store")
                }
                let generation = g0 + 1
                let bump = try conn.statement("UPDATE totals SET generation = ?, collecting = ? WHERE id = 0")
                try bump.bind(1, generation)
                try bump.bind(2, me)
                try bump.step()

                var keepFrom = generation
                let writers = try conn.statement("SELECT id, pid, gen FROM writers")
                var dead: [Int64] = []
                while try writers.step() {
                    if Self.isAlive(writers.int(1)) { keepFrom = min(keepFrom, writers.int(2)) } else { dead.append(writers.int(0)) }
                }
                writers.reset()
                let drop = try conn.statement("DELETE FROM writers WHERE id = ?")
                for id in dead {
                    drop.reset()
                    try drop.bind(1, id)
                    try drop.step()
                }

                var roots: [Hash] = []
                let refs = try conn.statement("SELECT hash FROM refs")
                while try refs.step() { if let h = refs.hash(0) { roots.append(h) } }
                refs.reset()
                let newest = try conn.scalarInt("SELECT coalesce(max(id), 0) FROM reflog") ?? 0
                return CollectionStart(generation: generation, keepFrom: keepFrom, roots: roots, reflogEntries: 0,
                                       reflogNewest: newest)
            }
        }
        // The reflog's roots, read after that write and outside it, so writers do not wait for
        // a scan of the whole reflog: its entries up to `newest` are fixed (only gc deletes
        // them), and a move made since stamped its target, as `collecting` is set.
        return try withReaderConnection { conn in
            try conn.transaction(immediate: false) {
                let log = try conn.statement("SELECT old, new FROM reflog WHERE id <= ? AND (time >= ? OR gen >= ?)")
                try log.bind(1, start.reflogNewest)
                try log.bind(2, cutoff)
                try log.bind(3, start.keepFrom)
                defer { log.reset() }
                while try log.step() {
                    start.reflogEntries += 1
                    if let h = log.hash(0) { start.roots.append(h) }
                    if let h = log.hash(1) { start.roots.append(h) }
                }
                return start
            }
        }
    }

    /// The chunks stamped at generation `gen` or later: what live writers have put.
    public func chunks(stampedSince gen: Int64) throws -> [Hash] {
        try withConnection { conn in
            let st = try conn.statement("SELECT hash FROM chunks WHERE gen >= ?")
            try st.bind(1, gen)
            var out: [Hash] = []
            while try st.step() { if let h = st.hash(0) { out.append(h) } }
            return out
        }
    }

    /// Deletes `hashes` in one write transaction, unless one of them has been stamped at
    /// `keepFrom` or later since the mark: then it deletes nothing and names those, and the
    /// caller spares them and everything under them. The caller orders its steps parents
    /// first, so what is left stays complete after every step.
    public func sweep(_ hashes: [Hash], keepFrom: Int64) throws -> SweepStep {
        try withConnection { conn in
            try conn.transaction {
                let read = try conn.statement("SELECT gen, length(data), size FROM chunks WHERE hash = ?")
                var renewed: [Hash] = []
                var present: [(Hash, Int, Int)] = []
                for h in hashes {
                    read.reset()
                    try read.bind(1, h)
                    guard try read.step() else { continue }
                    if read.int(0) >= keepFrom { renewed.append(h) } else { present.append((h, Int(read.int(1)), Int(read.int(2)))) }
                }
                read.reset()
                if !renewed.isEmpty { return .renewed(renewed) }
                let delete = try conn.statement("DELETE FROM chunks WHERE hash = ?")
                var stored = 0, raw = 0
                for (h, s, r) in present {
                    delete.reset()
                    try delete.bind(1, h)
                    try delete.step()
                    stored += s
                    raw += r
                }
                delete.reset()
                if !present.isEmpty {
                    let totals = try conn.statement(
                        "UPDATE totals SET chunks = chunks - ?, bytes_stored = bytes_stored - ?, bytes_uncompressed = bytes_uncompressed - ? WHERE id = 0")
                    try totals.bind(1, Int64(present.count))
                    try totals.bind(2, Int64(stored))
                    try totals.bind(3, Int64(raw))
                    try totals.step()
                }
                return .deleted(chunks: present.count, bytesStored: stored, bytesUncompressed: raw)
            }
        }
    }

    /// Ends the collection `start` began: writers stop stamping what they reference, and the
    /// reflog entries older than `cutoff` go, but not those made since the gc began, nor those
    /// a live writer's record kept (made at `keepFrom` or later). Returns how many went.
    @discardableResult
    public func endCollection(_ start: CollectionStart, droppingReflogBefore cutoff: Int64) throws -> Int {
        defer { Self.collections.withLock { _ = $0.remove(path) } }
        // Which entries go, found by a scan outside any write; then deleted by id, 512 to a
        // transaction, so writers wait for no scan of the reflog.
        let doomed: [Int64] = try withReaderConnection { conn in
            try conn.transaction(immediate: false) {
                let find = try conn.statement("SELECT id FROM reflog WHERE id <= ? AND time < ? AND gen < ?")
                try find.bind(1, start.reflogNewest)
                try find.bind(2, cutoff)
                try find.bind(3, start.keepFrom)
                defer { find.reset() }
                var ids: [Int64] = []
                while try find.step() { ids.append(find.int(0)) }
                return ids
            }
        }
        return try withConnection { conn in
            var dropped = 0
            var from = 0
            repeat {
                let part = doomed[from..<min(doomed.count, from + 512)]
                from += part.count
                try conn.transaction {
                    let drop = try conn.statement("DELETE FROM reflog WHERE id = ?")
                    for id in part {
                        drop.reset()
                        try drop.bind(1, id)
                        try drop.step()
                        dropped += conn.changes
                    }
                    drop.reset()
                    if from >= doomed.count {
                        let clear = try conn.statement("UPDATE totals SET collecting = 0 WHERE id = 0 AND collecting = ?")
                        try clear.bind(1, Int64(getpid()))
                        try clear.step()
                    }
                }
            } while from < doomed.count
            return dropped
        }
    }

    /// Gives the file's free pages back to the file system, `pagesPerStep` pages (32 KiB each)
    /// to a write transaction so writers wait briefly, then checkpoints the WAL. Returns the
    /// file's size before and after, in bytes.
    @discardableResult
    public func reclaimSpace(pagesPerStep: Int = 512, stepTook: (Double) -> Void = { _ in }) throws -> (before: Int, after: Int) {
        let before = fileSize()
        // One step at a time under the lock, so this process's writers get their turns too.
        // It stops when a step frees nothing (a file whose auto_vacuum is not INCREMENTAL).
        var left = Int64.max
        while try withConnection({ conn in
            guard let free = try conn.scalarInt("PRAGMA freelist_count"), free > 0, free < left else { return false }
            left = free
            var a = timespec(), b = timespec()
            clock_gettime(CLOCK_MONOTONIC, &a)
            try conn.execute("PRAGMA incremental_vacuum(\(pagesPerStep))")
            clock_gettime(CLOCK_MONOTONIC, &b)
            stepTook(Double(b.tv_sec - a.tv_sec) * 1000 + Double(b.tv_nsec - a.tv_nsec) / 1e6)
            return true
        }) {}
        try withConnection { conn in
            // Readers may hold the WAL: then what was checkpointed is all that shrinks now.
            if (try? conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")) == nil {
                try? conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }
        }
        return (before, fileSize())
    }

    /// The store's size on disk: the file and its WAL.
    public func fileSize() -> Int {
        var total = 0
        for p in [path, path + "-wal"] {
            var s = stat()
            if stat(p, &s) == 0 { total += Int(s.st_size) }
        }
        return total
    }

    /// The reflog, newest first: every entry, or those of ref `name`.
    public func reflog(name: String? = nil, limit: Int = Int.max) throws -> [ReflogEntry] {
        try withConnection { conn in
            let st: SQLiteStatement
            if let name {
                st = try conn.statement("SELECT id, name, old, new, time FROM reflog WHERE name = ? ORDER BY id DESC LIMIT ?")
                try st.bind(1, name)
                try st.bind(2, Int64(min(limit, Int(Int64.max))))
            } else {
                st = try conn.statement("SELECT id, name, old, new, time FROM reflog ORDER BY id DESC LIMIT ?")
                try st.bind(1, Int64(min(limit, Int(Int64.max))))
            }
            var out: [ReflogEntry] = []
            while try st.step() {
                out.append(ReflogEntry(id: st.int(0), name: st.text(1), old: st.hash(2), new: st.hash(3), time: st.int(4)))
            }
            return out
        }
    }

    /// `PRAGMA integrity_check`: empty when SQLite finds the file sound, else its findings.
    public func integrityProblems() throws -> [String] {
        try withConnection { conn in
            let st = try conn.statement("PRAGMA integrity_check")
            var out: [String] = []
            while try st.step() { out.append(st.text(0)) }
            return out == ["ok"] ? [] : out
        }
    }

    public func beginWriting() throws -> Int64 {
        try withConnection { conn in
            try conn.transaction {
                let state = try Self.writeState(conn)
                let st = try conn.statement("INSERT INTO writers(pid, gen, started) VALUES (?, ?, ?)")
                try st.bind(1, Int64(getpid()))
                try st.bind(2, state.generation)
                try st.bind(3, Int64(time(nil)))
                try st.step()
                return try conn.scalarInt("SELECT last_insert_rowid()") ?? 0
            }
        }
    }

    public func endWriting(_ id: Int64) {
        _ = try? withConnection { conn in
            let st = try conn.statement("DELETE FROM writers WHERE id = ?")
            try st.bind(1, id)
            try st.step()
        }
    }

    /// Whether process `pid` is running (on this machine, where the store's file is).
    static func isAlive(_ pid: Int64) -> Bool {
        guard pid > 0, pid <= Int64(Int32.max) else { return false }
        return kill(pid_t(pid), 0) == 0 || errno == EPERM
    }
}
