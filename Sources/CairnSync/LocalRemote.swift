import CairnStore

/// A store on disk as a remote (`cairn push ../other`): the same requests as the HTTP remote,
/// answered by a ``StoreService`` over the other store, with every chunk checked on the way in.
public final class LocalRemote: SyncRemote, @unchecked Sendable {
    public let service: StoreService
    public let path: String

    /// Opens the store in `directory` (the folder that holds `.cairn/`).
    public init(directory: String) throws {
        guard StoreDirectory.isDirectory(StoreDirectory.absolute(directory) + "/" + StoreDirectory.folderName) else {
            throw SyncError.notAStore(directory)
        }
        path = directory
        service = StoreService(store: try StoreDirectory.open(in: directory))
    }

    public init(service: StoreService, path: String) {
        self.service = service
        self.path = path
    }

    public func listRefs() async throws -> [(name: String, hash: Hash)] { try service.refs() }

    public func hasMany(_ hashes: [Hash]) async throws -> Set<Hash> { try service.hasMany(hashes) }

    public func push(_ updates: [RefUpdate], chunks: @escaping @Sendable () -> ChunkBatches) async throws -> [RefUpdateResult] {
        let receiver = ChunkReceiver(store: service.chunks)
        // The receiver's writer record keeps what arrived from a gc until the refs have moved.
        defer { receiver.endWriting() }
        for try await batch in chunks() { try receiver.add(batch) }
        try receiver.finishReceiving()
        return try service.applyUpdates(updates, landing: receiver)
    }

    public func fetch(_ request: FetchRequest, into receiver: ChunkReceiver) async throws {
        let batches = try await service.fetchBatches(request)
        receiver.expectedChunks = batches.totalChunks
        for try await batch in batches { try receiver.add(batch) }
        try receiver.finishReceiving()
    }
}
