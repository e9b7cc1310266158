/// Read-only connections to one store file, each with its own decompressor. WAL lets readers
/// run beside the writer and beside each other, so `get` never waits for a write batch.
final class ReaderPool: @unchecked Sendable {
    final class Reader {
        let connection: SQLiteConnection
        let decompressor = ZstdDecompressor()
        init(connection: SQLiteConnection) { self.connection = connection }
    }

    private let lock = Lock()
    private var idle: [Reader] = []
    private var closed = false
    private let path: String
    private let pragmas: String

    init(path: String, pragmas: String) {
        self.path = path
        self.pragmas = pragmas
    }

    /// Runs `body` with an idle reader (opening one if none is idle), then returns it.
    func withReader<T>(_ body: (Reader) throws -> T) throws -> T {
        let reader: Reader
        if let r = lock.withLock({ closed ? nil : idle.popLast() }) {
            reader = r
        } else {
            guard !lock.withLock({ closed }) else { throw StoreError.io("the store is closed") }
            let conn = try SQLiteConnection(path: path, readOnly: true)
            do { try conn.execute(pragmas) } catch { conn.close(); throw error }
            reader = Reader(connection: conn)
        }
        defer {
            reader.connection.resetUsed()
            let keep = lock.withLock { () -> Bool in
                if closed { return false }
                idle.append(reader)
                return true
            }
            if !keep { reader.connection.close() }
        }
        return try body(reader)
    }

    func close() {
        let readers = lock.withLock { () -> [Reader] in
            closed = true
            defer { idle.removeAll() }
            return idle
        }
        for r in readers { r.connection.close() }
    }
}

