@testable import CairnStore
import CairnValues
import CairnVersioning
@testable import CairnSync
import Foundation
import Testing

func isWireRefusal(_ e: any Error) -> Bool {
    e is WireError || e is StoreError || e is SyncError || e is DecodeError
}

/// The sync protocol's bytes (Sources/CairnSync/WireFormat.swift): chunk streams and push
/// bodies read in pieces, and the small messages.
@Suite struct WireFuzzTests {
    /// Valid chunk streams and push bodies: the chunks of the value corpus, raw and compressed.
    static let seeds: [[UInt8]] = {
        guard let c = try? ValueFuzzTests.corpus.get(), let all = try? c.storedChunks() else { return [] }
        let stored = all.prefix(12).map { StoredChunk(raw: Chunk($0)) }
        var out: [[UInt8]] = []
        for n in [0, 1, 3, stored.count] {
            var s = Wire.streamHeader()
            for c in stored.prefix(n) { Wire.appendChunk(c, to: &s) }
            Wire.appendEnd(count: n, to: &s)
            out.append(s)
            out.append(s + Wire.encodeUpdates([
                RefUpdate(name: "heads/main", old: nil, new: stored.first?.hash),
                RefUpdate(name: "tags/v1", old: Hash(of: [1]), new: nil, force: true),
            ]))
        }
        // A compressed frame.
        if let c = stored.last {
            let z = StoredChunk(hash: c.hash, codec: .zstd, size: c.bytes.count,
                                bytes: c.bytes.withUnsafeBytes { ZstdCompressor(level: 3).compress($0) })
            var s = Wire.streamHeader()
            Wire.appendChunk(z, to: &s)
            Wire.appendEnd(count: 1, to: &s)
            out.append(s)
        }
        return out
    }()

    /// Byte 0 chooses a push body or a fetch answer; the rest arrives in pieces whose sizes
    /// come from the input's hash, so a file replays the same way.
    static func decodeStream(_ input: [UInt8]) throws {
        guard let mode = input.first else { return }
        let body = Array(input.dropFirst())
        var decoder = WireDecoder(expectUpdates: mode & 1 == 1, maxChunkSize: 1 << 16)
        var split = SplitMix64(seed: UInt64(truncatingIfNeeded: Hash(of: input).hashValue))
        let receiver = ChunkReceiver(store: MemoryChunkStore())
        var at = 0
        var chunks: [StoredChunk] = []
        while at < body.count {
            let n = 1 + Int(split.next() % 64)
            decoder.append(body[at..<min(body.count, at + n)])
            at += n
            while let c = try decoder.next() {
                chunks.append(c)
                _ = try? c.verified()
            }
        }
        try decoder.checkFinished()
        Finding.check(decoder.chunkCount == chunks.count, "chunkCount \(decoder.chunkCount) for \(chunks.count) chunks")
        // What a fetch does with them: verify, check completeness, store.
        try receiver.add(chunks)
        try receiver.finishReceiving()
        _ = try receiver.flush(moving: [])
    }

    @Test func chunkStreams() async {
        let seeds: [[UInt8]] = Self.seeds.flatMap { s -> [[UInt8]] in [[0] + s, [1] + s] }
        await Fuzz.run("wire-stream", seeds: seeds, iterations: 3000, dictionary: [[0x43, 0x52, 0x4E, 0x53, 0x01], [0x01], [0x00]],
                       acceptable: isWireRefusal) { try Self.decodeStream($0) }
    }

    @Test func chunkStreamRegressions() async {
        await Fuzz.replay("wire-stream", acceptable: isWireRefusal) { try Self.decodeStream($0) }
    }

    /// Every small message decoder on the same bytes, and each round trip where one exists.
    static func decodeMessages(_ b: [UInt8]) throws {
        var ok = false
        if let hs = try? Wire.decodeHashes(b) {
            ok = true
            Finding.check(Wire.encodeHashes(hs) == b, "hash list round trip")
            let presence = Wire.encodePresence(hs, present: Set(hs.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)))
            Finding.check((try? Wire.decodePresence(presence, for: hs)) != nil, "presence round trip")
        }
        let hashes = (0..<(b.count % 40)).map { Hash(of: [UInt8($0)]) }
        _ = try? Wire.decodePresence(b, for: hashes)
        if let refs = try? Wire.decodeRefs(b) {
            ok = true
            // Names come back the same, one that ends in CR too: lines are split on the byte LF.
            let again = try Wire.decodeRefs(Wire.encodeRefs(refs))
            Finding.check(again.map(\.name) == refs.map(\.name) && again.map(\.hash) == refs.map(\.hash), "ref list round trip")
        }
        if let f = try? Wire.decodeFetch(b) {
            ok = true
            Finding.check(Wire.encodeFetch(f) == b, "fetch round trip")
        }
        if let results = try? Wire.decodeResults(b) {
            ok = true
            let again = try Wire.decodeResults(Wire.encodeResults(results))
            Finding.check(again.map(\.name) == results.map(\.name), "push answer round trip")
        }
        if !ok { throw WireError.malformed("no decoder took it") }
    }

    @Test func messages() async {
        let h = [Hash(of: [1]), Hash(of: [2]), Hash(of: [3])]
        let seeds: [[UInt8]] = [
            Wire.encodeHashes(h), Wire.encodeRefs([("heads/main", h[0]), ("tags/v1", h[1])]),
            Wire.encodeFetch(FetchRequest(wants: [h[0]], haves: [h[1], h[2]], haveChunks: [h[2]])),
            Wire.encodeResults([RefUpdateResult(name: "heads/main", outcome: .ok),
                                RefUpdateResult(name: "heads/dev", outcome: .rejected(.stale, current: h[0]))]),
        ]
        await Fuzz.run("wire-messages", seeds: seeds, iterations: 4000, dictionary: [[0x0A], [0x20], Array("ng ".utf8), Array("ok ".utf8)],
                       acceptable: isWireRefusal) { try Self.decodeMessages($0) }
    }

    @Test func messageRegressions() async {
        await Fuzz.replay("wire-messages", acceptable: isWireRefusal) { try Self.decodeMessages($0) }
    }

    /// Random valid pushes come back whole, however the bytes are cut.
    @Test func pushBodyRoundTrip() throws {
        var rng = SplitMix64(seed: Fuzz.seed("wire-roundtrip"))
        for _ in 0..<(Fuzz.longRun ? 3000 : 200) {
            let chunks = (0..<Int(rng.next() % 5)).map { i in StoredChunk(raw: Chunk([Format.version, 0x05, 1, UInt8(i), UInt8(truncatingIfNeeded: rng.next())])) }
            let updates = (0..<Int(rng.next() % 4)).map { i in
                RefUpdate(name: "heads/b\(i)-\(rng.next() % 100)", old: rng.next() % 2 == 0 ? nil : Hash(of: [UInt8(i)]),
                          new: chunks.first?.hash, force: rng.next() % 2 == 0)
            }
            var body = Wire.streamHeader()
            for c in chunks { Wire.appendChunk(c, to: &body) }
            Wire.appendEnd(count: chunks.count, to: &body)
            body += Wire.encodeUpdates(updates)
            var d = WireDecoder(expectUpdates: true)
            var got: [StoredChunk] = []
            var at = 0
            while at < body.count {
                let n = 1 + Int(rng.next() % 16)
                d.append(body[at..<min(body.count, at + n)])
                at += n
                while let c = try d.next() { got.append(c) }
            }
            try d.checkFinished()
            #expect(got.map(\.hash) == chunks.map(\.hash) && got.map(\.bytes) == chunks.map(\.bytes))
            #expect(d.updates?.map(\.name) == updates.map(\.name) && d.updates?.map(\.new) == updates.map(\.new)
                    && d.updates?.map(\.old) == updates.map(\.old) && d.updates?.map(\.force) == updates.map(\.force))
        }
    }
}
