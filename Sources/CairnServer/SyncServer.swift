import CairnStore
import CairnSync
import Hummingbird
import HummingbirdCore
import HTTPTypes
import UnixSignals
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// `cairn serve`: the sync protocol of docs/protocol.md over HTTP/1.1 (Hummingbird), for the
/// store in a folder or every store in its subfolders.
public final class SyncServer: Sendable {
    let catalog: StoreCatalog
    let configuration: ServerConfiguration
    let logger: Logger
    let inFlight = Counter()

    public init(directory: String, configuration: ServerConfiguration, logger: Logger) throws {
        catalog = try StoreCatalog(directory: directory)
        self.configuration = configuration
        self.logger = logger
    }

    /// True when the folder holds one store (served at `/`), false for a folder of stores.
    public var servesSingleStore: Bool { catalog.single }

    /// Serves until SIGINT or SIGTERM (with `handleSignals`) or until the task is cancelled,
    /// then lets the requests in flight finish and closes the stores. `onRunning` gets the port
    /// it listens on.
    public func run(handleSignals: Bool = true, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { [self] request, context in
                await respond(request, context)
            },
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.limits.idleTimeoutSeconds)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                 serverName: "cairn",
                                 availableConnectionsDelegate: MaximumAvailableConnections(configuration.limits.maxConnections)),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        defer { catalog.closeAll() }
        try await app.runService(gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [])
    }

    // MARK: Requests

    func respond(_ request: Request, _ context: BasicRequestContext) async -> Response {
        let started = DispatchTimeShim.now()
        var received = 0
        var response: Response
        if inFlight.increment() > configuration.limits.maxConcurrentRequests {
            response = Self.failure(ServerFailure(.tooManyRequests, "busy", "the server is serving \(configuration.limits.maxConcurrentRequests) requests already; retry"))
        } else {
            do {
                response = try await route(request, &received)
            } catch let f as ServerFailure {
                response = Self.failure(f)
            } catch {
                response = Self.failure(ServerFailure.from(error))
            }
        }
        inFlight.decrement()
        response.headers[.cairnProtocol] = String(Wire.protocolVersion)
        // The limits, so a client can send pushes as large as this server takes.
        response.headers[.cairnMaxBody] = String(configuration.limits.maxBodyBytes)
        response.headers[.cairnMaxChunks] = String(configuration.limits.maxChunksPerRequest)
        let ms = Double(DispatchTimeShim.now() - started) / 1e6
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) in=\(received)B out=\(response.body.contentLength.map(String.init) ?? "stream") \(String(format1: ms))ms")
        return response
    }

    private func route(_ request: Request, _ received: inout Int) async throws -> Response {
        if let v = request.headers[.cairnProtocol], v != String(Wire.protocolVersion) {
            throw ServerFailure(.badRequest, "protocol_version",
                                "the client speaks sync protocol \(v); this server speaks \(Wire.protocolVersion)")
        }
        var segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let endpoint = segments.popLast() else {
            throw ServerFailure(.notFound, "not_found", "no such endpoint: \(request.uri.path) (see docs/protocol.md)")
        }
        guard segments.count <= 1 else { throw ServerFailure(.notFound, "not_found", "no such endpoint: \(request.uri.path)") }
        let storeName = segments.first
        let isWrite: Bool
        switch (request.method, endpoint) {
        case (.get, "refs"), (.post, "has"), (.post, "chunks"), (.post, "fetch"), (.post, "fetch-refs"): isWrite = false
        case (.post, "push"): isWrite = true
        default: throw ServerFailure(.notFound, "not_found", "no such endpoint: \(request.method) \(request.uri.path)")
        }
        try authorize(request, write: isWrite)
        guard let service = try catalog.service(storeName) else {
            throw ServerFailure(.notFound, "no_store", storeName.map { "no store named \($0) here" } ?? "this server holds several stores: add /NAME to the URL")
        }
        switch endpoint {
        case "refs":
            return Self.ok(Wire.encodeRefs(try await offload { try service.refs() }), type: "text/plain; charset=utf-8")
        case "has":
            let body = try await collect(request, &received)
            let hashes = try decodeHashes(body)
            let present = try await offload { try service.hasMany(hashes) }
            return Self.ok(Wire.encodePresence(hashes, present: present))
        case "chunks":
            let hashes = try decodeHashes(try await collect(request, &received))
            let store = service.chunks
            return stream(ChunkBatches(totalChunks: hashes.count) {
                let position = Locked(0)
                return {
                    try position.withLock { i in
                        guard i < hashes.count else { return nil }
                        let end = min(hashes.count, i + 256)
                        defer { i = end }
                        return try store.getStored(Array(hashes[i..<end]))
                    }
                }
            })
        case "fetch":
            return stream(try await service.fetchBatches(try await fetchRequest(request, &received)))
        case "fetch-refs":
            let (refs, batches) = try await service.fetchRefsBatches(try await fetchRequest(request, &received))
            return stream(batches, prefix: Wire.encodeRefListPrefix(refs))
        default:
            return try await push(request, service: service, &received)
        }
    }

    /// The body of a `fetch` or `fetch-refs`, within the limits on wants, haves and hashes.
    private func fetchRequest(_ request: Request, _ received: inout Int) async throws -> FetchRequest {
        let body = try await collect(request, &received)
        let fetch: FetchRequest
        do { fetch = try Wire.decodeFetch(body) } catch { throw ServerFailure.from(error) }
        guard fetch.wants.count <= ServerConfiguration.Limits.maxWants, fetch.haves.count <= ServerConfiguration.Limits.maxHaves,
              fetch.wants.count + fetch.haves.count + fetch.haveChunks.count <= configuration.limits.maxHashesPerRequest else {
            throw ServerFailure(.contentTooLarge, "too_many_hashes",
                                "a fetch may name at most \(ServerConfiguration.Limits.maxWants) wants, \(ServerConfiguration.Limits.maxHaves) haves and \(configuration.limits.maxHashesPerRequest) hashes in all")
        }
        return fetch
    }

    /// Missing or wrong tokens are 401 wherever a token is needed; a write to a read-only server is 403.
    private func authorize(_ request: Request, write: Bool) throws {
        if write && configuration.readOnly {
            throw ServerFailure(.forbidden, "read_only", "this server is read-only")
        }
        guard !configuration.tokens.isEmpty, write || configuration.privateReads else { return }
        // The scheme is case-insensitive (RFC 9110); the token is compared exactly.
        let given = request.headers[.authorization].flatMap { h -> String? in
            h.count > 7 && h.prefix(7).lowercased() == "bearer " ? String(h.dropFirst(7)) : nil
        }
        guard let given, configuration.tokens.contains(where: { constantTimeEqual($0, given) }) else {
            throw ServerFailure(.unauthorized, given == nil ? "token_required" : "token_refused",
                                given == nil ? "this server needs a token (Authorization: Bearer TOKEN)" : "the token was refused")
        }
    }

    /// Reads a hash-list body: at most what `maxHashesPerRequest` hashes take.
    private func collect(_ request: Request, _ received: inout Int) async throws -> [UInt8] {
        let limit = min(configuration.limits.maxBodyBytes, configuration.limits.maxHashesPerRequest * Hash.byteCount + 12)
        var out: [UInt8] = []
        let pace = Pace(configuration.limits)
        for try await buffer in request.body {
            out.append(contentsOf: buffer.readableBytesView)
            guard out.count <= limit else { throw ServerFailure(.contentTooLarge, "body_too_large", "the request body is over \(limit) bytes") }
            try pace.check(out.count)
        }
        received = out.count
        return out
    }

    private func decodeHashes(_ body: [UInt8]) throws -> [Hash] {
        let hashes: [Hash]
        do { hashes = try Wire.decodeHashes(body) } catch { throw ServerFailure.from(error) }
        guard hashes.count <= configuration.limits.maxHashesPerRequest else {
            throw ServerFailure(.contentTooLarge, "too_many_hashes", "a request may name at most \(configuration.limits.maxHashesPerRequest) hashes")
        }
        return hashes
    }

    /// A chunk stream of the batches, read from the store as the client takes them, after
    /// `prefix` (a `fetch-refs` answer's ref list).
    private func stream(_ batches: ChunkBatches, prefix: [UInt8] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.cairnChunks] = String(batches.totalChunks)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var out = prefix + Wire.streamHeader()
            var count = 0
            let it = batches.makeAsyncIterator()
            // Each batch is read from the store on the thread pool, off the task pool.
            while let batch = try await NIOThreadPool.singleton.runIfActive({ try it.nextBatchNow() }) {
                for c in batch { Wire.appendChunk(c, to: &out) }
                count += batch.count
                if out.count >= 256 << 10 {
                    try await writer.write(ByteBuffer(bytes: out))
                    out.removeAll(keepingCapacity: true)
                }
            }
            Wire.appendEnd(count: count, to: &out)
            try await writer.write(ByteBuffer(bytes: out))
            try await writer.finish(nil)
        })
    }

    /// `POST push`: a chunk stream, then ref updates. Chunks are checked and stored in batches
    /// as they arrive (a batch holding a chunk whose children are missing is refused, 409); the
    /// refs move once the stream has ended whole.
    private func push(_ request: Request, service: StoreService, _ received: inout Int) async throws -> Response {
        let limits = configuration.limits
        let receiver = ChunkReceiver(store: service.chunks)
        var decoder = WireDecoder(expectUpdates: true)
        var arrived = Set<Hash>()
        var total = 0
        do {
            let pace = Pace(limits)
            for try await buffer in request.body {
                total += buffer.readableBytes
                try pace.check(total)
                guard total <= limits.maxBodyBytes else {
                    throw ServerFailure(.contentTooLarge, "body_too_large", "the request body is over \(limits.maxBodyBytes) bytes")
                }
                decoder.append(buffer.readableBytesView)
                while let chunk = try decoder.next() {
                    guard decoder.chunkCount <= limits.maxChunksPerRequest else {
                        throw ServerFailure(.contentTooLarge, "too_many_chunks", "a push may carry at most \(limits.maxChunksPerRequest) chunks")
                    }
                    arrived.insert(chunk.hash)
                    if receiver.buffer(chunk) { try await offload { try receiver.handOff() } }
                }
            }
            received = total
            try decoder.checkFinished()
            // A ref may only name a chunk that is here or in this push: anything else is a
            // broken client, refused before anything more is written.
            let targets = (decoder.updates ?? []).compactMap(\.new).filter { !arrived.contains($0) }
            let present = try service.hasMany(targets)
            if let absent = targets.first(where: { !present.contains($0) }) {
                throw ServerFailure(.conflict, "missing_target", "a ref update names \(absent), which is neither in the store nor in the push")
            }
        } catch let e as ServerFailure {
            throw e
        } catch {
            throw ServerFailure.from(error)
        }
        let updates = decoder.updates ?? []
        // The receiver's writer record keeps what arrived from a gc until the refs have moved.
        defer { receiver.endWriting() }
        // The last batch and the ref moves in one transaction.
        let results: [RefUpdateResult]
        do {
            results = try await offload { try receiver.finishReceiving(); return try service.applyUpdates(updates, landing: receiver) }
        } catch {
            throw ServerFailure.from(error)
        }
        return Self.ok(Wire.encodeResults(results), type: "text/plain; charset=utf-8")
    }

    /// Runs blocking store work on NIO's thread pool, off the event loops and the task pool.
    private func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    // MARK: Responses

    static func ok(_ bytes: [UInt8], type: String = "application/octet-stream") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The error body of docs/protocol.md: `{"error": CODE, "message": TEXT}`.
    static func failure(_ f: ServerFailure) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if f.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"cairn\"" }
        let body = "{\"error\":\(jsonString(f.code)),\"message\":\(jsonString(f.message))}\n"
        return Response(status: f.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// A request refused, with its status and the error code of docs/protocol.md.
struct ServerFailure: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The status for an error raised while serving: the client's fault is a 4xx, the store's a 500.
    static func from(_ error: any Error) -> ServerFailure {
        switch error {
        case let f as ServerFailure: return f
        case let e as WireError:
            switch e {
            case .chunkTooLarge: return ServerFailure(.contentTooLarge, "chunk_too_large", e.description)
            case .truncated: return ServerFailure(.badRequest, "truncated", e.description)
            case .protocolVersion: return ServerFailure(.badRequest, "protocol_version", e.description)
            case .malformed: return ServerFailure(.badRequest, "malformed", e.description)
            }
        case let e as StoreError:
            switch e {
            case .corruptChunk: return ServerFailure(.badRequest, "corrupt_chunk", e.description)
            case .missingReferences: return ServerFailure(.conflict, "incomplete", e.description)
            case .chunkTooLarge: return ServerFailure(.contentTooLarge, "chunk_too_large", e.description)
            case .busy: return ServerFailure(.serviceUnavailable, "busy", e.description)
            default: return ServerFailure(.internalServerError, "store", e.description)
            }
        case let e as SyncError:
            if case .missingChunk = e { return ServerFailure(.notFound, "unknown_chunk", e.description) }
            return ServerFailure(.internalServerError, "store", e.description)
        default:
            return ServerFailure(.internalServerError, "internal", "\(error)")
        }
    }
}

/// Compares two tokens in time that depends only on their lengths.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}

/// Requests in flight.
final class Counter: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
    func decrement() { lock.withLock { value -= 1 } }
}

enum DispatchTimeShim {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

extension String {
    init(format1 v: Double) {
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}

extension HTTPField.Name {
    static let cairnProtocol = HTTPField.Name(Wire.protocolHeader)!
    /// How many chunks a chunk stream response carries.
    static let cairnChunks = HTTPField.Name("Cairn-Chunks")!
    static let cairnMaxBody = HTTPField.Name("Cairn-Max-Body")!
    static let cairnMaxChunks = HTTPField.Name("Cairn-Max-Chunks")!
}

/// A body must keep coming: after the grace period, at no less than `minBytesPerSecond` on
/// average, so a client trickling bytes cannot hold a request slot for long (408 past it).
struct Pace {
    let started = DispatchTimeShim.now()
    let minRate: Int
    let grace: Double
    init(_ limits: ServerConfiguration.Limits) {
        minRate = limits.minBytesPerSecond
        grace = limits.slowBodyGraceSeconds
    }

    func check(_ bytes: Int) throws {
        let seconds = Double(DispatchTimeShim.now() - started) / 1e9
        guard seconds > grace, Double(bytes) / seconds < Double(minRate) else { return }
        throw ServerFailure(.requestTimeout, "too_slow", "the request body came at under \(minRate) bytes a second")
    }
}
