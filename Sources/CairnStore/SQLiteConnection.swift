import CSQLite
import CFaultVFS

/// SQLite's `SQLITE_TRANSIENT`, a C macro Swift does not import: "copy the bytes before returning".
let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
/// SQLite's `SQLITE_STATIC`: "the bytes stay valid until the statement is reset".
let sqliteStatic = unsafeBitCast(OpaquePointer(bitPattern: 0), to: sqlite3_destructor_type.self)

/// An error from SQLite, with the result code, SQLite's message and the statement that failed.
package struct SQLiteError: Error, CustomStringConvertible, Sendable {
    package let code: Int32
    public let message: String
    public let sql: String?
    /// The operating system's errno behind an I/O error (0 when none).
    package var systemErrno: Int32 = 0

    public var description: String {
        if let sql { return "sqlite error \(code): \(message) (in \(sql))" }
        return "sqlite error \(code): \(message)"
    }

    /// The primary result code (the low byte of an extended code).
    public var primaryCode: Int32 { code & 0xff }
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    public var isNotADatabase: Bool { primaryCode == SQLITE_NOTADB }
    public var isCorrupt: Bool { primaryCode == SQLITE_CORRUPT }
}

/// One SQLite connection with a cache of prepared statements. Not thread-safe: its owner
/// serialises access.
final class SQLiteConnection {
    let db: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    /// Statements handed out since the last `resetUsed()`. A stepped statement that is not
    /// reset keeps its read transaction open, pinning an old snapshot of the database.
    private var used: [SQLiteStatement] = []

    init(path: String, create: Bool = false, readOnly: Bool = false) throws {
        var handle: OpaquePointer?
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        // Nil (SQLite's default VFS) unless the fault tests set CAIRN_FAULT_VFS.
        let rc = sqlite3_open_v2(path, &handle, flags, cairn_fault_vfs_name())
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        db = handle
        sqlite3_extended_result_codes(db, 1)
    }

    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        sqlite3_close_v2(db)
    }

    func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
        var e = SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(db)), sql: sql)
        e.systemErrno = sqlite3_system_errno(db)
        return e
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
    }

    /// A cached prepared statement for `sql`, reset and with its bindings cleared.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            used.append(cached)
            return cached
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw error(rc, sql) }
        let statement = SQLiteStatement(connection: self, raw: raw, sql: sql)
        statements[sql] = statement
        used.append(statement)
        return statement
    }

    /// Runs `body` in a transaction; commits if it returns, rolls back if it throws.
    /// `immediate` takes the write lock at once, so a compare-and-swap reads what it writes over.
    func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The single integer a `PRAGMA` or `SELECT` returns.
    func scalarInt(_ sql: String) throws -> Int64? {
        let st = try statement(sql)
        return try st.step() ? st.int(0) : nil
    }

    /// Resets every statement used since the last call, ending their read transactions.
    func resetUsed() {
        for st in used { sqlite3_reset(st.raw) }
        used.removeAll(keepingCapacity: true)
    }

    var changes: Int { Int(sqlite3_changes(db)) }
}

/// A prepared statement. Bind, step, read columns; the connection resets it on the next use.
final class SQLiteStatement {
    unowned let connection: SQLiteConnection
    let raw: OpaquePointer
    let sql: String

    init(connection: SQLiteConnection, raw: OpaquePointer, sql: String) {
        self.connection = connection
        self.raw = raw
        self.sql = sql
    }

    func finalize() { sqlite3_finalize(raw) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(raw, index, value))
    }

    func bind(_ index: Int32, _ value: String) throws {
        try check(sqlite3_bind_text(raw, index, value, -1, sqliteTransient))
    }

    /// Binds a copy of `bytes`.
    func bind(_ index: Int32, bytes: UnsafeRawBufferPointer) throws {
        // A zero-length blob still binds as a blob, not NULL.
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        try check(sqlite3_bind_blob(raw, index, base, Int32(bytes.count), sqliteTransient))
    }

    /// Binds `bytes` without copying: the caller keeps them alive and unchanged until the
    /// statement has stepped and been reset.
    func bind(_ index: Int32, borrowing bytes: UnsafeRawBufferPointer) throws {
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        try check(sqlite3_bind_blob(raw, index, base, Int32(bytes.count), sqliteStatic))
    }

    func bindNull(_ index: Int32) throws {
        try check(sqlite3_bind_null(raw, index))
    }

    func bind(_ index: Int32, _ hash: Hash) throws {
        try hash.withUnsafeBytes { try bind(index, bytes: $0) }
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
    }

    /// Steps once: true when a row is ready, false when done.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let err = connection.error(rc, sql)
            sqlite3_reset(raw)
            throw err
        }
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(raw, column) else { return "" }
        return String(cString: p)
    }

    /// The blob in `column`, valid until the next step or reset.
    func blob(_ column: Int32) -> UnsafeRawBufferPointer {
        let n = Int(sqlite3_column_bytes(raw, column))
        guard let p = sqlite3_column_blob(raw, column), n > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: n)
    }

    func hash(_ column: Int32) -> Hash? {
        let b = blob(column)
        guard b.count == Hash.byteCount else { return nil }
        return Hash(prefixOf: b)
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
}
