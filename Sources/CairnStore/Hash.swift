import Crypto

/// The name of a chunk: the first 20 bytes of the SHA-256 of its uncompressed bytes.
///
/// Stored as three big-endian words so that `<` orders hashes as their bytes do, and so that
/// equality and hashing touch three integers instead of twenty bytes.
public struct Hash: Hashable, Comparable, Sendable {
    public static let byteCount = 20
    /// The number of characters of the text form: 160 bits, 5 bits a character.
    public static let textLength = 32

    @usableFromInline let w0: UInt64
    @usableFromInline let w1: UInt64
    @usableFromInline let w2: UInt32

    /// The all-zero hash. It names no chunk; encodings use it for "none".
    public static let zero = Hash(w0: 0, w1: 0, w2: 0)

    @usableFromInline init(w0: UInt64, w1: UInt64, w2: UInt32) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
    }

    /// The hash of `bytes`.
    public init(of bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { Hash(of: $0) }
    }

    /// The hash of the bytes in `raw`.
    public init(of raw: UnsafeRawBufferPointer) {
        var hasher = SHA256()
        hasher.update(bufferPointer: raw)
        let digest = hasher.finalize()
        self = digest.withUnsafeBytes { Hash(prefixOf: $0) }
    }

    /// Reads a hash from the first 20 bytes of `raw`, which must hold at least that many.
    @inlinable
    public init(prefixOf raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= Hash.byteCount)
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt32 = 0
        for i in 0..<8 { a = a << 8 | UInt64(raw[i]) }
        for i in 8..<16 { b = b << 8 | UInt64(raw[i]) }
        for i in 16..<20 { c = c << 8 | UInt32(raw[i]) }
        self.init(w0: a, w1: b, w2: c)
    }

    /// Reads a hash from exactly 20 bytes; nil for any other length.
    @inlinable
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Hash.byteCount else { return nil }
        // Contiguous bytes (arrays, slices, buffers: every caller) are read in place.
        if let h = bytes.withContiguousStorageIfAvailable({ Hash(prefixOf: UnsafeRawBufferPointer($0)) }) {
            self = h
            return
        }
        let array = Array(bytes)
        self = array.withUnsafeBytes { Hash(prefixOf: $0) }
    }


    /// The 20 bytes, most significant first.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Hash.byteCount)
        appendBytes(to: &out)
        return out
    }

    public func appendBytes(to out: inout [UInt8]) {
        for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w0 >> UInt64(s))) }
        for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w1 >> UInt64(s))) }
        for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w2 >> UInt32(s))) }
    }

    /// Calls `body` with the 20 bytes on the stack.
    public func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var words = (w0.bigEndian, w1.bigEndian, w2.bigEndian)
        return try Swift.withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Hash.byteCount])) }
    }

    public var isZero: Bool { self == .zero }

    public static func < (l: Hash, r: Hash) -> Bool {
        (l.w0, l.w1, l.w2) < (r.w0, r.w1, r.w2)
    }
}

// MARK: - Text form

extension Hash: CustomStringConvertible, LosslessStringConvertible {
    /// Base32 in the alphabet `0-9a-v`, as Noms and Dolt print hashes: 32 characters, most
    /// significant bits first. It sorts in the same order as the bytes.
    static let alphabet: [UInt8] = Array("0123456789abcdefghijklmnopqrstuv".utf8)

    public var description: String {
        // 160 bits = 32 groups of 5; the three words hold bits 0..<64, 64..<128, 128..<160.
        var chars = [UInt8](repeating: 0, count: Hash.textLength)
        for i in 0..<Hash.textLength {
            chars[i] = Hash.alphabet[Int(fiveBits(at: i * 5))]
        }
        return String(decoding: chars, as: UTF8.self)
    }

    private func fiveBits(at bit: Int) -> UInt8 {
        var v: UInt8 = 0
        for b in bit..<(bit + 5) { v = v << 1 | self.bit(b) }
        return v
    }

    private func bit(_ i: Int) -> UInt8 {
        switch i {
        case 0..<64: return UInt8(truncatingIfNeeded: w0 >> UInt64(63 - i)) & 1
        case 64..<128: return UInt8(truncatingIfNeeded: w1 >> UInt64(127 - i)) & 1
        default: return UInt8(truncatingIfNeeded: w2 >> UInt32(159 - i)) & 1
        }
    }

    /// The value of one text character, or nil if it is not in the alphabet (upper case is not).
    static func digit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "v"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// Parses the 32-character text form; nil for anything else.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == Hash.textLength else { return nil }
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt32 = 0
        var bitIndex = 0
        for ch in utf8 {
            guard let d = Hash.digit(ch) else { return nil }
            for k in stride(from: 4, through: 0, by: -1) {
                let bit = (d >> UInt8(k)) & 1
                switch bitIndex {
                case 0..<64: a = a << 1 | UInt64(bit)
                case 64..<128: b = b << 1 | UInt64(bit)
                default: c = c << 1 | UInt32(bit)
                }
                bitIndex += 1
            }
        }
        self.init(w0: a, w1: b, w2: c)
    }

    /// True when `prefix` is a valid start of a text form (any length up to 32).
    public static func isTextPrefix(_ prefix: String) -> Bool {
        let u = Array(prefix.utf8)
        return u.count <= textLength && u.allSatisfy { digit($0) != nil }
    }
}
