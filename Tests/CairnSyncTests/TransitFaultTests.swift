import AsyncHTTPClient
import CairnStore
import CairnValues
import CairnVersioning
@testable import CairnSync
@testable import CairnRemote
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing

/// A relay on 127.0.0.1 in front of a server, answering through `alter`: it can flip bytes of
/// an answer, or be another server altogether.
final class Relay: @unchecked Sendable {
    let task: Task<Void, any Error>
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(_ handle: @escaping @Sendable (Request) async throws -> Response) async throws {
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        let runner = Application(responder: CallbackResponder<BasicRequestContext> { req, _ in try await handle(req) },
                                 configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                 onServerRunning: { cont.yield($0.localAddress?.port ?? 0) },
                                 logger: Logger(label: "relay", factory: { _ in SwiftLogNoOpLogHandler() }))
        task = Task { try await runner.runService(gracefulShutdownSignals: []) }
        var it = ports.makeAsyncIterator()
        port = await it.next() ?? 0
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// Forwards a request to `target` and returns its answer, whole, through `alter`.
    static func forward(_ req: Request, to target: String, alter: @Sendable ([UInt8]) -> [UInt8] = { $0 }) async throws -> Response {
        var out = HTTPClientRequest(url: target + req.uri.path)
        out.method = .init(rawValue: req.method.rawValue)
        for f in req.headers where f.name != .transferEncoding && f.name != .contentLength { out.headers.add(name: f.name.rawName, value: f.value) }
        var body: [UInt8] = []
        for try await b in req.body { body.append(contentsOf: b.readableBytesView) }
        out.body = .bytes(ByteBuffer(bytes: body))
        let answer = try await HTTPClient.shared.execute(out, timeout: .seconds(30))
        let bytes = Array(buffer: try await answer.body.collect(upTo: 64 << 20))
        var headers = HTTPFields()
        for (name, value) in answer.headers where name.lowercased() != "content-length" && name.lowercased() != "transfer-encoding" {
            if let n = HTTPField.Name(name) { headers[n] = value }
        }
        return Response(status: .init(code: Int(answer.status.code)), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: alter(bytes))))
    }
}

@Suite(.serialized) struct TransitFaultTests {
    /// A server, and a store that pushed a 3,000-entry map to its store `hub` as `main`.
    static func servedMap() async throws -> (folder: ServerFolder, server: TestServer, a: TempStore) {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        do {
            let a = try TempStore()
            try a.putMap("big", count: 3000)
            try a.commit("one")
            _ = try await a.session(HTTPRemote(url: server.url + "/hub", token: nil)).push(branch: "main")
            return (folder, server, a)
        } catch {
            await server.stop()
            throw error
        }
    }

    @Test func aResponseCorruptedInTransitFailsTheFetchAndMovesNoRef() async throws {
        let (folder, server, a) = try await Self.servedMap()
        defer { withExtendedLifetime(folder) { Task { await server.stop() } } }

        // Each fetch answer gets one byte flipped at a different place, the first four times.
        let flips = Locked(0)
        let target = server.url
        let relay = try await Relay { req in
            let isFetch = req.uri.path.hasSuffix("/fetch") || req.uri.path.hasSuffix("/fetch-refs")
            return try await Relay.forward(req, to: target) { bytes in
                guard isFetch else { return bytes }
                let n = flips.withLock { v -> Int in v += 1; return v }
                guard n <= 4, bytes.count > 100 else { return bytes }
                var b = bytes
                // The middle, the ref list (a `fetch-refs` answer starts with it), the end, and
                // the chunk stream's magic right after the ref list.
                let list = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
                let at = [bytes.count / 2, 7, bytes.count - 3, 4 + list + 2][n - 1]
                b[at] ^= 0x10
                return b
            }
        }
        defer { Task { await relay.stop() } }
        let b = try TempStore()
        let remote = HTTPRemote(url: relay.url + "/hub", token: nil)
        remote.retries = 0
        for _ in 0..<4 {
            do {
                _ = try await b.session(remote).fetch()
                Issue.record("a corrupted answer was taken")
            } catch let e as SyncError {
                #expect(e.exitCode == 3, "\(e)")
            } catch let e as StoreError {
                Issue.record("the store saw the damage first: \(e)")
            }
            #expect(try b.chunks.refs(prefix: "").isEmpty, "a ref moved onto a damaged transfer")
        }
        // Run again: it completes.
        _ = try await b.session(remote).fetch()
        #expect(try b.chunks.ref("remotes/origin/main") == a.chunks.ref("heads/main"))
        #expect(try b.reachable([try b.chunks.ref("remotes/origin/main")!]) == a.reachable([try a.chunks.ref("heads/main")!]))
    }

    /// A version-1 server without `fetch-refs` (it answers 404 `not_found`, as the protocol
    /// lets a server that predates an endpoint): the client lists the refs and fetches, in two
    /// requests, and asks that server no more.
    @Test func aServerWithoutFetchRefsIsAskedForRefsThenChunks() async throws {
        let (folder, server, a) = try await Self.servedMap()
        defer { withExtendedLifetime(folder) { Task { await server.stop() } } }
        let target = server.url
        let asked = Locked<[String]>([])
        let relay = try await Relay { req in
            asked.withLock { $0.append(req.uri.path) }
            guard req.uri.path.hasSuffix("/fetch-refs") else { return try await Relay.forward(req, to: target) }
            var h = HTTPFields()
            h[HTTPField.Name("Cairn-Protocol")!] = "1"
            h[.contentType] = "application/json"
            return Response(status: .notFound, headers: h,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"not_found","message":"no such endpoint"}"#)))
        }
        defer { Task { await relay.stop() } }
        let b = try TempStore()
        let remote = HTTPRemote(url: relay.url + "/hub", token: nil)
        _ = try await b.session(remote).fetch(createBranches: true)
        #expect(try b.chunks.ref("remotes/origin/main") == a.chunks.ref("heads/main"))
        #expect(asked.withLock { $0 } == ["/hub/fetch-refs", "/hub/refs", "/hub/fetch"])
        try b.chunks.setSetting("core.head", "main")
        try a.set("/big/k00000001", .string("two"))
        try a.commit("two")
        _ = try await a.session(HTTPRemote(url: server.url + "/hub", token: nil)).push(branch: "main")
        let pulled = try await b.session(remote).pull(author: "b")
        #expect(pulled.merge.kind == .fastForward)
        #expect(try b.chunks.ref("heads/main") == a.chunks.ref("heads/main"))
        #expect(asked.withLock { Array($0.dropFirst(3)) } == ["/hub/refs", "/hub/fetch"])
    }

    /// The ref list at the head of a `fetch-refs` answer, however the answer's buffers cut it.
    @Test func theRefListPrefixIsReadAcrossBuffers() throws {
        let refs = [(name: "heads/main", hash: Hash(of: [1])), (name: "tags/v1", hash: Hash(of: [2]))]
        let answer = Wire.encodeRefListPrefix(refs) + Wire.streamHeader() + [0, 0, 0, 0, 0]
        for cut in [1, 3, 4, 5, 30, answer.count - 6, answer.count - 1] {
            var p = RefListPrefix(expected: true)
            let first = try p.take(answer[..<cut])
            let rest = try p.take(answer[cut...])
            let after = (first ?? []) + (rest ?? [])
            #expect(p.refs?.map(\.name) == ["heads/main", "tags/v1"], "cut at \(cut)")
            #expect(p.refs?.map(\.hash) == refs.map(\.hash))
            #expect(after == Array(answer[(answer.count - 10)...]), "cut at \(cut)")
        }
        // An empty list, a list cut short, a length past the limit, a list that is no ref list.
        var empty = RefListPrefix(expected: true)
        #expect(try empty.take(Wire.encodeRefListPrefix([])) == [])
        #expect(empty.refs?.isEmpty == true)
        var short = RefListPrefix(expected: true)
        #expect(try short.take(Array(Wire.encodeRefListPrefix(refs).dropLast())) == nil)
        #expect(short.refs == nil)
        var huge = RefListPrefix(expected: true)
        #expect(throws: WireError.self) { _ = try huge.take([0xFF, 0xFF, 0xFF, 0xFF]) }
        var garbage = RefListPrefix(expected: true)
        #expect(throws: WireError.self) { _ = try garbage.take([0, 0, 0, 3, 0x41, 0x42, 0x0A]) }
    }

    /// A tag no branch reaches comes once: the next fetch names it as a have, and the server
    /// sends nothing again.
    @Test func aSecondFetchSendsNothingAgain() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore()
        try a.putMap("big", count: 3000)
        let one = try a.commit("one")
        try a.repo.createBranch("side", at: one.hash)
        try a.repo.checkout("side")
        try a.set("/big/k00000001", .string("side"))
        let side = try a.commit("side")
        try a.chunks.compareAndSwapRef("tags/v1", expected: nil, new: side.hash)
        try a.repo.checkout("main")
        _ = try await a.session(HTTPRemote(url: url, token: nil)).push(branch: "main", tags: true)
        let b = try TempStore()
        _ = try await b.session(HTTPRemote(url: url, token: nil)).fetch()
        #expect(try b.chunks.ref("tags/v1") == side.hash)
        let again = HTTPRemote(url: url, token: nil)
        let report = try await b.session(again).fetch()
        #expect(report.chunksReceived == 0)
        #expect(again.counters.requests == 1)
        #expect(again.counters.received < 512, "\(again.counters.received) bytes for a fetch with nothing new")
    }

    /// A store with more heads than a fetch names as haves lists the refs first and asks only
    /// for the targets it lacks: two requests, and nothing it holds sent again.
    @Test func aStoreWithManyHeadsListsTheRefsFirst() async throws {
        let (folder, server, a) = try await Self.servedMap()
        defer { withExtendedLifetime(folder) { Task { await server.stop() } } }
        let b = try TempStore()
        for i in 0..<1100 {
            let c = Chunk(Array("a head of b's own \(i)".utf8))
            try b.chunks.put([ChunkWrite(c)])
            _ = try b.chunks.compareAndSwapRef("tags/t\(i)", expected: nil, new: c.hash)
        }
        let first = HTTPRemote(url: server.url + "/hub", token: nil)
        _ = try await b.session(first).fetch()
        #expect(try b.chunks.ref("remotes/origin/main") == a.chunks.ref("heads/main"))
        #expect(first.counters.requests == 2, "refs, then fetch")
        let again = HTTPRemote(url: server.url + "/hub", token: nil)
        let report = try await b.session(again).fetch()
        #expect(report.chunksReceived == 0)
        #expect(again.counters.requests == 1, "refs only: every target is here")
    }

    @Test func aServerOfAnotherProtocolVersionOrNoCairnServerIsRefusedClearly() async throws {
        let other = try await Relay { _ in
            var h = HTTPFields()
            h[HTTPField.Name("Cairn-Protocol")!] = "2"
            return Response(status: .badRequest, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\":\"protocol_version\",\"message\":\"v2 only\"}")))
        }
        defer { Task { await other.stop() } }
        let b = try TempStore()
        do {
            _ = try await b.session(HTTPRemote(url: other.url, token: nil)).fetch()
            Issue.record("a v2 server was used")
        } catch let e as SyncError {
            #expect(e.description.contains("speaks sync protocol 2"), "\(e)")
            #expect(e.exitCode == 3)
        }
        let plain = try await Relay { _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "hello"))) }
        defer { Task { await plain.stop() } }
        do {
            _ = try await b.session(HTTPRemote(url: plain.url, token: nil)).fetch()
            Issue.record("a plain web server was used")
        } catch let e as SyncError {
            #expect(e.description.contains("not a cairn server"), "\(e)")
        }
        // And the server refuses a client of another version.
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        var req = HTTPClientRequest(url: server.url + "/hub/refs")
        req.headers.add(name: "Cairn-Protocol", value: "7")
        let r = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
        #expect(r.status.code == 400)
        #expect(String(buffer: try await r.body.collect(upTo: 4096)).contains("protocol 7"))
    }

    /// A server that answers a push with 200 but names no ref moved nothing: the push fails.
    @Test func aPushAnswerThatDoesNotMatchTheRequestFails() async throws {
        let liar = try await Relay { req in
            var h = HTTPFields()
            h[HTTPField.Name("Cairn-Protocol")!] = "1"
            for try await _ in req.body {}
            return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: req.uri.path.hasSuffix("/refs") ? "" : "")))
        }
        defer { Task { await liar.stop() } }
        let a = try TempStore()
        try a.set("/x", .int(1))
        try a.commit("one")
        do {
            _ = try await a.session(HTTPRemote(url: liar.url, token: nil)).push(branch: "main")
            Issue.record("a push that moved nothing succeeded")
        } catch let e as SyncError {
            #expect(e.exitCode == 3, "\(e)")
        }
        #expect(try a.chunks.ref("remotes/origin/main") == nil)
    }

    /// A clone cut off part way leaves complete subtrees; run again, it fetches only the rest.
    @Test func anInterruptedCloneResumesAndMovesLess() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root)
        defer { Task { await server.stop() } }
        let url = server.url + "/hub"
        let a = try TempStore()
        try a.putMap("big", count: 60_000)
        try a.commit("one")
        _ = try await a.session(HTTPRemote(url: url, token: nil)).push(branch: "main")
        let full = try { let hub = try folder.open(); defer { hub.close() }; return try hub.stats() }()

        let dir = NSTemporaryDirectory() + "cairn-resume-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let (store, _) = try Clone.prepare(directory: dir, url: url, token: nil)
            defer { store.close() }
            let cut = CuttingRemote(HTTPRemote(url: url, token: nil), afterChunks: full.chunks / 2)
            await #expect(throws: SyncError.self) {
                _ = try await Clone.run(SyncSession(repo: Repository(chunks: store), remoteName: "origin", remote: cut), resuming: false)
            }
            #expect(try store.refs(prefix: "").isEmpty)
            #expect(try store.stats().chunks > 0)
        }
        // Something else in the folder is refused; the same URL resumes.
        #expect(throws: SyncError.self) { _ = try Clone.prepare(directory: dir, url: url + "x", token: nil) }
        let (store, resuming) = try Clone.prepare(directory: dir, url: url, token: nil)
        defer { store.close() }
        #expect(resuming)
        let had = try store.stats().chunks
        let report = try await Clone.run(SyncSession(repo: Repository(chunks: store), remoteName: "origin",
                                                     remote: HTTPRemote(url: url, token: nil)), resuming: true)
        #expect(report.chunksReceived <= full.chunks - had + 2, "received \(report.chunksReceived) of \(full.chunks), had \(had)")
        #expect(try store.ref("heads/main") == a.chunks.ref("heads/main"))
        #expect(try store.stats().chunks == full.chunks)
        #expect(try store.setting(Clone.pendingSetting) == nil)
    }
}

/// A remote whose fetches break off after some chunks, as a killed transfer does.
struct CuttingRemote: SyncRemote {
    let inner: any SyncRemote
    let afterChunks: Int
    init(_ inner: any SyncRemote, afterChunks: Int) {
        self.inner = inner
        self.afterChunks = afterChunks
    }
    func listRefs() async throws -> [(name: String, hash: Hash)] { try await inner.listRefs() }
    func hasMany(_ hashes: [Hash]) async throws -> Set<Hash> { try await inner.hasMany(hashes) }
    func push(_ updates: [RefUpdate], chunks: @escaping @Sendable () -> ChunkBatches) async throws -> [RefUpdateResult] {
        try await inner.push(updates, chunks: chunks)
    }
    func fetch(_ request: FetchRequest, into receiver: ChunkReceiver) async throws {
        let limit = afterChunks
        let cutting = ChunkReceiver(store: CuttingStore(receiver.store, after: limit), batchChunks: 256)
        try await inner.fetch(request, into: cutting)
    }
}

/// Passes writes through until `after` chunks, then fails every write.
final class CuttingStore: ChunkStore, @unchecked Sendable {
    let inner: any ChunkStore
    let after: Int
    var written = 0
    init(_ inner: any ChunkStore, after: Int) {
        self.inner = inner
        self.after = after
    }
    func get(_ hash: Hash) throws -> Chunk? { try inner.get(hash) }
    func getMany(_ hashes: [Hash]) throws -> [Hash: Chunk] { try inner.getMany(hashes) }
    func has(_ hash: Hash) throws -> Bool { try inner.has(hash) }
    func hasMany(_ hashes: [Hash]) throws -> Set<Hash> { try inner.hasMany(hashes) }
    func put(_ batch: [ChunkWrite]) throws { try inner.put(batch) }
    func ref(_ name: String) throws -> Hash? { try inner.ref(name) }
    func compareAndSwapRef(_ name: String, expected: Hash?, new: Hash?) throws -> Bool { try inner.compareAndSwapRef(name, expected: expected, new: new) }
    func compareAndSwapRefs(_ moves: [RefMove]) throws -> Bool { try inner.compareAndSwapRefs(moves) }
    func getStored(_ hashes: [Hash]) throws -> [StoredChunk] { try inner.getStored(hashes) }
    func putStored(_ batch: [StoredChunkWrite], moving moves: [RefMove]) throws -> Bool {
        guard written < after else { throw SyncError.unavailable("cut off") }
        written += batch.count
        return try inner.putStored(batch, moving: moves)
    }
    func refs(prefix: String) throws -> [(name: String, hash: Hash)] { try inner.refs(prefix: prefix) }
    func stats() throws -> StoreStats { try inner.stats() }
    func forEachHash(_ body: (Hash) throws -> Void) throws { try inner.forEachHash(body) }
    func hashes(in range: ClosedRange<Hash>, limit: Int) throws -> [Hash] { try inner.hashes(in: range, limit: limit) }
}
