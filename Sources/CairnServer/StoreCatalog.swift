import CairnStore
import CairnSync

/// The stores a server answers for: the one store in its folder (at `/`), or every store in
/// the folder's subfolders (at `/NAME`). Stores open on first use and stay open; the server
/// holds nothing else, so any process that opens the same stores answers the same.
final class StoreCatalog: @unchecked Sendable {
    let directory: String
    /// True when `directory` itself holds a store.
    let single: Bool
    private let lock = Lock()
    private var open: [String: StoreService] = [:]
    private var closed = false

    init(directory: String) throws {
        self.directory = StoreDirectory.absolute(directory)
        guard StoreDirectory.isDirectory(self.directory) else { throw StoreError.io("\(directory) is not a folder") }
        single = StoreDirectory.isDirectory(self.directory + "/" + StoreDirectory.folderName)
    }

    /// The store named `name` (nil: the single store), or nil when there is none.
    func service(_ name: String?) throws -> StoreService? {
        let key: String
        if single {
            guard name == nil else { return nil }
            key = ""
        } else {
            guard let name, Self.isValidName(name) else { return nil }
            key = name
        }
        if let s = lock.withLock({ open[key] }) { return s }
        let folder = key.isEmpty ? directory : directory + "/" + key
        guard StoreDirectory.isDirectory(folder + "/" + StoreDirectory.folderName) else { return nil }
        let store = try StoreDirectory.open(in: folder)
        return lock.withLock {
            if closed { store.close(); return nil }
            if let s = open[key] { store.close(); return s }
            let s = StoreService(store: store)
            open[key] = s
            return s
        }
    }

    /// A store name is one path segment of letters, digits, `.`, `_` and `-`, not starting with `.`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".")
            && name.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D }
    }

    /// Closes every store (checkpointing its WAL), once the requests in flight have ended.
    func closeAll() {
        let services = lock.withLock { () -> [StoreService] in
            closed = true
            defer { open.removeAll() }
            return Array(open.values)
        }
        for s in services { (s.chunks as? SQLiteChunkStore)?.close() }
    }
}
