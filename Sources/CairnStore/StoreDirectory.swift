#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a store lives on disk: a `.cairn/` folder holding `store.db` (and SQLite's `-wal` and
/// `-shm` files beside it), found by walking up from a directory as git finds `.git/`.
public enum StoreDirectory {
    public static let folderName = ".cairn"
    public static let databaseName = "store.db"

    /// The database file of the store rooted at `directory`.
    public static func databasePath(in directory: String) -> String {
        join(join(directory, folderName), databaseName)
    }

    /// The nearest directory at or above `start` that holds a `.cairn/` folder.
    public static func find(from start: String) -> String? {
        var dir = absolute(start)
        while true {
            if isDirectory(join(dir, folderName)) { return dir }
            if dir == "/" { return nil }
            dir = parent(dir)
        }
    }

    /// Creates `directory` if needed, then a new store inside it.
    public static func create(in directory: String, options: SQLiteChunkStore.Options = .init()) throws -> SQLiteChunkStore {
        let dir = absolute(directory)
        let folder = join(dir, folderName)
        if isDirectory(folder) { throw StoreError.storeExists(path: folder) }
        try makeDirectories(folder)
        return try SQLiteChunkStore.create(at: join(folder, databaseName), options: options)
    }

    /// Opens the store rooted at `directory` (the folder that holds `.cairn/`).
    public static func open(in directory: String, options: SQLiteChunkStore.Options = .init()) throws -> SQLiteChunkStore {
        try SQLiteChunkStore.open(at: databasePath(in: directory), options: options)
    }

    // MARK: - Paths

    public static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return "." }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func absolute(_ path: String) -> String {
        let raw = path.hasPrefix("/") ? path : join(currentDirectory(), path)
        var parts: [Substring] = []
        for p in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if p == "." { continue }
            if p == ".." { _ = parts.popLast(); continue }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    public static func isDirectory(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    public static func makeDirectories(_ path: String) throws {
        let abs = absolute(path)
        if isDirectory(abs) { return }
        let up = parent(abs)
        if up != abs { try makeDirectories(up) }
        if mkdir(abs, 0o755) != 0 && errno != EEXIST {
            throw StoreError.io("cannot create directory \(abs): \(String(cString: strerror(errno)))")
        }
    }
}
