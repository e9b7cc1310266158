import CairnStore
/// Reading encodings in place, without building `Value`s: for paths that touch every row of a
/// table, such as export. Anything these do not cover is left to `Value.decode`.
package enum EncodedView {
    /// A scalar read in place. `other` is every kind not listed, and a String that is not
    /// plain ASCII (left to `Value.decode`, which validates UTF-8).
    package enum Scalar {
        case asciiString(UnsafeRawBufferPointer)
        case int(Int64)
        case float(Double)
        case bool(Bool)
        case null
        case other
    }

    /// Calls `body` with the key and value encodings of each entry of an inline Map leaf, in
    /// key order. Returns false, calling nothing, when `value` is not an inline Map leaf (a
    /// larger map is stored by Ref). Throws on malformed bytes.
    package static func forEachMapEntry(_ value: UnsafeRawBufferPointer,
                                       _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard value.first == Tag.mapLeaf.rawValue else { return false }
        var r = ByteReader(value, at: 1)
        let n = try r.count(minItemSize: 2)
        for _ in 0..<n {
            let k = r.pos
            try r.skipValue(depth: 1)
            let v = r.pos
            try r.skipValue(depth: 1)
            try body(UnsafeRawBufferPointer(rebasing: value[k..<v]), UnsafeRawBufferPointer(rebasing: value[v..<r.pos]))
        }
        guard r.atEnd else { throw DecodeError("trailing bytes after a map", at: r.pos) }
        return true
    }

    /// The scalar an encoding holds, when it is a Null, Bool, Int, Float or ASCII String.
    package static func scalar(_ e: UnsafeRawBufferPointer) throws -> Scalar {
        guard let tag = e.first else { throw DecodeError("empty value", at: 0) }
        var r = ByteReader(e, at: 1)
        switch tag {
        case Tag.null.rawValue: return e.count == 1 ? .null : .other
        case Tag.falseValue.rawValue: return e.count == 1 ? .bool(false) : .other
        case Tag.trueValue.rawValue: return e.count == 1 ? .bool(true) : .other
        case Tag.int.rawValue:
            let i = try r.signed()
            return r.atEnd ? .int(i) : .other
        case Tag.float.rawValue:
            let bits = try r.uint64BigEndian()
            return r.atEnd ? .float(Double(bitPattern: bits)) : .other
        case Tag.string.rawValue:
            let n = try r.length()
            let s = try r.bytes(n)
            guard r.atEnd, isASCII(s) else { return .other }
            return .asciiString(s)
        default:
            return .other
        }
    }
}

extension EncodedView {
    /// The chunks an encoded value references (its trees by Ref, out-of-line rows, Refs), as
    /// the completeness invariant needs them when the encoding is copied into a new node.
    package static func refs(_ encoding: [UInt8]) throws -> [Hash] {
        var refs: [Hash] = []
        try encoding.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            try withUnsafeMutablePointer(to: &refs) { (p) throws(DecodeError) in try r.skipValue(depth: 0, refs: p) }
            guard r.atEnd else { throw DecodeError("trailing bytes after the value", at: r.pos) }
        }
        return refs
    }
}

extension EncodedView {
    /// Whether an encoding may hold a Counter: false only when no byte of it is the Counter
    /// tag (a cheap, conservative test; trees stored by Ref are not looked into).
    package static func mayHoldCounter(_ encoding: [UInt8]) -> Bool {
        encoding.contains(Tag.counter.rawValue)
    }
}
