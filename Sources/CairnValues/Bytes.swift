import CairnStore
/// Why bytes did not decode: malformed or truncated input. Never a crash.
public struct DecodeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let offset: Int
    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) at byte \(offset)" }
}

/// Appends the canonical encoding's primitives.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Unsigned LEB128, minimal length.
    @inline(__always) mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zigzag, then LEB128: small magnitudes of either sign stay short.
    @inline(__always) mutating func signed(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    mutating func uint64BigEndian(_ v: UInt64) {
        for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }

    mutating func hash(_ h: Hash) { h.appendBytes(to: &bytes) }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    static func varintSize(_ v: UInt64) -> Int {
        var n = 1, v = v
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}

/// Reads the primitives with bounds checks; every read past the end throws.
struct ByteReader {
    let buf: UnsafeRawBufferPointer
    var pos: Int

    init(_ buf: UnsafeRawBufferPointer, at pos: Int = 0) {
        self.buf = buf
        self.pos = pos
    }

    var atEnd: Bool { pos >= buf.count }
    var remaining: Int { buf.count - pos }

    @inline(__always) mutating func byte() throws(DecodeError) -> UInt8 {
        guard pos < buf.count else { throw DecodeError("unexpected end of data", at: pos) }
        defer { pos += 1 }
        return buf[pos]
    }

    /// LEB128; rejects encodings longer than needed, so each number has one encoding.
    @inline(__always) mutating func varint() throws(DecodeError) -> UInt64 {
        let start = pos
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw DecodeError("varint overflows 64 bits", at: start) }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 { throw DecodeError("varint is not minimal", at: start) }
                return result
            }
            shift += 7
            if shift > 63 { throw DecodeError("varint overflows 64 bits", at: start) }
        }
    }

    mutating func signed() throws(DecodeError) -> Int64 {
        let z = try varint()
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    /// A length that must fit in what is left of the buffer.
    @inline(__always) mutating func length() throws(DecodeError) -> Int {
        let at = pos
        let n = try varint()
        guard n <= UInt64(remaining) else { throw DecodeError("length \(n) runs past the end", at: at) }
        return Int(n)
    }

    /// A count of items each at least `minItemSize` bytes long, bounded by what is left.
    @inline(__always) mutating func count(minItemSize: Int) throws(DecodeError) -> Int {
        let at = pos
        let n = try varint()
        guard n <= UInt64(remaining / max(1, minItemSize)) else { throw DecodeError("count \(n) exceeds the data", at: at) }
        return Int(n)
    }

    mutating func uint64BigEndian() throws(DecodeError) -> UInt64 {
        guard remaining >= 8 else { throw DecodeError("unexpected end of data", at: pos) }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(buf[pos + i]) }
        pos += 8
        return v
    }

    mutating func hash() throws(DecodeError) -> Hash {
        guard remaining >= Hash.byteCount else { throw DecodeError("truncated hash", at: pos) }
        defer { pos += Hash.byteCount }
        return Hash(prefixOf: UnsafeRawBufferPointer(rebasing: buf[pos...]))
    }

    mutating func bytes(_ n: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard n <= remaining else { throw DecodeError("unexpected end of data", at: pos) }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: buf[pos..<(pos + n)])
    }
}

/// The String these bytes spell, or nil when they are not valid UTF-8. ASCII, by far the most
/// common text, is checked eight bytes at a time and decoded without the generic validator.
@inline(__always)
func validUTF8String(_ bytes: UnsafeRawBufferPointer) -> String? {
    let u8 = bytes.bindMemory(to: UInt8.self)
    if isASCII(bytes) { return String(decoding: u8, as: UTF8.self) }
    return String(validating: u8, as: UTF8.self)
}

/// Whether every byte is below 0x80, checked eight bytes at a time.
@inline(__always)
func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let n = bytes.count
    var i = 0
    var high: UInt64 = 0
    if let base = bytes.baseAddress {
        while i + 8 <= n {
            high |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            high |= UInt64(base.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
    }
    return high & 0x8080_8080_8080_8080 == 0
}
