import CairnStore
/// Bytes read in pieces: `refill` returns the next piece, empty at the end.
package struct ByteSource {
    var buffer: [UInt8] = []
    var pos = 0
    /// Bytes consumed before `buffer[0]`.
    var base = 0
    let refill: () throws -> [UInt8]

    package init(refill: @escaping () throws -> [UInt8]) { self.refill = refill }

    package init(bytes: [UInt8]) {
        buffer = bytes
        refill = { [] }
    }

    var offset: Int { base + pos }

    @inline(__always) mutating func peek() throws -> UInt8? {
        if pos < buffer.count { return buffer[pos] }
        base += buffer.count
        buffer = try refill()
        pos = 0
        return buffer.isEmpty ? nil : buffer[0]
    }

    @inline(__always) mutating func next() throws -> UInt8? {
        guard let b = try peek() else { return nil }
        pos += 1
        return b
    }
}

package struct JSONParser {
    var src: ByteSource
    let store: NodeStore
    /// Whether objects in Cairn's tagged forms (`{"$set": [...]}`, ...) are read as those kinds.
    /// Off by default: JSON is plain, and a `$` key is an ordinary key.
    package let tagged: Bool
    var depth = 0
    /// The bytes of the string being read, reused for every string.
    var scratch: [UInt8] = []

    package init(source: ByteSource, store: NodeStore, tagged: Bool = false) {
        src = source
        self.store = store
        self.tagged = tagged
    }

    func fail(_ message: String, at offset: Int? = nil) -> JSONError {
        JSONError(message: message, offset: offset ?? src.offset)
    }

    mutating func skipSpace() throws {
        while let b = try src.peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { src.pos += 1 }
    }

    /// Parses one whole document: one value and nothing after it but white space.
    package mutating func document() throws -> Value {
        let v = try value()
        try skipSpace()
        if try src.peek() != nil { throw fail("unexpected data after the JSON value") }
        return v
    }

    /// Parses the next value; nil at the end of input (for NDJSON-style streams).
    package mutating func nextValue() throws -> Value? {
        try skipSpace()
        if try src.peek() == nil { return nil }
        return try value()
    }

    mutating func value() throws -> Value {
        try skipSpace()
        guard let b = try src.peek() else { throw fail("unexpected end of input") }
        switch b {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(printable(b))'")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let at = src.offset
        for c in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard try src.next() == c else { throw fail("invalid literal, expected \(word)", at: at) }
        }
    }

    mutating func enter() throws {
        depth += 1
        if depth > Format.maxInputDepth { throw fail("nesting deeper than \(Format.maxInputDepth) levels") }
    }

    mutating func array() throws -> Value {
        try enter()
        defer { depth -= 1 }
        src.pos += 1
        let builder = TreeBuilder(kind: .list, store: store)
        try skipSpace()
        if try src.peek() == UInt8(ascii: "]") {
            src.pos += 1
            return .list(ProllyList(store: store, root: try builder.finish()))
        }
        while true {
            var refs: [Hash] = []
            var w = ByteWriter()
            try encodeValue(into: &w, refs: &refs)
            try w.bytes.withUnsafeBytes { try builder.appendElement($0, refs: refs) }
            try skipSpace()
            switch try src.next() {
            case UInt8(ascii: ",")?: continue
            case UInt8(ascii: "]")?: return .list(ProllyList(store: store, root: try builder.finish()))
            case nil: throw fail("unexpected end of input in an array")
            case let c?: throw fail("expected ',' or ']' in an array, found '\(printable(c))'", at: src.offset - 1)
            }
        }
    }

    mutating func object() throws -> Value {
        var w = ByteWriter()
        var refs: [Hash] = []
        try encodeObject(into: &w, refs: &refs)
        return try Value.decode(w.bytes, store: store)
    }

    /// Parses the next value and appends its canonical encoding (as inside a parent) to `w`,
    /// and the chunks it references to `refs`. Objects never become `Value`s on the way: their
    /// entries are encoded into one buffer and sorted there.
    mutating func encodeValue(into w: inout ByteWriter, refs: inout [Hash]) throws {
        try skipSpace()
        guard let b = try src.peek() else { throw fail("unexpected end of input") }
        switch b {
        case UInt8(ascii: "{"): try encodeObject(into: &w, refs: &refs)
        case UInt8(ascii: "\""): try encodeString(into: &w, refs: &refs)
        default: try w.value(try value(), refs: &refs, store: store)
        }
    }

    mutating func encodeObject(into w: inout ByteWriter, refs: inout [Hash]) throws {
        try enter()
        defer { depth -= 1 }
        let start = src.offset
        src.pos += 1
        var body = ByteWriter()
        var spans: [EntrySpan] = []
        var entryRefs: [Hash] = []
        var tagLike = false
        try skipSpace()
        if try src.peek() == UInt8(ascii: "}") {
            src.pos += 1
            return try w.value(.map(try ProllyMap.empty(store: store)), refs: &refs, store: store)
        }
        while true {
            try skipSpace()
            guard try src.peek() == UInt8(ascii: "\"") else { throw fail("expected a string key in an object") }
            let k0 = body.bytes.count, r0 = entryRefs.count
            try encodeString(into: &body, refs: &entryRefs)
            if tagged && scratch.first == UInt8(ascii: "$") { tagLike = true }
            try skipSpace()
            guard try src.next() == UInt8(ascii: ":") else { throw fail("expected ':' after an object key", at: src.offset - 1) }
            let v0 = body.bytes.count
            try encodeValue(into: &body, refs: &entryRefs)
            spans.append(EntrySpan(key: k0, value: v0, end: body.bytes.count, refs: r0..<entryRefs.count))
            try skipSpace()
            switch try src.next() {
            case UInt8(ascii: ",")?: continue
            case UInt8(ascii: "}")?:
                if tagLike {
                    // A tagged form ($set, $struct, ...) is read from Values: rare, small.
                    let entries = try spans.map { e -> (String, Value) in
                        guard case .string(let k) = try Value.decode(Array(body.bytes[e.key..<e.value]), store: store) else {
                            throw fail("expected a string key in an object", at: start)
                        }
                        return (k, try Value.decode(Array(body.bytes[e.value..<e.end]), store: store))
                    }
                    if let tagged = try JSON.untag(entries, store: store, at: start) {
                        return try w.value(tagged, refs: &refs, store: store)
                    }
                }
                let map = try ProllyMap.build(encoded: body.bytes, spans: spans, refs: entryRefs, store: store)
                return try w.value(.map(map), refs: &refs, store: store)
            case nil: throw fail("unexpected end of input in an object")
            case let c?: throw fail("expected ',' or '}' in an object, found '\(printable(c))'", at: src.offset - 1)
            }
        }
    }

    /// Parses one whole document straight to its canonical encoding (as inside a parent) and
    /// the chunks that encoding references, without building `Value`s for its objects.
    package mutating func encodedDocument() throws -> (bytes: [UInt8], refs: [Hash]) {
        var w = ByteWriter()
        var refs: [Hash] = []
        try encodeValue(into: &w, refs: &refs)
        try skipSpace()
        if try src.peek() != nil { throw fail("unexpected data after the JSON value") }
        return (w.bytes, refs)
    }

    mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = try src.next() else { throw fail("unexpected end of input in a \\u escape") }
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 55)
            default: throw fail("invalid \\u escape", at: src.offset - 1)
            }
            v = v << 4 | d
        }
        return v
    }

    mutating func string() throws -> String {
        try stringBytes()
        return String(decoding: scratch, as: UTF8.self)  // validated by stringBytes
    }

    /// Appends the encoding of the string that starts here to `w`, from its bytes.
    mutating func encodeString(into w: inout ByteWriter, refs: inout [Hash]) throws {
        try stringBytes()
        if scratch.count > Format.stringInlineLimit {
            return try w.value(.string(String(decoding: scratch, as: UTF8.self)), refs: &refs, store: store)
        }
        w.byte(Tag.string.rawValue)
        w.varint(UInt64(scratch.count))
        w.append(scratch)
    }

    /// Reads the string that starts here into `scratch`, as valid UTF-8 with escapes decoded.
    mutating func stringBytes() throws {
        let start = src.offset
        src.pos += 1
        scratch.removeAll(keepingCapacity: true)
        var high: UInt8 = 0
        while true {
            if scratch.count > Format.maxImportedTextBytes {
                throw fail("a string longer than \(Format.maxImportedTextBytes >> 20) MiB (import long text as a blob)", at: start)
            }
            guard let c = try src.next() else { throw fail("unterminated string", at: start) }
            switch c {
            case UInt8(ascii: "\""):
                // ASCII needs no validation; anything else must be valid UTF-8.
                if high >= 0x80 {
                    guard scratch.withUnsafeBytes({ validUTF8String($0) }) != nil else {
                        throw fail("string is not valid UTF-8", at: start)
                    }
                }
                return
            case UInt8(ascii: "\\"):
                guard let e = try src.next() else { throw fail("unterminated string", at: start) }
                switch e {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        let at = src.offset
                        guard try src.next() == UInt8(ascii: "\\"), try src.next() == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate in a \\u escape", at: at)
                        }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("unpaired surrogate in a \\u escape")
                    }
                    scratch.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                    high |= scalar >= 0x80 ? 0x80 : 0
                default: throw fail("invalid escape '\\\(printable(e))'", at: src.offset - 2)
                }
            case 0..<0x20: throw fail("control character in a string", at: src.offset - 1)
            default:
                high |= c
                scratch.append(c)
            }
        }
    }

    mutating func number() throws -> Value {
        let start = src.offset
        var text: [UInt8] = []
        var isFloat = false
        func digits(_ p: inout JSONParser, _ text: inout [UInt8]) throws -> Int {
            var n = 0
            while let c = try p.src.peek(), c >= 0x30 && c <= 0x39 { text.append(c); p.src.pos += 1; n += 1 }
            return n
        }
        if try src.peek() == UInt8(ascii: "-") { text.append(0x2D); src.pos += 1 }
        let intStart = text.count
        let intDigits = try digits(&self, &text)
        guard intDigits > 0 else { throw fail("invalid number", at: start) }
        if intDigits > 1 && text[intStart] == UInt8(ascii: "0") { throw fail("number with a leading zero", at: start) }
        if try src.peek() == UInt8(ascii: ".") {
            isFloat = true
            text.append(0x2E); src.pos += 1
            guard try digits(&self, &text) > 0 else { throw fail("invalid number: no digit after '.'", at: start) }
        }
        if let e = try src.peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isFloat = true
            text.append(e); src.pos += 1
            if let s = try src.peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { text.append(s); src.pos += 1 }
            guard try digits(&self, &text) > 0 else { throw fail("invalid number: no digit in the exponent", at: start) }
        }
        let s = String(decoding: text, as: UTF8.self)
        if isFloat {
            guard let d = Double(s), d.isFinite else { throw fail("number out of range", at: start) }
            return .float(d)
        }
        guard let i = Int64(s) else { throw fail("integer \(s) does not fit in 64 bits", at: start) }
        return .int(i)
    }

    func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7f ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
    }
}
