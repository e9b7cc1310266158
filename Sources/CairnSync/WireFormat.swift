import CairnStore

/// The bytes of the sync protocol (docs/protocol.md), shared by the HTTP server and client and
/// by nothing else: hash lists, chunk streams, ref lists and ref updates. All integers are
/// big-endian; a hash is its 20 raw bytes.
public enum Wire {
    /// The protocol version, sent as the `Cairn-Protocol` header on every request and response.
    public static let protocolVersion = 1
    public static let protocolHeader = "Cairn-Protocol"
    /// The first bytes of every chunk stream: "CRNS" and the protocol version.
    static let streamMagic: [UInt8] = [0x43, 0x52, 0x4E, 0x53, UInt8(protocolVersion)]
    static let chunkFrame: UInt8 = 0x01
    static let endFrame: UInt8 = 0x00
    /// Type byte, hash, codec, size, length.
    static let chunkHeaderSize = 1 + Hash.byteCount + 1 + 4 + 4

    // MARK: Hash lists

    /// Hashes back to back, 20 bytes each.
    public static func encodeHashes(_ hashes: [Hash]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hashes.count * Hash.byteCount)
        for h in hashes { h.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }

    public static func decodeHashes(_ bytes: some Collection<UInt8>) throws(WireError) -> [Hash] {
        guard bytes.count % Hash.byteCount == 0 else {
            throw .malformed("a hash list of \(bytes.count) bytes is not a multiple of \(Hash.byteCount)")
        }
        let all = Array(bytes)
        return stride(from: 0, to: all.count, by: Hash.byteCount).map { Hash(bytes: all[$0..<$0 + Hash.byteCount])! }
    }

    /// One bit a hash, the first hash in the lowest bit of the first byte: set when present.
    public static func encodePresence(_ hashes: [Hash], present: Set<Hash>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (hashes.count + 7) / 8)
        for (i, h) in hashes.enumerated() where present.contains(h) { out[i >> 3] |= 1 << UInt8(i & 7) }
        return out
    }

    public static func decodePresence(_ bytes: [UInt8], for hashes: [Hash]) throws(WireError) -> Set<Hash> {
        guard bytes.count == (hashes.count + 7) / 8 else {
            throw .malformed("a presence map of \(bytes.count) bytes for \(hashes.count) hashes")
        }
        var out = Set<Hash>()
        for (i, h) in hashes.enumerated() where bytes[i >> 3] & (1 << UInt8(i & 7)) != 0 { out.insert(h) }
        return out
    }

    // MARK: Chunk streams

    public static func streamHeader() -> [UInt8] { streamMagic }

    /// Appends one chunk frame: type 1, hash, codec, uncompressed size (u32), length (u32), bytes.
    public static func appendChunk(_ c: StoredChunk, to out: inout [UInt8]) {
        out.append(chunkFrame)
        c.hash.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(c.codec.rawValue)
        appendU32(UInt32(c.size), to: &out)
        appendU32(UInt32(c.bytes.count), to: &out)
        out.append(contentsOf: c.bytes)
    }

    /// The end frame: type 0 and the number of chunk frames before it (u32), so a stream cut
    /// short anywhere is told from a complete one.
    public static func appendEnd(count: Int, to out: inout [UInt8]) {
        out.append(endFrame)
        appendU32(UInt32(count), to: &out)
    }

    static func appendU32(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(v >> 24)); out.append(UInt8((v >> 16) & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)); out.append(UInt8(v & 0xFF))
    }

    static func appendU16(_ v: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF))
    }

    // MARK: Ref lists

    /// `GET refs`: one line a ref, `HASH NAME\n`, sorted by name; HASH in its 32-character text form.
    public static func encodeRefs(_ refs: [(name: String, hash: Hash)]) -> [UInt8] {
        var s = ""
        for r in refs { s += "\(r.hash) \(r.name)\n" }
        return Array(s.utf8)
    }

    public static func decodeRefs(_ bytes: [UInt8]) throws(WireError) -> [(name: String, hash: Hash)] {
        var out: [(name: String, hash: Hash)] = []
        for line in try lines(of: bytes, "the ref list") {
            guard let space = line.firstIndex(of: " "), let h = Hash(String(line[..<space])) else {
                throw .malformed("a ref line is not 'HASH NAME': \(line.prefix(80))")
            }
            out.append((String(line[line.index(after: space)...]), h))
        }
        return out
    }

    /// The start of a `POST fetch-refs` answer: the ref list's length (u32), then the list as
    /// ``encodeRefs(_:)`` makes it. The chunk stream follows.
    public static func encodeRefListPrefix(_ refs: [(name: String, hash: Hash)]) -> [UInt8] {
        let list = encodeRefs(refs)
        var out: [UInt8] = []
        out.reserveCapacity(4 + list.count)
        appendU32(UInt32(list.count), to: &out)
        return out + list
    }

    /// The longest ref list a client reads (a million refs of 60 bytes).
    public static let maxRefListBytes = 64 << 20

    /// The LF-terminated lines of a text answer, split on the byte 0x0A (a CR before it stays
    /// in the line, as the grammar says), each valid UTF-8.
    static func lines(of bytes: [UInt8], _ what: String) throws(WireError) -> [Substring] {
        var out: [Substring] = []
        for piece in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let line = String(validating: piece, as: UTF8.self) else { throw .malformed("\(what) is not UTF-8") }
            out.append(Substring(line))
        }
        return out
    }

    // MARK: Fetch requests

    /// `POST fetch`: want count (u32) and hashes, have count (u32) and hashes, have-chunks
    /// count (u32) and hashes.
    public static func encodeFetch(_ r: FetchRequest) -> [UInt8] {
        var out: [UInt8] = []
        for list in [r.wants, r.haves, r.haveChunks] {
            appendU32(UInt32(list.count), to: &out)
            out += encodeHashes(list)
        }
        return out
    }

    public static func decodeFetch(_ bytes: [UInt8]) throws(WireError) -> FetchRequest {
        var reader = ByteReader(bytes)
        var lists: [[Hash]] = []
        for _ in 0..<3 {
            let n = try reader.u32()
            guard Int(n) * Hash.byteCount <= reader.remaining else { throw .malformed("a fetch request's hash count \(n) overruns its body") }
            lists.append(try decodeHashes(try reader.bytes(Int(n) * Hash.byteCount)))
        }
        guard reader.remaining == 0 else { throw .malformed("\(reader.remaining) bytes after a fetch request") }
        return FetchRequest(wants: lists[0], haves: lists[1], haveChunks: lists[2])
    }

    // MARK: Push requests

    /// The tail of a `POST push` body, after its chunk stream's end frame: update count (u16),
    /// then each update: flags (u8, bit 0 force), name length (u16) and UTF-8 name, then old and
    /// new, each a presence byte (0 or 1) followed by a hash when 1.
    public static func encodeUpdates(_ updates: [RefUpdate]) -> [UInt8] {
        var out: [UInt8] = []
        appendU16(UInt16(updates.count), to: &out)
        for u in updates {
            out.append(u.force ? 1 : 0)
            let name = Array(u.name.utf8)
            appendU16(UInt16(name.count), to: &out)
            out += name
            for h in [u.old, u.new] {
                if let h { out.append(1); h.withUnsafeBytes { out.append(contentsOf: $0) } } else { out.append(0) }
            }
        }
        return out
    }

    /// `POST push`'s answer: one line an update, in the request's order: `ok NAME` or
    /// `ng NAME REASON [HASH]`, HASH being the ref's current value where the reason is `stale`.
    public static func encodeResults(_ results: [RefUpdateResult]) -> [UInt8] {
        var s = ""
        for r in results {
            switch r.outcome {
            case .ok: s += "ok \(r.name)\n"
            case .rejected(let reason, let current):
                s += "ng \(r.name) \(reason.rawValue)" + (current.map { " \($0)" } ?? "") + "\n"
            }
        }
        return Array(s.utf8)
    }

    public static func decodeResults(_ bytes: [UInt8]) throws(WireError) -> [RefUpdateResult] {
        var out: [RefUpdateResult] = []
        for line in try lines(of: bytes, "the push answer") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == "ok" {
                out.append(RefUpdateResult(name: String(parts[1]), outcome: .ok))
            } else if parts.count >= 3, parts[0] == "ng", let reason = RefUpdateResult.Reason(rawValue: String(parts[2])) {
                let current = parts.count >= 4 ? Hash(String(parts[3])) : nil
                out.append(RefUpdateResult(name: String(parts[1]), outcome: .rejected(reason, current: current)))
            } else {
                throw .malformed("a push answer line is neither 'ok NAME' nor 'ng NAME REASON': \(line.prefix(80))")
            }
        }
        return out
    }
}

/// Reads a chunk stream, and for a push body the ref updates after it, from bytes that arrive
/// in pieces. Holds at most one frame in memory.
public struct WireDecoder {
    private var buffer: [UInt8] = []
    private var start = 0
    private var stage: Stage
    public private(set) var chunkCount = 0
    public private(set) var finished = false
    public private(set) var updates: [RefUpdate]?
    /// The largest chunk a frame may carry.
    let maxChunkSize: Int

    private let expectUpdates: Bool

    enum Stage { case magic, frames, updates, done }

    /// A decoder of a chunk stream, or with `expectUpdates`, of a push body.
    public init(expectUpdates: Bool, maxChunkSize: Int = Chunk.maxSize) {
        stage = .magic
        self.expectUpdates = expectUpdates
        self.maxChunkSize = maxChunkSize
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    private var available: Int { buffer.count - start }

    /// The next chunk, or nil when more bytes are needed or the stream has ended (`finished`).
    /// Throws on anything malformed, and on bytes after the end frame.
    public mutating func next() throws(WireError) -> StoredChunk? {
        while true {
            switch stage {
            case .updates:
                guard let u = try parseUpdates() else { return nil }
                updates = u
                stage = .done
                finished = true
                if available > 0 { throw .malformed("\(available) bytes after the ref updates") }
                return nil
            case .magic:
                guard available >= Wire.streamMagic.count else { return nil }
                let got = Array(buffer[start..<start + Wire.streamMagic.count])
                guard got[0..<4] == Wire.streamMagic[0..<4] else { throw .malformed("not a chunk stream (bad magic)") }
                guard got[4] == Wire.streamMagic[4] else { throw .protocolVersion(Int(got[4])) }
                start += Wire.streamMagic.count
                stage = .frames
            case .frames:
                guard available >= 1 else { return nil }
                switch buffer[start] {
                case Wire.endFrame:
                    guard available >= 5 else { return nil }
                    let n = u32(at: start + 1)
                    guard Int(n) == chunkCount else {
                        throw .malformed("the stream ends after \(chunkCount) chunks but says \(n)")
                    }
                    start += 5
                    if expectUpdates {
                        stage = .updates
                        continue
                    }
                    stage = .done
                    finished = true
                    if available > 0 { throw .malformed("\(available) bytes after the end of the stream") }
                    return nil
                case Wire.chunkFrame:
                    guard available >= Wire.chunkHeaderSize else { return nil }
                    let p = start + 1
                    let hash = Hash(bytes: buffer[p..<p + Hash.byteCount])!
                    let codecByte = buffer[p + Hash.byteCount]
                    guard let codec = StoredChunk.Codec(rawValue: codecByte) else { throw .malformed("chunk \(hash): unknown codec \(codecByte)") }
                    let size = Int(u32(at: p + Hash.byteCount + 1))
                    let length = Int(u32(at: p + Hash.byteCount + 5))
                    guard size <= maxChunkSize, length <= maxChunkSize else {
                        throw .chunkTooLarge(hash: hash, size: max(size, length), limit: maxChunkSize)
                    }
                    guard available >= Wire.chunkHeaderSize + length else { return nil }
                    let body = start + Wire.chunkHeaderSize
                    let chunk = StoredChunk(hash: hash, codec: codec, size: size, bytes: Array(buffer[body..<body + length]))
                    start = body + length
                    chunkCount += 1
                    return chunk
                default:
                    throw .malformed("unknown frame type \(buffer[start])")
                }
            case .done:
                if available > 0 { throw .malformed("\(available) bytes after the end of the stream") }
                return nil
            }
        }
    }

    /// Throws unless the stream ended with its end frame.
    public func checkFinished() throws(WireError) {
        guard finished else {
            throw .truncated(stage == .updates ? "the body ends before its ref updates are whole" : "the stream ends after \(chunkCount) chunks, before its end frame")
        }
    }

    private func u32(at i: Int) -> UInt32 {
        UInt32(buffer[i]) << 24 | UInt32(buffer[i + 1]) << 16 | UInt32(buffer[i + 2]) << 8 | UInt32(buffer[i + 3])
    }

    private mutating func parseUpdates() throws(WireError) -> [RefUpdate]? {
        var r = ByteReader(Array(buffer[start...]))
        do throws(WireError) {
            let n = try r.u16()
            var out: [RefUpdate] = []
            for _ in 0..<n {
                let flags = try r.u8()
                guard flags & ~1 == 0 else { throw WireError.malformed("unknown ref update flags \(flags)") }
                let len = try r.u16()
                guard let name = String(validating: try r.bytes(Int(len)), as: UTF8.self) else { throw WireError.malformed("a ref name is not UTF-8") }
                var hs: [Hash?] = []
                for _ in 0..<2 {
                    switch try r.u8() {
                    case 0: hs.append(nil)
                    case 1: hs.append(Hash(bytes: try r.bytes(Hash.byteCount))!)
                    case let b: throw WireError.malformed("a ref update's presence byte is \(b)")
                    }
                }
                out.append(RefUpdate(name: name, old: hs[0], new: hs[1], force: flags & 1 == 1))
            }
            start += r.offset
            return out
        } catch {
            guard case .truncated = error else { throw error }
            guard available < 1 << 20 else { throw .malformed("the ref updates run past 1 MiB") }
            return nil
        }
    }
}

/// Reads big-endian integers and byte runs from a buffer, throwing ``WireError/truncated(_:)``
/// past its end.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var remaining: Int { bytes.count - offset }

    mutating func u8() throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated("the body ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(WireError) -> UInt16 { UInt16(try u8()) << 8 | UInt16(try u8()) }

    mutating func u32() throws(WireError) -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    mutating func bytes(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw .truncated("the body ends early") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
}

/// Bytes that break the protocol.
public enum WireError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case truncated(String)
    case chunkTooLarge(hash: Hash, size: Int, limit: Int)
    case protocolVersion(Int)

    public var description: String {
        switch self {
        case .malformed(let s): "malformed sync data: \(s)"
        case .truncated(let s): "truncated sync data: \(s)"
        case .chunkTooLarge(let h, let size, let limit): "chunk \(h) is \(size) bytes, over the limit of \(limit)"
        case .protocolVersion(let v): "the other side speaks sync protocol \(v); this cairn speaks \(Wire.protocolVersion)"
        }
    }
}
