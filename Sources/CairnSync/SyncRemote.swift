import CairnStore

/// The other side of a sync: a store on disk (``LocalRemote``) or a server (`HTTPRemote` in
/// CairnRemote). Push, fetch, pull and clone are written once against it.
public protocol SyncRemote: Sendable {
    /// The branches (`heads/…`) and tags (`tags/…`) of the remote store, sorted by name.
    func listRefs() async throws -> [(name: String, hash: Hash)]
    /// The subset of `hashes` the remote holds (each with everything under it).
    func hasMany(_ hashes: [Hash]) async throws -> Set<Hash>
    /// Sends chunks, children before parents, then applies `updates`, each by compare-and-swap,
    /// and answers for each. `chunks` makes the sequence afresh for each attempt.
    func push(_ updates: [RefUpdate], chunks: @escaping @Sendable () -> ChunkBatches) async throws -> [RefUpdateResult]
    /// Receives everything reachable from `request.wants` that is not reachable from
    /// `request.haves` nor among `request.haveChunks`, children first, into `receiver`, and
    /// ends with ``ChunkReceiver/finishReceiving()``: the caller writes the last batch with
    /// its ref moves (``ChunkReceiver/flush(moving:)``).
    func fetch(_ request: FetchRequest, into receiver: ChunkReceiver) async throws
    /// Lists the remote's branches and tags (as ``listRefs()``) and receives everything they
    /// and `request.wants` reach that is not reachable from `request.haves` nor among
    /// `request.haveChunks`, as ``fetch(_:into:)`` does: a pull or a fetch in one exchange.
    func fetchRefs(_ request: FetchRequest, into receiver: ChunkReceiver) async throws -> [(name: String, hash: Hash)]
}

extension SyncRemote {
    public func fetchRefs(_ request: FetchRequest, into receiver: ChunkReceiver) async throws -> [(name: String, hash: Hash)] {
        try await fetchRefsByListing(request, into: receiver)
    }

    /// ``listRefs()``, then ``fetch(_:into:)`` of the targets the receiver's store lacks (none
    /// when it has them all): ``fetchRefs(_:into:)`` in two exchanges, for a remote without a
    /// single one.
    public func fetchRefsByListing(_ request: FetchRequest, into receiver: ChunkReceiver) async throws -> [(name: String, hash: Hash)] {
        let refs = try await listRefs()
        let present = try receiver.store.hasMany(refs.map(\.hash))
        var wants = request.wants
        var seen = Set(wants)
        for r in refs where !present.contains(r.hash) && seen.insert(r.hash).inserted { wants.append(r.hash) }
        if !wants.isEmpty {
            try await fetch(FetchRequest(wants: wants, haves: request.haves, haveChunks: request.haveChunks), into: receiver)
        }
        return refs
    }
}

/// One ref to move on the remote: from `old` (nil: it must not exist) to `new` (nil: delete
/// it). With `force`, a branch may move to a commit that does not descend from `old`, and a
/// tag that exists may move; the ref must still be at `old` (git's `--force-with-lease`).
public struct RefUpdate: Sendable, Equatable {
    public let name: String
    public let old: Hash?
    public let new: Hash?
    public let force: Bool
    public init(name: String, old: Hash?, new: Hash?, force: Bool = false) {
        self.name = name
        self.old = old
        self.new = new
        self.force = force
    }
}

/// What became of one ``RefUpdate``.
public struct RefUpdateResult: Sendable, Equatable {
    public enum Reason: String, Sendable {
        /// The ref is not at the update's `old`; the result carries where it is.
        case stale
        /// The new commit does not descend from the old one.
        case nonFastForward = "non-fast-forward"
        /// The tag exists; moving it needs force.
        case exists
        /// The branch's working set on the remote holds uncommitted changes.
        case dirty
        /// The new target is not in the remote store.
        case missing
        /// The name is not `heads/NAME` or `tags/NAME` with a valid NAME, or it appears twice.
        case invalid
        /// The new target is not a commit.
        case notACommit = "not-a-commit"
        /// A delete of the branch checked out in the remote store.
        case checkedOut = "checked-out"
    }
    public enum Outcome: Sendable, Equatable {
        case ok
        case rejected(Reason, current: Hash?)
    }
    public let name: String
    public let outcome: Outcome
    public init(name: String, outcome: Outcome) {
        self.name = name
        self.outcome = outcome
    }
}

/// A fetch: what the client wants, the commits it has (the sender diffs against them), and on a
/// resumed clone, every chunk it already holds.
public struct FetchRequest: Sendable, Equatable {
    public var wants: [Hash]
    public var haves: [Hash]
    public var haveChunks: [Hash]
    public init(wants: [Hash], haves: [Hash] = [], haveChunks: [Hash] = []) {
        self.wants = wants
        self.haves = haves
        self.haveChunks = haveChunks
    }
}

/// Stored chunks in batches, pulled one batch at a time, so a sender reads from its store only
/// as fast as the other side takes them.
public struct ChunkBatches: AsyncSequence, Sendable {
    public typealias Element = [StoredChunk]
    let produce: @Sendable () -> (@Sendable () throws -> [StoredChunk]?)
    /// How many chunks and stored bytes the sequence yields in all.
    public let totalChunks: Int

    public init(totalChunks: Int, _ produce: @escaping @Sendable () -> (@Sendable () throws -> [StoredChunk]?)) {
        self.totalChunks = totalChunks
        self.produce = produce
    }

    public static let empty = ChunkBatches(totalChunks: 0) { { nil } }

    /// The most chunks a batch holds.
    public static let maxBatchChunks = 1024

    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        let nextBatch: @Sendable () throws -> [StoredChunk]?
        public mutating func next() async throws -> [StoredChunk]? { try nextBatch() }
        /// The next batch, read on the calling thread (a server calls it on its thread pool).
        public func nextBatchNow() throws -> [StoredChunk]? { try nextBatch() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(nextBatch: produce()) }
}

/// What went wrong on the other side, or on the way.
public enum SyncError: Error, Equatable, CustomStringConvertible {
    /// The remote refused a request (a 4xx): `code` as docs/protocol.md names it.
    case refused(status: Int, code: String, message: String)
    /// The remote could not be reached or failed (a 5xx, a connection that broke).
    case unavailable(String)
    /// The remote speaks another protocol version, or is no cairn server.
    case protocolMismatch(String)
    /// Authentication was refused (401) or a write was refused (403).
    case unauthorized(String)
    /// A remote path that holds no store.
    case notAStore(String)
    /// The remote has no such branch.
    case noSuchRemoteBranch(remote: String, branch: String)
    /// A push of some ref was rejected; the messages say which and why.
    case rejected([String])
    case unknownRemote(String)
    case remoteExists(String)
    case badRemoteURL(String)
    case cloneTargetNotEmpty(String)
    /// A chunk a transfer needs is not in the sending store.
    case missingChunk(Hash)

    public var description: String {
        switch self {
        case .refused(let status, let code, let message): "the remote refused the request (\(status) \(code)): \(message)"
        case .unavailable(let s): "the remote is unavailable: \(s)"
        case .protocolMismatch(let s): s
        case .unauthorized(let s): s
        case .notAStore(let p): "no cairn store at \(p)"
        case .noSuchRemoteBranch(let r, let b): "the remote \(r) has no branch \(b)"
        case .rejected(let lines): lines.joined(separator: "; ")
        case .unknownRemote(let r): "no remote named \(r) (see 'cairn remote')"
        case .remoteExists(let r): "a remote named \(r) exists already"
        case .badRemoteURL(let u): "\(u) is neither an http(s):// URL nor a path to a store"
        case .cloneTargetNotEmpty(let d): "\(d) exists and holds something other than an unfinished clone"
        case .missingChunk(let h): "chunk \(h) is not in the store"
        }
    }

    /// Exit 1 (ran, did not succeed), 2 (usage) or 3 (store or network failure), per CLI.md.
    public var exitCode: Int32 {
        switch self {
        case .rejected, .noSuchRemoteBranch: 1
        case .unknownRemote, .remoteExists, .badRemoteURL, .cloneTargetNotEmpty: 2
        case .refused, .unavailable, .protocolMismatch, .unauthorized, .notAStore, .missingChunk: 3
        }
    }
}
