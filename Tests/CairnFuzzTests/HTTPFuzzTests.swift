import AsyncHTTPClient
import CairnStore
import CairnValues
import CairnVersioning
import CairnSync
@testable import CairnRemote
import CairnServer
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A folder holding the store `hub`, served by `cairn serve` inside the test process.
final class ServedFolder: @unchecked Sendable {
    let root = NSTemporaryDirectory() + "cairn-fuzz-srv-" + UUID().uuidString
    let task: Task<Void, any Error>
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init() async throws {
        try StoreDirectory.create(in: root + "/hub").close()
        var config = ServerConfiguration()
        config.port = 0
        config.limits.maxBodyBytes = 1 << 20
        let server = try SyncServer(directory: root, configuration: config,
                                    logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        task = Task { try await server.run(handleSignals: false) { continuation.yield($0) } }
        var it = ports.makeAsyncIterator()
        guard let p = await it.next() else { throw SyncError.unavailable("the fuzz server did not start") }
        port = p
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// An HTTP server that answers every request with the status and body it is given: the other
/// side of the client's response parsing.
final class ScriptedServer: @unchecked Sendable {
    let answer = Locked<(status: Int, body: [UInt8])>((200, []))
    let task: Task<Void, any Error>
    let port: Int

    init() async throws {
        let answer = self.answer
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                _ = try? await request.body.collect(upTo: 16 << 20)
                let (status, body) = answer.withLock { $0 }
                var headers = HTTPFields()
                headers[HTTPField.Name("Cairn-Protocol")!] = "1"
                return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in ScriptedServer.started.withLock { $0 = channel.localAddress?.port ?? 0 } },
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var p = 0
        for _ in 0..<500 where p == 0 {
            try await Task.sleep(nanoseconds: 10_000_000)
            p = Self.started.withLock { $0 }
        }
        guard p != 0 else { throw SyncError.unavailable("the scripted server did not start") }
        port = p
    }

    static let started = Locked(0)

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// The server's request handling (every endpoint, and raw HTTP/1.1 bytes) and the client's
/// response handling (``HTTPRemote`` against a server that answers anything).
@Suite(.serialized) struct HTTPFuzzTests {
    static let endpoints = ["has", "chunks", "fetch", "push", "refs"]

    /// Valid bodies for each endpoint: byte 0 names the endpoint.
    static func requestSeeds() throws -> [[UInt8]] {
        let source = MemoryChunkStore()
        let repo = Repository(chunks: source)
        try repo.edit(at: ValuePath(parsing: "/x"), value: .string(String(repeating: "payload ", count: 50)))
        let c = try repo.commitWorkingSet(message: "one", author: "fuzz", date: 1)
        var stream = Wire.streamHeader()
        var hashes: [Hash] = []
        try source.forEachHash { hashes.append($0) }
        // Children first: the order a push must send.
        var chunks = try source.getStored(hashes)
        chunks.sort { a, b in a.hash != c.hash && b.hash == c.hash }
        for s in chunks { Wire.appendChunk(s, to: &stream) }
        Wire.appendEnd(count: chunks.count, to: &stream)
        let push = stream + Wire.encodeUpdates([RefUpdate(name: "heads/main", old: nil, new: c.hash)])
        return [
            [0] + Wire.encodeHashes(hashes), [1] + Wire.encodeHashes(Array(hashes.prefix(2))),
            [2] + Wire.encodeFetch(FetchRequest(wants: [c.hash], haves: [], haveChunks: Array(hashes.prefix(1)))),
            [3] + push, [3] + stream + Wire.encodeUpdates([RefUpdate(name: "tags/v1", old: nil, new: c.hash)]), [4],
        ]
    }

    static func post(_ url: String, get: Bool, _ body: [UInt8]) async throws -> (status: Int, body: [UInt8]) {
        var req = HTTPClientRequest(url: url)
        req.method = get ? .GET : .POST
        req.headers.add(name: "Cairn-Protocol", value: "1")
        if !get { req.body = .bytes(ByteBuffer(bytes: body)) }
        let r = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let b = try await r.body.collect(upTo: 64 << 20)
        return (Int(r.status.code), Array(b.readableBytesView))
    }

    static func request(_ server: ServedFolder, _ input: [UInt8]) async throws {
        guard let e = input.first else { return }
        let endpoint = endpoints[Int(e) % endpoints.count]
        let r = try await post(server.url + "/hub/" + endpoint, get: endpoint == "refs", Array(input.dropFirst()))
        // A client's bytes are never the server's fault: 2xx, or a 4xx that says why.
        Finding.check(r.status < 500, "\(endpoint): \(r.status) \(String(decoding: r.body.prefix(300), as: UTF8.self))")
        if r.status != 200 {
            Finding.check(String(decoding: r.body, as: UTF8.self).contains("\"error\""), "\(endpoint): \(r.status) without an error body")
        }
    }

    static func serverStillAnswers(_ server: ServedFolder) async throws {
        let r = try await post(server.url + "/hub/refs", get: true, [])
        #expect(r.status == 200)
    }

    @Test func serverRequests() async throws {
        let server = try await ServedFolder()
        let seeds = try Self.requestSeeds()
        await Fuzz.run("http-request", seeds: seeds, iterations: 400, dictionary: [[0x43, 0x52, 0x4E, 0x53, 0x01]],
                       acceptable: { $0 is HTTPClientError }) { try await Self.request(server, $0) }
        try await Self.serverStillAnswers(server)
        await server.stop()
    }

    @Test func serverRequestRegressions() async throws {
        let server = try await ServedFolder()
        await Fuzz.replay("http-request", acceptable: { $0 is HTTPClientError }) { try await Self.request(server, $0) }
        try await Self.serverStillAnswers(server)
        await server.stop()
    }

    /// Raw bytes on a TCP connection: whatever the server makes of them, it stays up.
    static func raw(_ server: ServedFolder, _ input: [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(server.port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { throw SyncError.unavailable("connect failed") }
        _ = input.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        while recv(fd, &buf, buf.count, 0) > 0 {}
    }

    @Test func rawHTTP() async throws {
        let server = try await ServedFolder()
        let push = try Self.requestSeeds()[3].dropFirst()
        let seeds = [
            "GET /hub/refs HTTP/1.1\r\nHost: x\r\nCairn-Protocol: 1\r\n\r\n",
            "POST /hub/has HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n01234567890123456789",
            "POST /hub/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nCRNS\u{1}\r\n0\r\n\r\n",
            "GET /hub/refs HTTP/1.1\r\nHost: x\r\n\r\nGET /hub/refs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ].map { Array($0.utf8) } + [Array("POST /hub/push HTTP/1.1\r\nHost: x\r\nContent-Length: \(push.count)\r\n\r\n".utf8) + push]
        await Fuzz.run("http-raw", seeds: seeds, iterations: 200, dictionary: ["\r\n", ": ", "Content-Length: ", "chunked", "%00", "/../"].map { Array($0.utf8) },
                       acceptable: { $0 is SyncError }) { try Self.raw(server, $0) }
        try await Self.serverStillAnswers(server)
        await server.stop()
    }

    static let responseStatuses = [200, 200, 200, 400, 401, 403, 404, 409, 413, 500]

    /// Byte 0 chooses the call, byte 1 the status; the rest is the body the server answers.
    static func response(_ server: ScriptedServer, _ input: [UInt8]) async throws {
        guard input.count >= 2 else { return }
        server.answer.withLock { $0 = (responseStatuses[Int(input[1]) % responseStatuses.count], Array(input.dropFirst(2))) }
        _ = HTTPRemote.errorBody(Array(input.dropFirst(2)))
        let remote = HTTPRemote(url: "http://127.0.0.1:\(server.port)/hub", token: nil)
        remote.retries = 0
        let h = [Hash(of: [1]), Hash(of: [2]), Hash(of: [3])]
        switch input[0] % 4 {
        case 0: _ = try await remote.listRefs()
        case 1: _ = try await remote.hasMany(h)
        case 2:
            let receiver = ChunkReceiver(store: MemoryChunkStore())
            try await remote.fetch(FetchRequest(wants: [h[0]]), into: receiver)
        default: _ = try await remote.push([RefUpdate(name: "heads/main", old: nil, new: h[0])], chunks: { .empty })
        }
    }

    @Test func clientResponses() async throws {
        let server = try await ScriptedServer()
        let chunk = StoredChunk(raw: Chunk([Format.version, 0x05, 1, 0x41]))
        var stream = Wire.streamHeader()
        Wire.appendChunk(chunk, to: &stream)
        Wire.appendEnd(count: 1, to: &stream)
        let seeds: [[UInt8]] = [
            [0, 0] + Wire.encodeRefs([("heads/main", chunk.hash)]), [1, 0, 0b101], [2, 0] + stream,
            [3, 0] + Array("ok heads/main\n".utf8), [3, 0] + Array("ng heads/main stale \(chunk.hash)\n".utf8),
            [0, 3] + Array(#"{"error": "malformed", "message": "no"}"#.utf8),
        ]
        let acceptable: (any Error) -> Bool = { $0 is SyncError || $0 is WireError || $0 is StoreError || $0 is HTTPClientError }
        await Fuzz.run("http-response", seeds: seeds, iterations: 400, acceptable: acceptable) { try await Self.response(server, $0) }
        await Fuzz.replay("http-response", acceptable: acceptable) { try await Self.response(server, $0) }
        await server.stop()
    }
}
