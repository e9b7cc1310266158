import CairnStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The total order over values, computed on their encodings so tree searches never decode.
///
/// - Different kinds sort by kind: null < bool < int < float < string < blob < list < map <
///   set < struct < ref < counter. So `Int 1` sorts before `Float 1.0`; they are different values.
/// - bool: false < true. int, counter: numerically.
/// - float: IEEE total order with one canonical NaN last: -inf < … < -0.0 < 0.0 < … < inf < NaN.
/// - string: by UTF-8 bytes. A string stored out of line (over 4 KiB) sorts after every inline
///   string, and out-of-line strings sort by their hash.
/// - blob, list, map, set, struct: by the hash of the value; ref: by target hash, then kind.
package enum KeyOrder {
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let ta = a[0], tb = b[0]
        // Fast path for the common key: two inline strings.
        if ta == Tag.string.rawValue && tb == Tag.string.rawValue {
            var ra = ByteReader(a, at: 1), rb = ByteReader(b, at: 1)
            guard let la = try? ra.length(), let lb = try? rb.length() else { return fallback(a, b) }
            let n = min(la, lb)
            let c = memcmpBytes(a.baseAddress! + ra.pos, b.baseAddress! + rb.pos, n)
            if c != 0 { return c }
            return la < lb ? -1 : (la > lb ? 1 : 0)
        }
        return fallback(a, b)
    }

    static func rank(_ tag: UInt8) -> Int {
        guard let t = Tag(rawValue: tag), let k = t.kind else { return 99 }
        return k.rawValue
    }

    static func fallback(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let ra = rank(a[0]), rb = rank(b[0])
        if ra != rb { return ra < rb ? -1 : 1 }
        var x = ByteReader(a, at: 1), y = ByteReader(b, at: 1)
        switch Tag(rawValue: a[0]) {
        case .null?: return 0
        case .falseValue?, .trueValue?: return Int(a[0]) - Int(b[0]) < 0 ? -1 : (a[0] == b[0] ? 0 : 1)
        case .int?, .counter?:
            let i = (try? x.signed()) ?? 0, j = (try? y.signed()) ?? 0
            return i < j ? -1 : (i > j ? 1 : 0)
        case .float?:
            let d = Double(bitPattern: (try? x.uint64BigEndian()) ?? 0)
            let e = Double(bitPattern: (try? y.uint64BigEndian()) ?? 0)
            if d.bitPattern == e.bitPattern { return 0 }
            if d.isNaN { return 1 }
            if e.isNaN { return -1 }
            return d.isTotallyOrdered(belowOrEqualTo: e) ? -1 : 1
        case .string?, .stringRef?:
            // Inline before out of line; out-of-line strings by hash.
            if a[0] != b[0] { return a[0] == Tag.string.rawValue ? -1 : 1 }
            if a[0] == Tag.string.rawValue { return compare(a, b) }
            return hashOrder(a, b)
        case .ref?:
            let c = hashOrder(a, b)
            return c != 0 ? c : (a[21] < b[21] ? -1 : (a[21] > b[21] ? 1 : 0))
        case .tuple?:
            return compareTuples(a, b)
        default:
            return hashOrder(a, b)
        }
    }

    /// Tuples: element by element in the total order; a tuple that is a prefix of another sorts
    /// first.
    static func compareTuples(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        var x = ByteReader(a, at: 1), y = ByteReader(b, at: 1)
        guard let n = try? x.varint(), let m = try? y.varint() else { return fallbackBytes(a, b) }
        for _ in 0..<min(n, m) {
            let xs = x.pos, ys = y.pos
            guard (try? x.skipValue()) != nil, (try? y.skipValue()) != nil else { return fallbackBytes(a, b) }
            let c = compare(UnsafeRawBufferPointer(rebasing: a[xs..<x.pos]), UnsafeRawBufferPointer(rebasing: b[ys..<y.pos]))
            if c != 0 { return c }
        }
        return n < m ? -1 : (n > m ? 1 : 0)
    }

    /// Malformed encodings (never stored: the decoder refuses them) still get a total order.
    static func fallbackBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let c = memcmpBytes(a.baseAddress!, b.baseAddress!, min(a.count, b.count))
        return c != 0 ? c : (a.count < b.count ? -1 : (a.count > b.count ? 1 : 0))
    }

    /// Orders two encoded values by their value hash.
    static func hashOrder(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let ha = valueHash(a), hb = valueHash(b)
        return ha < hb ? -1 : (ha == hb ? 0 : 1)
    }

    /// The hash of an encoded value: for a Ref encoding the hash it carries, otherwise the
    /// hash of the bytes as a chunk.
    static func valueHash(_ enc: UnsafeRawBufferPointer) -> Hash {
        switch Tag(rawValue: enc[0]) {
        case .stringRef?, .blobRef?, .listRef?, .mapRef?, .setRef?, .ref?:
            return enc.count > Hash.byteCount ? Hash(prefixOf: UnsafeRawBufferPointer(rebasing: enc[1...])) : .zero
        default:
            var chunk = [Format.version]
            chunk.append(contentsOf: enc)
            return Hash(of: chunk)
        }
    }

    package static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in compare(x, y) } }
    }
}

/// The length of the longest common prefix of two byte ranges of length `n`.
func commonPrefixLength(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
    var i = 0
    while i + 8 <= n {
        let x = a.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        if x != 0 { return i + (x.littleEndian.trailingZeroBitCount >> 3) }
        i += 8
    }
    while i < n && a.load(fromByteOffset: i, as: UInt8.self) == b.load(fromByteOffset: i, as: UInt8.self) { i += 1 }
    return i
}

@inline(__always) func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
    let c = memcmp(a, b, n)
    return c < 0 ? -1 : (c > 0 ? 1 : 0)
}

extension Value {
    /// Compares two values in the total order (see ``KeyOrder``): -1, 0 or 1.
    public static func compare(_ a: Value, _ b: Value, store: NodeStore) throws -> Int {
        KeyOrder.compare(try a.encoded(store: store), try b.encoded(store: store))
    }
}
