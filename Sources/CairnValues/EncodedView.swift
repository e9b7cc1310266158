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

extension EncodedView {
    /// The encoding of field `name` of an encoded Struct (its tag first), without decoding
    /// the other fields; nil when the struct has no such field or is not a struct.
    package static func structField(_ encoding: UnsafeRawBufferPointer, _ name: String) throws -> UnsafeRawBufferPointer? {
        guard encoding.first == Tag.structValue.rawValue else { return nil }
        var r = ByteReader(encoding, at: 1)
        _ = try r.bytes(try r.length())  // the struct's name
        let n = try r.count(minItemSize: 2)
        let wanted = Array(name.utf8)
        for _ in 0..<n {
            let fieldName = try r.bytes(try r.length())
            let start = r.pos
            try r.skipValue(depth: 1)
            if fieldName.elementsEqual(wanted) { return UnsafeRawBufferPointer(rebasing: encoding[start..<r.pos]) }
        }
        return nil
    }

    /// The hashes of the Refs in an inline List of Refs, in order; nil when the encoding is
    /// not an inline List (a long list is stored by Ref) or holds anything but Refs.
    package static func refList(_ encoding: UnsafeRawBufferPointer) throws -> [Hash]? {
        guard encoding.first == Tag.listLeaf.rawValue else { return nil }
        var r = ByteReader(encoding, at: 1)
        let n = try r.count(minItemSize: 1)
        var out: [Hash] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard try r.byte() == Tag.ref.rawValue else { return nil }
            out.append(try r.hash())
            _ = try r.byte()  // the target's kind
        }
        return r.atEnd ? out : nil
    }
}
