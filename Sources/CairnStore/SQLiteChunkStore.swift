import CSQLite
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The default chunk store: one SQLite file in WAL mode, chunks zstd-compressed.
///
/// Schema (see docs/storage.md):
/// - `chunks(hash, codec, size, data, gen, refs)`: `data` is the chunk as stored (codec 0: raw,
///   1: zstd), `size` its uncompressed length, `gen` the write generation it was last put in
///   (gc keeps what was put since it began), `refs` the hashes the chunk references, back to
///   back (NULL: not recorded, in chunks written before format 3), so sync, gc and fsck follow
///   a chunk without decompressing it;
/// - `refs(name, hash)`; `reflog(name, old, new, time, gen)`, every move of a ref;
///   `settings(name, value)`, local and never synced;
/// - `writers(pid, gen, started)`: the writers whose chunks are not all reachable yet;
/// - `totals`: one row of running counts, so `stats` costs nothing, and the write generation
///   and whether a gc is collecting (docs/gc.md).
public final class SQLiteChunkStore: ChunkStore, LocalSettings, @unchecked Sendable {
    /// SQLite's `application_id`: "CRN1" in ASCII. A file without it is not a store.
    public static let applicationID: Int64 = 0x4352_4E31
    /// SQLite's `user_version`: the store format. Bumped when the schema or encoding changes.
    public static let formatVersion: Int64 = 5
    /// The oldest format this build migrates in place; anything older is refused.
    public static let oldestMigratableVersion: Int64 = 2
    /// Each step migrates a store from `version` to `version + 1`, inside one transaction.
    /// Format 2 is the first with migrations; a later format adds its step here.
    /// - 2 → 3: each chunk's references in a column (NULL for the chunks already there: readers
    ///   then parse the chunk, as before).
    static let migrations: [Int64: @Sendable (SQLiteConnection) throws -> Void] = [
        2: { conn in try conn.execute("ALTER TABLE chunks ADD COLUMN refs BLOB") },
        // 3 → 4: write generations, the reflog and writers' records, for gc (no index on
        // chunks.gen: gc reads the stamps once, by a scan, and an index cost 1% of the store);
        // the staged table (never used: sync stores children first) goes.
        3: { conn in
            try conn.execute("""
                DROP TABLE IF EXISTS staged;
                ALTER TABLE totals ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE totals ADD COLUMN collecting INTEGER NOT NULL DEFAULT 0;
                """ + schema4)
        },
        // 4 → 5: no indexes on the reflog. Each cost a 32 KiB page in every transaction that
        // moves a ref (2 of the 10 pages a small pull writes); gc scans the reflog once instead.
        4: { conn in try conn.execute("DROP INDEX IF EXISTS reflog_time; DROP INDEX IF EXISTS reflog_gen") },
    ]

    /// What format 4 adds to format 3's tables (a new store makes them all at once; format 5
    /// is format 4 without indexes on the reflog).
    static let schema4 = """
        CREATE TABLE reflog(id INTEGER PRIMARY KEY, name TEXT NOT NULL, old BLOB, new BLOB, time INTEGER NOT NULL, gen INTEGER NOT NULL);
        CREATE TABLE writers(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, gen INTEGER NOT NULL, started INTEGER NOT NULL);
        """
    static let tableNames = ["chunks", "refs", "settings", "totals", "reflog", "writers"]

    public struct Options: Sendable {
        /// `NORMAL` (the default) survives a process crash with every committed transaction;
        /// on power loss the last transactions may roll back, never half-apply. `FULL` also
        /// survives power loss, at the cost of an fsync per commit. See docs/storage.md.
        public enum Synchronous: String, Sendable { case normal = "NORMAL", full = "FULL" }
        public var synchronous: Synchronous = .normal
        /// zstd level; 1 measured both faster and smaller than 3 on chunks (docs/benchmarks.md).
        public var compressionLevel: Int32 = 1
        /// SQLite page cache in KiB. The cache matters most for SQLite speed.
        public var cacheKiB: Int = 65536
        /// How much of the file SQLite reads through a memory map instead of copying pages in.
        /// Reads of chunks measured about twice as fast with it.
        public var mmapBytes: Int = 1 << 34
        /// How long a writer waits for another process's write lock, in milliseconds.
        public var busyTimeoutMs: Int32 = 10_000
        public init() {}
    }


    public let path: String
    private let options: Options
    private let lock = Lock()
    private var connection: SQLiteConnection?
    let readers: ReaderPool
    private let compressors: CompressorPool

    private init(path: String, connection: SQLiteConnection, options: Options) {
        self.path = path
        self.connection = connection
        self.options = options
        self.readers = ReaderPool(path: path, pragmas: Self.connectionPragmas(options))
        self.compressors = CompressorPool(level: options.compressionLevel)
    }

    deinit { close() }

    // MARK: - Opening

    /// Creates a new store file at `path`. Fails if the file exists.
    public static func create(at path: String, options: Options = Options()) throws -> SQLiteChunkStore {
        if fileExists(path) { throw StoreError.storeExists(path: path) }
        let conn: SQLiteConnection
        do { conn = try SQLiteConnection(path: path, create: true) } catch let e as SQLiteError {
            throw StoreError.io("cannot create \(path): \(e.message)")
        }
        do {
            try conn.execute("PRAGMA page_size = 32768")
            // SQLite takes auto_vacuum only on an empty file: gc reclaims pages incrementally.
            try conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            try conn.execute("PRAGMA journal_mode = WAL")
            try conn.transaction {
                try conn.execute("""
                    CREATE TABLE chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, codec INTEGER NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL, gen INTEGER NOT NULL DEFAULT 0, refs BLOB);
                    CREATE TABLE refs(name TEXT PRIMARY KEY, hash BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE settings(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE totals(id INTEGER PRIMARY KEY CHECK (id = 0), chunks INTEGER NOT NULL, bytes_stored INTEGER NOT NULL, bytes_uncompressed INTEGER NOT NULL, generation INTEGER NOT NULL DEFAULT 1, collecting INTEGER NOT NULL DEFAULT 0);
                    INSERT INTO totals(id, chunks, bytes_stored, bytes_uncompressed) VALUES (0, 0, 0, 0);
                    \(schema4)
                    PRAGMA application_id = \(applicationID);
                    PRAGMA user_version = \(formatVersion);
                    """)
            }
        } catch {
            conn.close()
            throw translate(error, path: path)
        }
        conn.close()
        return try open(at: path, options: options)
    }

    /// Opens the store file at `path`, checking that it is one.
    public static func open(at path: String, options: Options = Options()) throws -> SQLiteChunkStore {
        guard fileExists(path) else { throw StoreError.notAStore(path: path, reason: "no such file") }
        let conn: SQLiteConnection
        do { conn = try SQLiteConnection(path: path, create: false) } catch let e as SQLiteError where e.primaryCode == SQLITE_IOERR {
            throw translate(e, path: path)
        } catch {
            throw StoreError.notAStore(path: path, reason: "\(error)")
        }
        do {
            try conn.execute("PRAGMA busy_timeout = \(options.busyTimeoutMs)")
            let appID = try conn.scalarInt("PRAGMA application_id") ?? 0
            guard appID == applicationID else {
                throw StoreError.notAStore(path: path, reason: "not marked as a cairn store")
            }
            var version = try conn.scalarInt("PRAGMA user_version") ?? 0
            if version > formatVersion { throw StoreError.unsupportedFormat(path: path, version: version) }
            if version < oldestMigratableVersion { throw StoreError.obsoleteFormat(path: path, version: version) }
            while version < formatVersion {
                guard let step = migrations[version] else { throw StoreError.obsoleteFormat(path: path, version: version) }
                try conn.transaction(immediate: true) {
                    // Another process may have migrated it meanwhile.
                    guard try conn.scalarInt("PRAGMA user_version") == version else { return }
                    // No statement may be running while a step drops a table.
                    conn.resetUsed()
                    try step(conn)
                    try conn.execute("PRAGMA user_version = \(version + 1)")
                }
                version = try conn.scalarInt("PRAGMA user_version") ?? 0
            }
            let tables = try conn.scalarInt(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (" + tableNames.map { "'\($0)'" }.joined(separator: ", ") + ")")
            guard tables == Int64(tableNames.count) else { throw StoreError.corruptStore(reason: "tables are missing") }
            try conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = \(options.synchronous.rawValue);")
            try conn.execute(connectionPragmas(options))
            conn.resetUsed()
        } catch let error as StoreError {
            conn.close()
            throw error
        } catch let error as SQLiteError where error.isNotADatabase {
            conn.close()
            throw StoreError.notAStore(path: path, reason: "not a database")
        } catch {
            conn.close()
            throw translate(error, path: path)
        }
        return SQLiteChunkStore(path: path, connection: conn, options: options)
    }

    /// Settings every connection to the file takes, the writer and each reader.
    static func connectionPragmas(_ options: Options) -> String {
        """
        PRAGMA busy_timeout = \(options.busyTimeoutMs);
        PRAGMA cache_size = -\(options.cacheKiB);
        PRAGMA temp_store = MEMORY;
        PRAGMA mmap_size = \(options.mmapBytes);
        """
    }

    /// Checkpoints the WAL into the main file (TRUNCATE) and closes. Safe to call twice.
    public func close() {
        readers.close()
        lock.withLock {
            guard let conn = connection else { return }
            try? conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            connection = nil
        }
    }

    // MARK: - Access under the lock

    /// Runs `body` with the connection, holding the lock, translating SQLite errors.
    /// Runs `body` on an idle reader's connection, its errors translated as the writer's are.
    func withReaderConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try readers.withReader { reader in
            do { return try body(reader.connection) } catch { throw Self.translate(error, path: path) }
        }
    }

    func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try lock.withLock {
            guard let conn = connection else { throw StoreError.io("the store is closed") }
            defer { conn.resetUsed() }
            do { return try body(conn) } catch { throw Self.translate(error, path: path) }
        }
    }

    /// Whether a failed write is a full disk: the file system has no room left, or the process
    /// has a file-size limit (SQLite reports EFBIG as a plain write error).
    static func writesCannotGrow(_ path: String) -> Bool {
        var lim = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &lim) == 0 && lim.rlim_cur != rlim_t.max {
            // The file or its WAL has reached the limit (within a page or two).
            for p in [path, path + "-wal"] {
                var s = stat()
                if stat(p, &s) == 0 && UInt64(s.st_size) + (1 << 17) >= UInt64(lim.rlim_cur) { return true }
            }
        }
        var fs = statvfs()
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        guard statvfs(dir, &fs) == 0 else { return false }
        return UInt64(fs.f_bavail) * UInt64(fs.f_bsize) < 1 << 20
    }

    static func translate(_ error: any Error, path: String) -> any Error {
        guard let e = error as? SQLiteError else { return error }
        if e.isBusy { return StoreError.busy(e.message) }
        // A write past a file-size limit (EFBIG) or quota fails as a full disk does.
        if e.primaryCode == SQLITE_FULL || (e.code == SQLITE_IOERR | (3 << 8) && writesCannotGrow(path)) {
            return StoreError.io("cannot write \(path): the disk is full")
        }
        if e.primaryCode == SQLITE_IOERR { return StoreError.io("I/O error on \(path): \(e.message) (code \(e.code))") }
        if e.isCorrupt || e.isNotADatabase { return StoreError.corruptStore(reason: e.message) }
        return StoreError.database(code: e.code, message: e.sql.map { "\(e.message) (in \($0))" } ?? e.message)
    }

    // MARK: - Chunks

    public func get(_ hash: Hash) throws -> Chunk? {
        let data: [UInt8]? = try readers.withReader { reader in
            do { return try Self.read(hash, reader) } catch { throw Self.translate(error, path: path) }
        }
        guard let data else { return nil }
        return try Self.verified(hash, data)
    }

    /// Reads and decompresses one chunk with a reader, straight from SQLite's buffer.
    private static func read(_ hash: Hash, _ reader: ReaderPool.Reader) throws -> [UInt8]? {
        let st = try reader.connection.statement("SELECT codec, size, data FROM chunks WHERE hash = ?")
        return try hash.withUnsafeBytes { key in
            // The key outlives the step: bound without a copy.
            try st.bind(1, borrowing: key)
            guard try st.step() else { return nil }
            return try decode(hash, codec: st.int(0), size: st.int(1), stored: st.blob(2), reader.decompressor)
        }
    }

    /// Reads a batch inside one read transaction per reader (one snapshot, one lock round
    /// trip), split over the cores when the batch is large enough to pay for a second thread.
    public func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk] {
        let workers = hashes.count >= Self.parallelGetMinimum ? Self.readWorkers : 1
        if workers == 1 {
            var out = [Hash: Chunk](minimumCapacity: hashes.count)
            for c in try readVerified(hashes[...]) { out[c.hash] = c }
            return out
        }
        let stripe = (hashes.count + workers - 1) / workers
        let results = UnsafeMutableBufferPointer<Result<[Chunk], any Error>>.allocate(capacity: workers)
        defer { results.deinitialize().deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let part = hashes[min(hashes.count, w * stripe)..<min(hashes.count, (w + 1) * stripe)]
            (slots.baseAddress! + w).initialize(to: Result { try self.readVerified(part) })
        }
        var out = [Hash: Chunk](minimumCapacity: hashes.count)
        for r in results { for c in try r.get() { out[c.hash] = c } }
        return out
    }

    static let readWorkers = min(2, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    static let parallelGetMinimum = 32

    /// Reads, decompresses and verifies `hashes` on one reader, in one read transaction.
    private func readVerified(_ hashes: ArraySlice<Hash>) throws -> [Chunk] {
        var out: [Chunk] = []
        out.reserveCapacity(hashes.count)
        try readers.withReader { reader in
            do {
                try reader.connection.transaction(immediate: false) {
                    for h in hashes {
                        if let data = try Self.read(h, reader) { out.append(try Self.verified(h, data)) }
                    }
                }
            } catch { throw Self.translate(error, path: path) }
        }
        return out
    }

    /// Decompresses a stored chunk (under the lock, straight from SQLite's buffer).
    private static func decode(_ hash: Hash, codec: Int64, size: Int64, stored: UnsafeRawBufferPointer,
                               _ decompressor: ZstdDecompressor) throws -> [UInt8] {
        guard size >= 0, size <= Int64(Chunk.maxSize) else {
            throw StoreError.corruptChunk(hash, reason: "recorded size \(size) is out of range")
        }
        switch Codec(rawValue: codec) {
        case .raw:
            return Array(stored)
        case .zstd:
            do {
                return try decompressor.decompress(stored, expectedSize: Int(size), limit: Chunk.maxSize)
            } catch {
                throw StoreError.corruptChunk(hash, reason: "does not decompress (\(error))")
            }
        case nil:
            throw StoreError.corruptChunk(hash, reason: "unknown codec \(codec)")
        }
    }

    private static func verified(_ hash: Hash, _ data: [UInt8]) throws -> Chunk {
        let actual = Hash(of: data)
        guard actual == hash else {
            throw StoreError.corruptChunk(hash, reason: "its bytes hash to \(actual)")
        }
        return Chunk(hash: hash, data: data)
    }

    public func has(_ hash: Hash) throws -> Bool {
        try withConnection { conn in try Self.has(hash, conn) }
    }

    /// Which of `hashes` are stored, 64 to a query: a completeness check asks about every
    /// child of a new node (a few hundred for a changed row), and one statement step each
    /// measured most of a small sync transaction.
    static let presentSQL = "SELECT hash FROM chunks WHERE hash IN (" + Array(repeating: "?", count: 64).joined(separator: ",") + ")"

    static func present(_ hashes: [Hash], _ conn: SQLiteConnection) throws -> Set<Hash> {
        var found = Set<Hash>()
        guard !hashes.isEmpty else { return found }
        try eachRow(of: try conn.statement(presentSQL), naming: hashes) { st in
            guard let h = st.hash(0) else { throw StoreError.corruptStore(reason: "a chunk key is not a hash") }
            found.insert(h)
        }
        return found
    }

    /// Runs `st`, a query whose `IN` list takes 64 hashes, over `hashes` 64 at a time, calling
    /// `row` for each row. A short last group repeats its last hash, so the query must answer
    /// each stored row once whatever its `IN` list repeats.
    static func eachRow(of st: SQLiteStatement, naming hashes: [Hash], _ row: (SQLiteStatement) throws -> Void) throws {
        var i = 0
        while i < hashes.count {
            let end = min(hashes.count, i + 64)
            st.reset()
            for j in 0..<64 { try st.bind(Int32(j + 1), hashes[min(i + j, end - 1)]) }
            while try st.step() { try row(st) }
            i = end
        }
        st.reset()
    }

    /// Which of `hashes` are stored, as ``present(_:_:)``; while a gc collects, those found
    /// are stamped with the write generation too, so the gc keeps them and what is under them:
    /// the batch being written references them.
    static func present(_ hashes: [Hash], _ conn: SQLiteConnection, touching state: WriteState) throws -> Set<Hash> {
        let found = try present(hashes, conn)
        if state.collecting && !found.isEmpty {
            let touch = try conn.statement("UPDATE chunks SET gen = ?1 WHERE hash = ?2 AND gen < ?1")
            for h in found {
                touch.reset()
                try touch.bind(1, state.generation)
                try touch.bind(2, h)
                try touch.step()
            }
            touch.reset()
        }
        return found
    }

    /// The write generation chunks are stamped with, and whether a gc is collecting: read in
    /// each write transaction.
    struct WriteState {
        let generation: Int64
        let collecting: Bool
    }

    static func writeState(_ conn: SQLiteConnection) throws -> WriteState {
        let st = try conn.statement("SELECT generation, collecting FROM totals WHERE id = 0")
        defer { st.reset() }
        guard try st.step() else { throw StoreError.corruptStore(reason: "the totals row is missing") }
        return WriteState(generation: st.int(0), collecting: st.int(1) != 0)
    }

    static func has(_ hash: Hash, _ conn: SQLiteConnection) throws -> Bool {
        let st = try conn.statement("SELECT 1 FROM chunks WHERE hash = ?")
        try st.bind(1, hash)
        return try st.step()
    }

    /// Small batches ask on the writer's connection; large ones (a sync's level of a tree) on
    /// the readers, split over the cores, leaving writers free.
    public func hasMany(_ hashes: [Hash]) throws -> Set<Hash> {
        if hashes.count < 512 {
            return try withConnection { conn in
                var found = Set<Hash>()
                for h in hashes where try Self.has(h, conn) { found.insert(h) }
                return found
            }
        }
        let workers = Self.readWorkers
        let stripe = (hashes.count + workers - 1) / workers
        let results = UnsafeMutableBufferPointer<Result<[Hash], any Error>>.allocate(capacity: workers)
        defer { results.deinitialize().deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let part = hashes[min(hashes.count, w * stripe)..<min(hashes.count, (w + 1) * stripe)]
            (slots.baseAddress! + w).initialize(to: Result {
                try self.readers.withReader { reader in
                    do {
                        return try reader.connection.transaction(immediate: false) {
                            var found: [Hash] = []
                            for h in part where try Self.has(h, reader.connection) { found.append(h) }
                            return found
                        }
                    } catch { throw Self.translate(error, path: path) }
                }
            })
        }
        var found = Set<Hash>()
        for r in results { found.formUnion(try r.get()) }
        return found
    }

    public func put(_ batch: [ChunkWrite]) throws {
        guard !batch.isEmpty else { return }
        _ = try put(batch, moving: [])
    }

    public func put(_ batch: [ChunkWrite], moving moves: [RefMove]) throws -> Bool {
        for w in batch where w.chunk.data.count > Chunk.maxSize { throw StoreError.chunkTooLarge(size: w.chunk.data.count) }
        for m in moves { try ChunkStoreRules.validateRefName(m.name) }
        let pipeline = CompressionPipeline(batch, pool: compressors)
        return try withConnection { conn in
            try conn.transaction {
                guard try Self.refsMatch(moves, conn) else { return false }
                try Self.insert(batch, pipeline, conn)
                try Self.move(moves, conn)
                return true
            }
        }
    }

    /// The recorded references of the chunks among `hashes` that have them (internal tree
    /// nodes and chunks written before format 3 have none recorded, and absent chunks none at all). 64 hashes to a
    /// query, and a large request (a level of a tree a first push walks) split over the readers.
    public func storedRefs(_ hashes: [Hash]) throws -> [Hash: [Hash]] {
        let workers = hashes.count >= 512 ? Self.readWorkers : 1
        let stripe = (hashes.count + workers - 1) / max(1, workers)
        let results = UnsafeMutableBufferPointer<Result<[(Hash, [Hash])], any Error>>.allocate(capacity: workers)
        defer { results.deinitialize().deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let part = Array(hashes[min(hashes.count, w * stripe)..<min(hashes.count, (w + 1) * stripe)])
            (slots.baseAddress! + w).initialize(to: Result { try self.recordedRefs(part) })
        }
        var out: [Hash: [Hash]] = [:]
        out.reserveCapacity(hashes.count)
        for r in results { for (h, refs) in try r.get() { out[h] = refs } }
        return out
    }

    static let recordedRefsSQL = "SELECT hash, refs FROM chunks WHERE refs IS NOT NULL AND hash IN (" + Array(repeating: "?", count: 64).joined(separator: ",") + ")"

    private func recordedRefs(_ hashes: [Hash]) throws -> [(Hash, [Hash])] {
        guard !hashes.isEmpty else { return [] }
        return try readers.withReader { reader in
            do {
                return try reader.connection.transaction(immediate: false) {
                    var out: [(Hash, [Hash])] = []
                    out.reserveCapacity(hashes.count)
                    try Self.eachRow(of: try reader.connection.statement(Self.recordedRefsSQL), naming: hashes) { st in
                        guard let h = st.hash(0) else { throw StoreError.corruptStore(reason: "a chunk key is not a hash") }
                        let b = st.blob(1)
                        // A damaged list is as good as none: the caller reads the chunk instead.
                        guard b.count % Hash.byteCount == 0 else { return }
                        var refs: [Hash] = []
                        refs.reserveCapacity(b.count / Hash.byteCount)
                        for k in stride(from: 0, to: b.count, by: Hash.byteCount) {
                            refs.append(Hash(bytes: UnsafeRawBufferPointer(rebasing: b[k..<k + Hash.byteCount]))!)
                        }
                        out.append((h, refs))
                    }
                    return out
                }
            } catch { throw Self.translate(error, path: path) }
        }
    }

    static func encodeRefs(_ refs: [Hash]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(refs.count * Hash.byteCount)
        for r in refs { r.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }

    public func getStored(_ hashes: [Hash]) throws -> [StoredChunk] {
        try readers.withReader { reader in
            do {
                return try reader.connection.transaction(immediate: false) {
                    let st = try reader.connection.statement("SELECT codec, size, data FROM chunks WHERE hash = ?")
                    var out: [StoredChunk] = []
                    out.reserveCapacity(hashes.count)
                    for h in hashes {
                        st.reset()
                        try st.bind(1, h)
                        guard try st.step() else { continue }
                        let c = st.int(0)
                        guard c >= 0, c <= 1, let codec = StoredChunk.Codec(rawValue: UInt8(c)) else {
                            throw StoreError.corruptChunk(h, reason: "unknown codec \(c)")
                        }
                        out.append(StoredChunk(hash: h, codec: codec, size: Int(st.int(1)), bytes: Array(st.blob(2))))
                    }
                    st.reset()
                    return out
                }
            } catch { throw Self.translate(error, path: path) }
        }
    }

    public func putStored(_ batch: [StoredChunkWrite], moving moves: [RefMove]) throws -> Bool {
        for w in batch where w.stored.size > Chunk.maxSize || w.stored.bytes.count > Chunk.maxSize {
            throw StoreError.chunkTooLarge(size: max(w.stored.size, w.stored.bytes.count))
        }
        for m in moves { try ChunkStoreRules.validateRefName(m.name) }
        return try withConnection { conn in
            try conn.transaction {
                guard try Self.refsMatch(moves, conn) else { return false }
                try Self.insertStored(batch, conn)
                try Self.move(moves, conn)
                return true
            }
        }
    }

    private static func insertStored(_ batch: [StoredChunkWrite], _ conn: SQLiteConnection) throws {
        guard !batch.isEmpty else { return }
        let state = try writeState(conn)
        try ChunkStoreRules.checkComplete(hashes: batch.map(\.stored.hash), refs: batch.map(\.refs)) { hs in
            try Self.present(hs, conn, touching: state)
        }
        try insertRows(batch.count, state, conn) { i in
            let w = batch[i]
            return (w.stored.hash, Int64(w.stored.codec.rawValue), w.stored.size, w.stored.bytes, w.recordsRefs ? w.refs : nil)
        }
    }

    /// Stores a batch inside a transaction, refusing it whole when a chunk references one that
    /// is neither present nor in the batch.
    private static func insert(_ batch: [ChunkWrite], _ pipeline: CompressionPipeline, _ conn: SQLiteConnection) throws {
        guard !batch.isEmpty else { return }
        let state = try writeState(conn)
        try ChunkStoreRules.checkComplete(batch) { hs in try Self.present(hs, conn, touching: state) }
        try insertRows(batch.count, state, conn) { i in
            let e = pipeline.encoded(i)
            return (batch[i].chunk.hash, e.codec.rawValue, batch[i].chunk.data.count, e.bytes, batch[i].recordsRefs ? batch[i].refs : nil)
        }
    }

    /// Inserts `count` rows stamped with the write generation, renews the generation of those
    /// already present (a gc running or to come keeps them: the writer is about to reference
    /// them), and adds the new ones to the totals. `row(i)` gives the hash, codec, uncompressed
    /// size, stored bytes and recorded references (nil: none recorded) of row `i`.
    private static func insertRows(_ count: Int, _ state: WriteState, _ conn: SQLiteConnection,
                                   _ row: (Int) -> (hash: Hash, codec: Int64, size: Int, bytes: [UInt8], refs: [Hash]?)) throws {
        let insert = try conn.statement("INSERT OR IGNORE INTO chunks(hash, codec, size, data, refs, gen) VALUES (?, ?, ?, ?, ?, ?)")
        let renew = try conn.statement("UPDATE chunks SET gen = ?1 WHERE hash = ?2 AND gen < ?1")
        var added = 0, stored = 0, raw = 0
        for i in 0..<count {
            let r = row(i)
            insert.reset()
            try insert.bind(1, r.hash)
            try insert.bind(2, r.codec)
            try insert.bind(3, Int64(r.size))
            try insert.bind(6, state.generation)
            try r.bytes.withUnsafeBytes { bytes in
                try insert.bind(4, borrowing: bytes)
                if let recorded = r.refs {
                    try Self.encodeRefs(recorded).withUnsafeBytes { refs in
                        try insert.bind(5, borrowing: refs)
                        try insert.step()
                    }
                } else {
                    try insert.bindNull(5)
                    try insert.step()
                }
                insert.reset()
            }
            if conn.changes == 1 {
                added += 1
                stored += r.bytes.count
                raw += r.size
            } else {
                renew.reset()
                try renew.bind(1, state.generation)
                try renew.bind(2, r.hash)
                try renew.step()
                renew.reset()
            }
        }
        try addTotals(added, stored, raw, conn)
    }

    private static func addTotals(_ added: Int, _ stored: Int, _ raw: Int, _ conn: SQLiteConnection) throws {
        guard added > 0 else { return }
        let update = try conn.statement(
            "UPDATE totals SET chunks = chunks + ?, bytes_stored = bytes_stored + ?, bytes_uncompressed = bytes_uncompressed + ? WHERE id = 0")
        try update.bind(1, Int64(added))
        try update.bind(2, Int64(stored))
        try update.bind(3, Int64(raw))
        try update.step()
    }

    /// Whether every ref equals its move's `expected`, inside a transaction.
    private static func refsMatch(_ moves: [RefMove], _ conn: SQLiteConnection) throws -> Bool {
        guard !moves.isEmpty else { return true }
        let read = try conn.statement("SELECT hash FROM refs WHERE name = ?")
        for m in moves {
            try read.bind(1, m.name)
            let current = try read.step() ? read.hash(0) : nil
            read.reset()
            guard current == m.expected else { return false }
        }
        return true
    }

    /// Moves refs inside a transaction, after their targets are stored (`refsMatch` has checked
    /// each is at its `expected`), and logs each move in the reflog. A move to where the ref
    /// already is (a lease) writes nothing. While a gc collects, a new target is stamped with
    /// the write generation, so the gc keeps it and what is under it.
    private static func move(_ moves: [RefMove], _ conn: SQLiteConnection) throws {
        var state: WriteState?
        for m in moves where m.expected != m.new {
            if state == nil { state = try writeState(conn) }
            let log = try conn.statement("INSERT INTO reflog(name, old, new, time, gen) VALUES (?, ?, ?, ?, ?)")
            try log.bind(1, m.name)
            if let o = m.expected { try log.bind(2, o) } else { try log.bindNull(2) }
            if let n = m.new { try log.bind(3, n) } else { try log.bindNull(3) }
            try log.bind(4, Int64(time(nil)))
            try log.bind(5, state!.generation)
            try log.step()
            if let new = m.new, state!.collecting { _ = try present([new], conn, touching: state!) }
            if let new = m.new {
                guard try Self.has(new, conn) else { throw StoreError.refTargetMissing(ref: m.name, target: new) }
                let write = try conn.statement("INSERT OR REPLACE INTO refs(name, hash) VALUES (?, ?)")
                try write.bind(1, m.name)
                try write.bind(2, new)
                try write.step()
            } else {
                let delete = try conn.statement("DELETE FROM refs WHERE name = ?")
                try delete.bind(1, m.name)
                try delete.step()
            }
        }
    }

    static let processorCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    public func forEachHash(_ body: (Hash) throws -> Void) throws {
        var after: Hash? = nil
        while true {
            let page: [Hash] = try withConnection { conn in
                let st: SQLiteStatement
                if let after {
                    st = try conn.statement("SELECT hash FROM chunks WHERE hash > ? ORDER BY hash LIMIT 10000")
                    try st.bind(1, after)
                } else {
                    st = try conn.statement("SELECT hash FROM chunks ORDER BY hash LIMIT 10000")
                }
                var hs = [Hash]()
                while try st.step() {
                    guard let h = st.hash(0) else { throw StoreError.corruptStore(reason: "a chunk key is not a hash") }
                    hs.append(h)
                }
                return hs
            }
            for h in page { try body(h) }
            guard let last = page.last, page.count == 10000 else { return }
            after = last
        }
    }

    public func hashes(in range: ClosedRange<Hash>, limit: Int) throws -> [Hash] {
        try withConnection { conn in
            let st = try conn.statement("SELECT hash FROM chunks WHERE hash >= ? AND hash <= ? ORDER BY hash LIMIT ?")
            try st.bind(1, range.lowerBound)
            try st.bind(2, range.upperBound)
            try st.bind(3, Int64(limit))
            var out: [Hash] = []
            while try st.step() { if let h = st.hash(0) { out.append(h) } }
            return out
        }
    }

    // MARK: - Refs

    public func ref(_ name: String) throws -> Hash? {
        try withConnection { conn in
            let st = try conn.statement("SELECT hash FROM refs WHERE name = ?")
            try st.bind(1, name)
            guard try st.step() else { return nil }
            guard let h = st.hash(0) else { throw StoreError.corruptStore(reason: "ref \(name) holds no hash") }
            return h
        }
    }

    public func compareAndSwapRef(_ name: String, expected: Hash?, new: Hash?) throws -> Bool {
        try compareAndSwapRefs([RefMove(name, expected: expected, new: new)])
    }

    public func compareAndSwapRefs(_ moves: [RefMove]) throws -> Bool {
        for m in moves { try ChunkStoreRules.validateRefName(m.name) }
        return try withConnection { conn in
            try conn.transaction(immediate: true) {
                guard try Self.refsMatch(moves, conn) else { return false }
                try Self.move(moves, conn)
                return true
            }
        }
    }

    public func refs(prefix: String) throws -> [(name: String, hash: Hash)] {
        try withConnection { conn in
            // Compared as bytes: SQLite's substr of text counts code points, Swift's count graphemes.
            let st = try conn.statement("SELECT name, hash FROM refs WHERE substr(CAST(name AS BLOB), 1, ?) = CAST(? AS BLOB) ORDER BY name")
            try st.bind(1, Int64(prefix.utf8.count))
            try st.bind(2, prefix)
            var out: [(name: String, hash: Hash)] = []
            while try st.step() {
                let name = st.text(0)
                guard let h = st.hash(1) else { throw StoreError.corruptStore(reason: "ref \(name) holds no hash") }
                out.append((name: name, hash: h))
            }
            return out
        }
    }

    // MARK: - Stats and settings

    public func stats() throws -> StoreStats {
        try withConnection { conn in
            let st = try conn.statement("SELECT chunks, bytes_stored, bytes_uncompressed FROM totals WHERE id = 0")
            guard try st.step() else { throw StoreError.corruptStore(reason: "the totals row is missing") }
            return StoreStats(chunks: Int(st.int(0)), bytesStored: Int(st.int(1)), bytesUncompressed: Int(st.int(2)))
        }
    }

    public func setting(_ name: String) throws -> String? {
        try withConnection { conn in
            let st = try conn.statement("SELECT value FROM settings WHERE name = ?")
            try st.bind(1, name)
            return try st.step() ? st.text(0) : nil
        }
    }

    public func setSetting(_ name: String, _ value: String?) throws {
        try withConnection { conn in
            let st: SQLiteStatement
            if let value {
                st = try conn.statement("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)")
                try st.bind(2, value)
            } else {
                st = try conn.statement("DELETE FROM settings WHERE name = ?")
            }
            try st.bind(1, name)
            try st.step()
        }
    }

    public func settings(prefix: String) throws -> [(name: String, value: String)] {
        try withConnection { conn in
            let st = try conn.statement("SELECT name, value FROM settings WHERE substr(name, 1, ?) = ? ORDER BY name")
            try st.bind(1, Int64(prefix.count))
            try st.bind(2, prefix)
            var out: [(name: String, value: String)] = []
            while try st.step() { out.append((name: st.text(0), value: st.text(1))) }
            return out
        }
    }
}

func fileExists(_ path: String) -> Bool {
    var s = stat()
    return stat(path, &s) == 0
}
