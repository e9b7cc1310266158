import AsyncHTTPClient
import CairnStore
import CairnValues
import CairnSync
import NIOCore
import NIOHTTP1

/// A server (`cairn serve`) as a remote: the requests of docs/protocol.md over AsyncHTTPClient.
/// Transient failures (a kept-alive connection closed by the server, 502, 503, 504) are retried
/// with backoff, and AsyncHTTPClient retries connecting for up to 5 s; a request the server
/// refused (a 4xx) is not retried.
public final class HTTPRemote: SyncRemote, @unchecked Sendable {
    /// The store's URL as `serve` gives it, without a trailing `/`.
    public let url: String
    let token: String?
    let client: HTTPClient
    /// Bytes sent and received, and requests made: what the bench and the tests count.
    public let counters = TransferCounters()
    /// The most a push request carries before the client starts another (every server takes
    /// at least this much, docs/protocol.md).
    public var pushRequestBytes = 8 << 20
    /// The most chunks a push request carries (every server takes at least 16,384).
    public var pushRequestChunks = 16_384
    /// Set from the server's `Cairn-Max-Body` and `Cairn-Max-Chunks` once it has answered:
    /// pushes then go in requests as large as it takes (up to 64 MiB), so a large push is
    /// not cut into requests that each wait for the last to be written.
    private let advertised = Locked<(bytes: Int, chunks: Int)?>(nil)
    public var followsServerLimits = true
    public var retries = 4

    /// The client every remote shares: connections are kept open between requests.
    static let sharedClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(
        timeout: .init(connect: .seconds(5), read: .seconds(120)), decompression: .disabled))

    public init(url: String, token: String?) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.token = token
        self.client = Self.sharedClient
    }

    public static func isHTTP(_ url: String) -> Bool { url.hasPrefix("http://") || url.hasPrefix("https://") }

    // MARK: Requests

    public func listRefs() async throws -> [(name: String, hash: Hash)] {
        let body = try await send(.GET, "refs", body: nil)
        do { return try Wire.decodeRefs(body) } catch { throw SyncError.unavailable("\(url): \(error)") }
    }

    public func hasMany(_ hashes: [Hash]) async throws -> Set<Hash> {
        guard !hashes.isEmpty else { return [] }
        let body = try await send(.POST, "has", body: Wire.encodeHashes(hashes))
        do { return try Wire.decodePresence(body, for: hashes) } catch { throw SyncError.unavailable("\(url): \(error)") }
    }

    public func push(_ updates: [RefUpdate], chunks: @escaping @Sendable () -> ChunkBatches) async throws -> [RefUpdateResult] {
        try await withRetries {
            // One request for a small push; a large one is cut into requests of about
            // `pushRequestBytes`, each a whole chunk stream, the last carrying the updates.
            let source = SharedIterator(chunks().makeAsyncIterator())
            var limits = (bytes: self.pushRequestBytes, chunks: self.pushRequestChunks)
            if self.followsServerLimits, let a = self.advertised.withLock({ $0 }) {
                limits = (max(limits.bytes, min(a.bytes, 64 << 20)), max(limits.chunks, min(a.chunks, 65_536)))
            }
            while true {
                let part = PushBody(source: source, limit: limits.bytes, chunkLimit: limits.chunks,
                                    updates: updates, counters: self.counters)
                let answer = try await self.execute(.POST, "push", body: .stream(part, length: .unknown))
                let results: [RefUpdateResult]
                do { results = try Wire.decodeResults(answer) } catch { throw SyncError.unavailable("\(self.url): \(error)") }
                if part.state.withLock({ $0.exhausted }) { return results }
            }
        }
    }

    public func fetch(_ request: FetchRequest, into receiver: ChunkReceiver) async throws {
        _ = try await receive("fetch", request, into: receiver, refsFirst: false)
    }

    /// `POST fetch-refs`: the refs and what they reach in one request. A server without the
    /// endpoint (404 `not_found`) gets `GET refs` and `POST fetch`, as before it.
    public func fetchRefs(_ request: FetchRequest, into receiver: ChunkReceiver) async throws -> [(name: String, hash: Hash)] {
        if !fetchRefsUnsupported.withLock({ $0 }) {
            do {
                return try await receive("fetch-refs", request, into: receiver, refsFirst: true)
            } catch SyncError.refused(404, "not_found", _) {
                fetchRefsUnsupported.withLock { $0 = true }
            }
        }
        return try await fetchRefsByListing(request, into: receiver)
    }

    private let fetchRefsUnsupported = Locked(false)

    /// Sends a fetch request to `endpoint` and stores the chunk stream of its answer into
    /// `receiver`; with `refsFirst`, the answer starts with the ref list (u32 length, then the
    /// list as `GET refs` gives it), which is returned.
    private func receive(_ endpoint: String, _ request: FetchRequest, into receiver: ChunkReceiver,
                         refsFirst: Bool) async throws -> [(name: String, hash: Hash)] {
        try await withRetries {
            var req = self.request(.POST, endpoint)
            let body = Wire.encodeFetch(request)
            self.counters.add(sent: body.count)
            req.body = .bytes(ByteBuffer(bytes: body))
            let response = try await self.perform(req)
            if let n = response.headers.first(name: "Cairn-Chunks").flatMap(Int.init) { receiver.expectedChunks = n }
            var decoder = WireDecoder(expectUpdates: false)
            var prefix = RefListPrefix(expected: refsFirst)
            do {
                for try await buffer in response.body {
                    self.counters.add(received: buffer.readableBytes)
                    guard let rest = try prefix.take(buffer.readableBytesView) else { continue }
                    decoder.append(rest)
                    while let c = try decoder.next() { try receiver.add(c) }
                }
                guard prefix.refs != nil else { throw WireError.malformed("the answer ended inside its ref list") }
                try decoder.checkFinished()
                try receiver.finishReceiving()
                return prefix.refs!
            } catch let e as WireError {
                throw SyncError.unavailable("\(self.url) sent a broken chunk stream: \(e)")
            } catch let e as StoreError {
                if case .corruptChunk = e { throw SyncError.unavailable("\(self.url) sent a chunk that does not match its hash: \(e)") }
                throw e
            } catch let e as SyncError {
                throw e
            } catch let e as HTTPClientError {
                // The connection broke mid-answer: the fetch starts again (what was stored stays).
                throw Transient(message: "the connection to \(self.url) broke: \(e)")
            }
        }
    }

    // MARK: Plumbing

    func request(_ method: HTTPMethod, _ endpoint: String) -> HTTPClientRequest {
        var req = HTTPClientRequest(url: url + "/" + endpoint)
        req.method = method
        req.headers.add(name: Wire.protocolHeader, value: String(Wire.protocolVersion))
        if let token { req.headers.add(name: "Authorization", value: "Bearer " + token) }
        return req
    }

    /// Sends a request whose answer is small, and returns its body.
    func send(_ method: HTTPMethod, _ endpoint: String, body: [UInt8]?) async throws -> [UInt8] {
        try await withRetries {
            self.counters.add(sent: body?.count ?? 0)
            return try await self.execute(method, endpoint, body: body.map { .bytes(ByteBuffer(bytes: $0)) })
        }
    }

    func execute(_ method: HTTPMethod, _ endpoint: String, body: HTTPClientRequest.Body?) async throws -> [UInt8] {
        var req = request(method, endpoint)
        if let body { req.body = body }
        let response = try await perform(req)
        var out: [UInt8] = []
        do {
            for try await buffer in response.body {
                counters.add(received: buffer.readableBytes)
                out.append(contentsOf: buffer.readableBytesView)
                guard out.count <= 64 << 20 else { throw SyncError.unavailable("\(url) sent an answer over 64 MiB") }
            }
        } catch let e as HTTPClientError {
            throw Transient(message: "the connection to \(url) broke: \(e)")
        }
        return out
    }

    /// Runs a request and checks the protocol version and the status: anything but 200 throws
    /// (docs/protocol.md, Errors).
    func perform(_ req: HTTPClientRequest) async throws -> HTTPClientResponse {
        counters.addRequest()
        let response: HTTPClientResponse
        do {
            response = try await client.execute(req, timeout: .hours(1))
        } catch let e as HTTPClientError where e == .remoteConnectionClosed {
            // A kept-alive connection the server closed meanwhile: worth another try.
            throw Transient(message: "\(url) closed the connection")
        } catch let e as SyncError {
            throw e  // from the request body: the store failed while reading what to send
        } catch let e as StoreError {
            throw e
        } catch {
            // AsyncHTTPClient already retries connecting until its connect timeout.
            throw SyncError.unavailable("cannot reach \(url): \(Self.describe(error))")
        }
        guard let version = response.headers.first(name: Wire.protocolHeader) else {
            throw SyncError.protocolMismatch("\(url) is not a cairn server (no \(Wire.protocolHeader) header in its answer)")
        }
        guard version == String(Wire.protocolVersion) else {
            throw SyncError.protocolMismatch("the server at \(url) speaks sync protocol \(version); this cairn speaks \(Wire.protocolVersion)")
        }
        if let b = response.headers.first(name: "Cairn-Max-Body").flatMap(Int.init),
           let c = response.headers.first(name: "Cairn-Max-Chunks").flatMap(Int.init), b >= 8 << 20, c >= 16_384 {
            advertised.withLock { $0 = (b, c) }
        }
        guard response.status == .ok else {
            var body: [UInt8] = []
            do {
                for try await b in response.body {
                    body.append(contentsOf: b.readableBytesView)
                    if body.count > 65536 { break }
                }
            } catch {
                // The explanation is lost; the status still says what happened.
            }
            let (code, message) = Self.errorBody(body)
            switch response.status.code {
            case 401: throw SyncError.unauthorized("\(url) refused the request: \(message) (set the remote's token with 'cairn remote add --token', or CAIRN_TOKEN)")
            case 403: throw SyncError.unauthorized("\(url) refused the write: \(message)")
            case 429, 502, 503, 504: throw Transient(message: "\(url) answered \(response.status.code): \(message)")
            case 400..<500: throw SyncError.refused(status: Int(response.status.code), code: code, message: message)
            default: throw SyncError.unavailable("\(url) failed (\(response.status.code)): \(message)")
            }
        }
        return response
    }

    /// The `error` and `message` of an error body; the raw text when it is not one.
    static func errorBody(_ body: [UInt8]) -> (code: String, message: String) {
        let store = NodeStore(MemoryChunkStore())
        if let v = try? JSON.parse(body, store: store), case .map(let m) = v,
           case .string(let code)? = try? m.get(.string("error")), case .string(let message)? = try? m.get(.string("message")) {
            return (code, message)
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return ("unknown", text.isEmpty ? "no explanation given" : text)
    }

    static func describe(_ error: any Error) -> String {
        let s = "\(error)"
        return s.split(whereSeparator: \.isNewline).first.map(String.init) ?? s
    }

    /// A failure worth another try.
    struct Transient: Error { let message: String }

    /// Runs `body`, trying again after 100 ms, 200 ms, 400 ms… when the connection failed or
    /// the server was briefly unavailable; never when the server refused the request.
    func withRetries<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let t as Transient {
                guard attempt < retries else { throw SyncError.unavailable(t.message) }
            }
            try await Task.sleep(nanoseconds: 100_000_000 << UInt64(attempt))
            attempt += 1
        }
    }
}

/// Counts what crosses the wire.
public final class TransferCounters: @unchecked Sendable {
    private let lock = Lock()
    private var _sent = 0, _received = 0, _requests = 0
    public var sent: Int { lock.withLock { _sent } }
    public var received: Int { lock.withLock { _received } }
    public var requests: Int { lock.withLock { _requests } }
    func add(sent n: Int) { lock.withLock { _sent += n } }
    func add(received n: Int) { lock.withLock { _received += n } }
    func addRequest() { lock.withLock { _requests += 1 } }
}

/// An iterator that several request bodies take batches from in turn.
final class SharedIterator: @unchecked Sendable {
    private var iterator: ChunkBatches.AsyncIterator
    init(_ iterator: ChunkBatches.AsyncIterator) { self.iterator = iterator }
    func next() async throws -> [StoredChunk]? { try await iterator.next() }
}

/// One push request's body: the chunk stream of the batches it takes (up to `limit` bytes),
/// its end frame, and the updates when the batches ran out (else none).
struct PushBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let source: SharedIterator
    let limit: Int
    let chunkLimit: Int
    let updates: [RefUpdate]
    let counters: TransferCounters
    let state = Locked(State())

    struct State { var started = false; var sent = 0; var count = 0; var ended = false; var exhausted = false }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: PushBody
        mutating func next() async throws -> ByteBuffer? {
            let s = body.state.withLock { $0 }
            if s.ended { return nil }
            var out: [UInt8] = s.started ? [] : Wire.streamHeader()
            var count = s.count
            var sent = s.sent
            var exhausted = false
            // A request ends past its byte limit, or when one more batch could pass its chunk limit.
            // Room for one more batch (at most 1 MiB and a chunk of 1 MiB) and the trailer, so
            // a request never passes its limits; the first batch always goes.
            func full(_ sent: Int, _ count: Int) -> Bool {
                count > 0 && (sent + (2 << 20) + (64 << 10) > body.limit || count + ChunkBatches.maxBatchChunks > body.chunkLimit)
            }
            if !full(sent, count), let batch = try await body.source.next() {
                for c in batch { Wire.appendChunk(c, to: &out) }
                count += batch.count
            } else if !full(sent, count) {
                exhausted = true
            }
            sent += out.count
            var ended = false
            if exhausted || full(sent, count) {
                Wire.appendEnd(count: count, to: &out)
                out += Wire.encodeUpdates(exhausted ? body.updates : [])
                ended = true
            }
            body.state.withLock { $0 = State(started: true, sent: sent, count: count, ended: ended, exhausted: exhausted) }
            body.counters.add(sent: out.count)
            return ByteBuffer(bytes: out)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
}


/// The ref list a `fetch-refs` answer starts with: a u32 length, then that many bytes as
/// `GET refs` gives them. Takes the answer's buffers until it has the list, then hands on the
/// rest (the chunk stream).
struct RefListPrefix {
    private(set) var refs: [(name: String, hash: Hash)]?
    private var buffered: [UInt8] = []

    init(expected: Bool) { refs = expected ? nil : [] }

    /// The bytes after the list, once it is whole (possibly empty); nil while it is not.
    mutating func take(_ bytes: some Collection<UInt8>) throws(WireError) -> [UInt8]? {
        if refs != nil { return Array(bytes) }
        buffered.append(contentsOf: bytes)
        guard buffered.count >= 4 else { return nil }
        let length = Int(buffered[0]) << 24 | Int(buffered[1]) << 16 | Int(buffered[2]) << 8 | Int(buffered[3])
        guard length <= Wire.maxRefListBytes else { throw .malformed("a ref list of \(length) bytes") }
        guard buffered.count >= 4 + length else { return nil }
        refs = try Wire.decodeRefs(Array(buffered[4..<4 + length]))
        defer { buffered = [] }
        return Array(buffered[(4 + length)...])
    }
}
