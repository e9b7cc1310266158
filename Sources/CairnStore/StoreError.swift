/// Why a store operation failed. Each case carries what the user needs to find the problem.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path holds no store, or a file that is not a Cairn store.
    case notAStore(path: String, reason: String)
    /// A store already exists where `init` was asked to make one.
    case storeExists(path: String)
    /// The store was written by a newer format than this build reads.
    case unsupportedFormat(path: String, version: Int64)
    /// The store was written by an earlier format that this build cannot migrate.
    case obsoleteFormat(path: String, version: Int64)
    /// A chunk's bytes do not decode or do not hash to its name.
    case corruptChunk(Hash, reason: String)
    /// The store file itself is damaged.
    case corruptStore(reason: String)
    /// A batch references chunks that are neither stored nor in the batch.
    case missingReferences(chunk: Hash, missing: [Hash])
    /// A ref was asked to point at a chunk the store does not hold.
    case refTargetMissing(ref: String, target: Hash)
    case invalidRefName(String)
    case chunkTooLarge(size: Int)
    /// Another process held the store's write lock past the busy timeout.
    case busy(String)
    /// SQLite failed: its result code (extended), its message, and the SQL, kept for the caller.
    case database(code: Int32, message: String)
    /// Any other failure of the file system.
    case io(String)

    public var description: String {
        switch self {
        case let .notAStore(path, reason): return "\(path) is not a cairn store: \(reason)"
        case let .storeExists(path): return "a cairn store already exists at \(path)"
        case let .unsupportedFormat(path, version):
            return "\(path) has store format \(version), newer than this cairn reads (\(SQLiteChunkStore.formatVersion))"
        case let .obsoleteFormat(path, version):
            return "\(path) has store format \(version), written by an earlier cairn; this cairn reads format "
                + "\(SQLiteChunkStore.formatVersion) and cannot migrate it: export its data with that cairn and import it again"
        case let .corruptChunk(hash, reason): return "corrupt chunk \(hash): \(reason)"
        case let .corruptStore(reason): return "the store is corrupt: \(reason)"
        case let .missingReferences(chunk, missing):
            return "chunk \(chunk) references \(missing.count) chunk(s) not in the store, first \(missing[0])"
        case let .refTargetMissing(ref, target): return "cannot point \(ref) at \(target): the store does not hold it"
        case let .invalidRefName(name): return "invalid ref name \"\(name)\""
        case let .chunkTooLarge(size): return "chunk of \(size) bytes exceeds the limit of \(Chunk.maxSize)"
        case let .busy(what): return "the store is busy (another process holds it): \(what)"
        case let .database(code, message): return "sqlite error \(code): \(message)"
        case let .io(what): return what
        }
    }
}
