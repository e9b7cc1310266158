import AsyncHTTPClient
import CairnStore
import CairnValues
import CairnVersioning
@testable import CairnSync
import CairnRemote
import Foundation
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Requests no honest client sends are refused with a 4xx and change nothing in the store.
@Suite(.serialized) struct HostileRequestTests {
    struct Snapshot: Equatable {
        let refs: [String]
        let stats: StoreStats
    }

    func snapshot(_ folder: ServerFolder) throws -> Snapshot {
        let s = try folder.open()
        defer { s.close() }
        return Snapshot(refs: try s.refs(prefix: "").map { "\($0.name) \($0.hash)" }, stats: try s.stats())
    }

    func post(_ url: String, _ body: [UInt8], token: String? = nil, scheme: String = "Bearer") async throws -> (status: Int, body: String) {
        var req = HTTPClientRequest(url: url)
        req.method = .POST
        req.headers.add(name: "Cairn-Protocol", value: "1")
        if let token { req.headers.add(name: "Authorization", value: scheme + " " + token) }
        req.body = .bytes(ByteBuffer(bytes: body))
        let r = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        let b = try await r.body.collect(upTo: 1 << 20)
        return (Int(r.status.code), String(buffer: b))
    }

    /// A valid stream of the chunks of a small commit, children first, and the commit.
    func validPush() async throws -> (chunks: [StoredChunk], commit: Hash) {
        let a = try TempStore()
        try a.set("/x", .string(String(repeating: "payload ", count: 50)))
        let c = try a.commit("one")
        let plan = try await SendPlanner(source: a.chunks, receiverHas: nil).plan(wants: [c.hash], haves: [])
        return (try a.chunks.getStored(plan), c.hash)
    }

    func body(_ chunks: [StoredChunk], updates: [RefUpdate], end: Bool = true, count: Int? = nil) -> [UInt8] {
        var out = Wire.streamHeader()
        for c in chunks { Wire.appendChunk(c, to: &out) }
        if end {
            Wire.appendEnd(count: count ?? chunks.count, to: &out)
            out += Wire.encodeUpdates(updates)
        }
        return out
    }

    @Test func malformedPushesAreRefusedAndChangeNothing() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root) { $0.limits.maxBodyBytes = 256 * 1024 }
        defer { Task { await server.stop() } }
        let url = server.url + "/hub/push"
        let (chunks, commit) = try await validPush()
        let update = [RefUpdate(name: "heads/main", old: nil, new: commit)]
        let before = try snapshot(folder)

        var flipped = chunks
        let last = flipped.removeLast()
        var bytes = last.bytes
        bytes[bytes.count / 2] ^= 0x40
        flipped.append(StoredChunk(hash: last.hash, codec: last.codec, size: last.size, bytes: bytes))
        var huge = Wire.streamHeader()
        huge.append(1)
        Hash(of: [1]).withUnsafeBytes { huge.append(contentsOf: $0) }
        huge += [0, 0x00, 0x20, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00]  // raw, 2 MiB, 2 MiB
        let missing = Hash(of: Array("not stored".utf8))
        var rng = SplitMix64(seed: 7)
        let cases: [(String, [UInt8], ClosedRange<Int>)] = [
            ("a truncated body", Array(body(chunks, updates: update).dropLast(30)), 400...400),
            ("a stream with no end frame", body(chunks, updates: update, end: false), 400...400),
            ("an end frame that miscounts", body(chunks, updates: update, count: chunks.count + 1), 400...400),
            ("a chunk whose bytes do not match its hash", body(flipped, updates: update), 400...400),
            ("an oversized chunk", huge, 413...413),
            ("an oversized body", body(Array(repeating: chunks, count: 300 * 1024 / max(1, chunks.reduce(0) { $0 + $1.bytes.count }) + 1).flatMap { $0 },
                                       updates: update), 413...413),
            ("garbage", (0..<5000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, 400...400),
            ("another protocol's stream", [0x43, 0x52, 0x4E, 0x53, 9] + [0, 0, 0, 0, 0, 0, 0], 400...400),
            ("a parent without its children", body(Array(chunks.suffix(1)), updates: []), 409...409),
            ("a ref update to a missing chunk", body([], updates: [RefUpdate(name: "heads/main", old: nil, new: missing)]), 409...409),
            ("bytes after the updates", body(chunks, updates: update) + [1, 2, 3], 400...400),
        ]
        for (what, payload, statuses) in cases {
            let r = try await post(url, payload)
            #expect(statuses.contains(r.status), "\(what): \(r.status) \(r.body)")
            #expect(r.body.contains("\"error\""), "\(what): \(r.body)")
            #expect(try snapshot(folder) == before, "\(what) changed the store")
        }
        // A ref name outside heads/ and tags/ is refused per ref; nothing moves.
        let r = try await post(url, body(chunks, updates: [RefUpdate(name: "working/main", old: nil, new: commit)]))
        #expect(r.status == 200 && r.body.hasPrefix("ng working/main invalid"), "\(r.body)")
        #expect(try snapshot(folder).refs == before.refs)
        // The honest request still goes through.
        let ok = try await post(url, body(chunks, updates: update))
        #expect(ok.status == 200 && ok.body == "ok heads/main\n", "\(ok.body)")
    }

    @Test func otherMalformedRequests() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root) { $0.limits.maxHashesPerRequest = 1000 }
        defer { Task { await server.stop() } }
        let before = try snapshot(folder)
        for (path, payload, status) in [
            ("/hub/has", [UInt8](repeating: 1, count: 21), 400),
            ("/hub/has", [UInt8](repeating: 1, count: 20 * 1001), 413),
            ("/hub/chunks", [UInt8](repeating: 1, count: 19), 400),
            ("/hub/fetch", [0, 0, 0, 9], 400),
            ("/hub/fetch", Wire.encodeFetch(FetchRequest(wants: [Hash(of: [9])])), 404),
            ("/hub/fetch-refs", [0, 0, 0, 9], 400),
            ("/hub/fetch-refs", Wire.encodeFetch(FetchRequest(wants: [])) + [0], 400),
            ("/hub/fetch-refs", Wire.encodeFetch(FetchRequest(wants: [Hash(of: [9])])), 404),
            ("/hub/fetch-refs", Wire.encodeFetch(FetchRequest(wants: [], haves: (0..<600).map { Hash(of: [UInt8($0 % 256), UInt8($0 / 256)]) },
                                                              haveChunks: (0..<600).map { Hash(of: [7, UInt8($0 % 256), UInt8($0 / 256)]) })), 413),
            ("/nostore/has", [], 404),
            ("/../hub/has", [], 404),
            ("/hub/nothing", [], 404),
        ] as [(String, [UInt8], Int)] {
            let r = try await post(server.url + path, payload)
            #expect(r.status == status, "\(path): \(r.status) \(r.body)")
        }
        #expect(try snapshot(folder) == before)
    }

    @Test func tokensAndReadOnly() async throws {
        let folder = try ServerFolder()
        let (chunks, commit) = try await validPush()
        let push = body(chunks, updates: [RefUpdate(name: "heads/main", old: nil, new: commit)])
        do {
            let server = try await TestServer(directory: folder.root) { $0.tokens = ["s3cret", "other"] }
            let before = try snapshot(folder)
            for token in [nil, "wrong", "s3cre", "s3cret2", ""] as [String?] {
                let r = try await post(server.url + "/hub/push", push, token: token)
                #expect(r.status == 401, "token \(token ?? "none"): \(r.status)")
            }
            #expect(try snapshot(folder) == before)
            // Reads are open unless --private.
            #expect(try await post(server.url + "/hub/has", []).status == 200)
            // Through the client: a wrong token is an authentication failure (exit 3).
            let a = try TempStore()
            try a.set("/x", .int(1))
            try a.commit("one")
            do {
                _ = try await a.session(HTTPRemote(url: server.url + "/hub", token: "wrong")).push(branch: "main")
                Issue.record("a wrong token pushed")
            } catch let e as SyncError {
                guard case .unauthorized = e else { Issue.record("\(e)"); return }
                #expect(e.exitCode == 3)
            }
            #expect(try await post(server.url + "/hub/push", push, token: "other").status == 200)
            await server.stop()
        }
        do {
            let server = try await TestServer(directory: folder.root) { $0.tokens = ["t"]; $0.privateReads = true }
            #expect(try await post(server.url + "/hub/has", []).status == 401)
            #expect(try await post(server.url + "/hub/has", [], token: "t").status == 200)
            await server.stop()
        }
        do {
            let server = try await TestServer(directory: folder.root) { $0.readOnly = true }
            let before = try snapshot(folder)
            let r = try await post(server.url + "/hub/push", push)
            #expect(r.status == 403)
            #expect(try snapshot(folder) == before)
            #expect(try await post(server.url + "/hub/has", []).status == 200)
            await server.stop()
        }
    }
}

/// A raw TCP connection to the test server, for clients no library would be.
final class RawConnection {
    let fd: Int32
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { throw SyncError.unavailable("connect failed") }
    }
    deinit { close(fd) }
    func send(_ s: String) { _ = Array(s.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    /// Everything until the server closes the connection (or `seconds` pass).
    func readAll(seconds: Int) -> String {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension HostileRequestTests {
    @Test func slowAndStalledClientsDoNotHoldTheServer() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root) {
            $0.limits.idleTimeoutSeconds = 1
            $0.limits.slowBodyGraceSeconds = 0.5
            $0.limits.maxConcurrentRequests = 2
        }
        defer { Task { await server.stop() } }
        // A client that stops half way through its headers is cut off.
        let stalled = try RawConnection(port: server.port)
        stalled.send("POST /hub/has HTTP/1.1\r\nHost: x\r\n")
        let t = Date()
        _ = stalled.readAll(seconds: 10)
        #expect(Date().timeIntervalSince(t) < 5, "a stalled connection was kept")
        // A client trickling its body is refused with 408 once past the grace period.
        let slow = try RawConnection(port: server.port)
        slow.send("POST /hub/has HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
        for _ in 0..<8 {
            slow.send(String(repeating: "a", count: 20))
            try await Task.sleep(nanoseconds: 150_000_000)
        }
        let answer = slow.readAll(seconds: 5)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(200))")
        // Meanwhile, and after, others are served.
        let a = try TempStore()
        try a.set("/x", .int(1))
        try a.commit("one")
        _ = try await a.session(HTTPRemote(url: server.url + "/hub", token: nil)).push(branch: "main")
    }

    @Test func refUpdateRulesOfTheServer() async throws {
        let folder = try ServerFolder()
        let server = try await TestServer(directory: folder.root) { $0.tokens = ["t"] }
        defer { Task { await server.stop() } }
        let (chunks, commit) = try await validPush()
        let url = server.url + "/hub/push"
        // The scheme is case-insensitive.
        let first = try await post(url, body(chunks, updates: [RefUpdate(name: "heads/main", old: nil, new: commit)]), token: "t", scheme: "bearer")
        #expect(first.status == 200 && first.body == "ok heads/main\n", "\(first.status) \(first.body)")
        // A branch may only name a commit; a name may appear once; the served store's
        // checked-out branch is not deleted.
        let leaf = chunks[0].hash
        let r = try await post(url, body([], updates: [
            RefUpdate(name: "heads/leaf", old: nil, new: leaf),
            RefUpdate(name: "heads/twice", old: nil, new: commit),
            RefUpdate(name: "heads/twice", old: nil, new: nil),
            RefUpdate(name: "heads/main", old: commit, new: nil),
        ]), token: "t")
        #expect(r.body == "ng heads/leaf not-a-commit\nok heads/twice\nng heads/twice invalid\nng heads/main checked-out \(commit)\n", "\(r.body)")
        let hub = try folder.open()
        defer { hub.close() }
        #expect(try hub.ref("heads/main") == commit)
        #expect(try hub.ref("heads/leaf") == nil)
        // Force still compares with old (a lease): a wrong old is stale.
        let f = try await post(url, body([], updates: [RefUpdate(name: "heads/other", old: leaf, new: commit, force: true)]), token: "t")
        #expect(f.body == "ng heads/other stale\n", "\(f.body)")
    }
}
