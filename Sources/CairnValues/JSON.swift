/// Lossless JSON for the JSON-shaped kinds, and a tagged form for the rest (docs/format.md):
///
/// - objects are Maps from String; arrays are Lists; integers stay Int (an integer beyond
///   Int64 is refused); a number with a fraction or exponent is a Float, so `1.0` stays a Float;
/// - Set: `{"$set": [...]}`; Struct: `{"$struct": "Name", "fields": {...}}`; Counter:
///   `{"$counter": 5}`; Ref: `{"$ref": "<hash>", "kind": "map"}`; a Blob stored as a tree:
///   `{"$blob": "<hash>", "size": n}`; a small inline Blob: `{"$bytes": "<base64>"}`; a Map
///   whose keys are not all strings, or whose keys would read as a tag: `{"$map": [[k, v], …]}`;
///   a Float with no JSON number (NaN, ±infinity): `{"$float": "nan" | "inf" | "-inf"}`.
/// - An object is read as a tag only when its keys are exactly a tag's keys.
public enum JSON {}

/// Malformed JSON, with the byte offset where reading stopped.
public struct JSONError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// Bytes read in pieces: `refill` returns the next piece, empty at the end.
public struct ByteSource {
    var buffer: [UInt8] = []
    var pos = 0
    /// Bytes consumed before `buffer[0]`.
    var base = 0
    let refill: () throws -> [UInt8]

    public init(refill: @escaping () throws -> [UInt8]) { self.refill = refill }

    public init(bytes: [UInt8]) {
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

public struct JSONParser {
    var src: ByteSource
    let store: NodeStore
    /// Whether objects in Cairn's tagged forms (`{"$set": [...]}`, ...) are read as those kinds.
    /// Off by default: JSON is plain, and a `$` key is an ordinary key.
    public let tagged: Bool
    var depth = 0
    /// The bytes of the string being read, reused for every string.
    var scratch: [UInt8] = []

    public init(source: ByteSource, store: NodeStore, tagged: Bool = false) {
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
    public mutating func document() throws -> Value {
        let v = try value()
        try skipSpace()
        if try src.peek() != nil { throw fail("unexpected data after the JSON value") }
        return v
    }

    /// Parses the next value; nil at the end of input (for NDJSON-style streams).
    public mutating func nextValue() throws -> Value? {
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
    public mutating func encodedDocument() throws -> (bytes: [UInt8], refs: [Hash]) {
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

extension JSON {
    /// Parses a JSON document held in memory.
    public static func parse(_ bytes: [UInt8], store: NodeStore, tagged: Bool = false) throws -> Value {
        var p = JSONParser(source: ByteSource(bytes: bytes), store: store, tagged: tagged)
        return try p.document()
    }

    public static func parse(_ text: String, store: NodeStore, tagged: Bool = false) throws -> Value {
        try parse(Array(text.utf8), store: store, tagged: tagged)
    }

    /// The tagged forms, read back. Nil when the object is an ordinary one.
    static func untag(_ entries: [(String, Value)], store: NodeStore, at offset: Int) throws -> Value? {
        // A tag has one or two keys, one of them starting with "$", and exactly a tag's keys.
        guard entries.count <= 2, entries.contains(where: { $0.0.utf8.first == UInt8(ascii: "$") }) else { return nil }
        let keys = Set(entries.map(\.0))
        func field(_ k: String) -> Value? { entries.last { $0.0 == k }?.1 }  // the last of a repeated key wins
        func bad(_ what: String) -> JSONError { JSONError(message: "malformed \(what)", offset: offset) }
        switch keys {
        case ["$set"]:
            guard case .list(let l)? = field("$set") else { throw bad("$set: expected an array") }
            return .set(try ProllySet.build(try l.elements(), store: store))
        case ["$counter"]:
            guard case .int(let i)? = field("$counter") else { throw bad("$counter: expected an integer") }
            return .counter(i)
        case ["$float"]:
            guard case .string(let s)? = field("$float") else { throw bad("$float") }
            switch s {
            case "nan": return .float(.nan)
            case "inf": return .float(.infinity)
            case "-inf": return .float(-.infinity)
            default: throw bad("$float: expected nan, inf or -inf")
            }
        case ["$struct", "fields"]:
            guard case .string(let name)? = field("$struct"), case .map(let m)? = field("fields") else { throw bad("$struct") }
            var fields: [(String, Value)] = []
            for (k, v) in try m.entries() {
                guard case .string(let f) = k else { throw bad("$struct: field names must be strings") }
                fields.append((f, v))
            }
            return .struct(StructValue(name: name, fields: fields))
        case ["$ref", "kind"]:
            guard case .string(let h)? = field("$ref"), let hash = Hash(h), case .string(let k)? = field("kind"),
                  let kind = Value.Kind.allCases.first(where: { $0.name == k }) else { throw bad("$ref") }
            return .ref(ValueRef(target: hash, targetKind: kind))
        case ["$map"]:
            guard case .list(let l)? = field("$map") else { throw bad("$map: expected an array of pairs") }
            var pairs: [(Value, Value)] = []
            for p in try l.elements() {
                guard case .list(let pair) = p, pair.count == 2 else { throw bad("$map: expected [key, value] pairs") }
                pairs.append((try pair.element(at: 0), try pair.element(at: 1)))
            }
            return .map(try ProllyMap.build(pairs, store: store))
        case ["$bytes"]:
            guard case .string(let b64)? = field("$bytes"), let bytes = Base64.decode(b64) else { throw bad("$bytes: expected base64") }
            return .blob(try Blob.build(bytes, store: store))
        case ["$blob", "size"]:
            guard case .string(let h)? = field("$blob"), let hash = Hash(h), case .int(let size)? = field("size") else { throw bad("$blob") }
            guard let node = try? store.node(hash), node.tag == .blobLeaf || node.tag == .blobNode else {
                throw JSONError(message: "blob \(h) is not in the store", offset: offset)
            }
            guard node.subtreeCount == UInt64(size) else { throw bad("$blob: size does not match the stored blob") }
            return .blob(Blob(store: store, root: TreeRoot(hash: hash, count: UInt64(size), height: node.level + 1)))
        default:
            return nil
        }
    }

    static let tagKeySets: [Set<String>] = [["$set"], ["$counter"], ["$float"], ["$struct", "fields"], ["$ref", "kind"],
                                            ["$map"], ["$bytes"], ["$blob", "size"]]
}

// MARK: - Writing

public struct JSONWriter {
    public var out: [UInt8] = []
    let pretty: Bool
    /// Whether kinds with no JSON form are written in their tagged forms, which read back
    /// losslessly with a tagged parser. Off by default: their nearest JSON form (docs/format.md).
    public let tagged: Bool
    var indent = 0
    /// When set, called with the text written so far each time it passes 64 KiB (between
    /// elements), so a large value streams out instead of building up in `out`. `flush()`
    /// hands over the rest.
    public var drain: (([UInt8]) -> Void)?

    public init(pretty: Bool = false, tagged: Bool = false, drain: (([UInt8]) -> Void)? = nil) {
        self.pretty = pretty
        self.tagged = tagged
        self.drain = drain
    }

    @inline(__always) mutating func drainIfFull() {
        if out.count >= 1 << 16 { flush() }
    }

    /// Hands what is left in `out` to `drain`.
    public mutating func flush() {
        if !out.isEmpty, let drain {
            drain(out)
            out.removeAll(keepingCapacity: true)
        }
    }

    mutating func newline() {
        guard pretty else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * 2))
    }

    public mutating func write(_ v: Value) throws {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .float(let d):
            if !d.isFinite {
                if tagged { try writeTagged("$float", .string(d.isNaN ? "nan" : (d < 0 ? "-inf" : "inf"))) } else { out.append(contentsOf: "null".utf8) }
            } else {
                // Swift prints the shortest text that reads back to the same Double, with a
                // ".0" on whole numbers, so a Float stays a Float.
                out.append(contentsOf: d.description.utf8)
            }
        case .string(let s): writeString(s)
        case .counter(let i):
            if tagged { try writeTagged("$counter", .int(i)) } else { out.append(contentsOf: String(i).utf8) }
        case .list(let l):
            try writeArray { w in try l.forEach { e in try w.element { try $0.write(e) }; return true } }
        case .tuple(let xs):
            if tagged {
                try writeObject([("$tuple", { w in try w.writeArray { w in for x in xs { try w.element { try $0.write(x) } } } })])
            } else {
                try writeArray { w in for x in xs { try w.element { try $0.write(x) } } }
            }
        case .set(let s):
            let body: (inout JSONWriter) throws -> Void = { w in
                try w.writeArray { w in try s.forEach { e in try w.element { try $0.write(e) }; return true } }
            }
            if tagged { try writeObject([("$set", body)]) } else { try body(&self) }
        case .map(let m): try writeMap(m)
        case .table(let t): try writeTable(t)
        case .struct(let s):
            let fields = try ProllyMap.build(s.fields.map { (Value.string($0.name), $0.value) }, store: NodeStore(MemoryChunkStore()))
            if tagged {
                try writeObject([("$struct", { $0.writeString(s.name) }), ("fields", { try $0.writeMap(fields) })])
            } else {
                try writeMap(fields)
            }
        case .ref(let r):
            if tagged {
                try writeObject([("$ref", { $0.writeString(r.target.description) }), ("kind", { $0.writeString(r.targetKind.name) })])
            } else {
                writeString(r.target.description)
            }
        case .blob(let b):
            if !tagged {
                writeString(Base64.encode(try b.bytes()))
            } else if b.root.isInline {
                try writeTagged("$bytes", .string(Base64.encode(try b.bytes())))
            } else {
                try writeObject([("$blob", { $0.writeString(b.hash.description) }), ("size", { $0.out.append(contentsOf: String(b.count).utf8) })])
            }
        }
    }

    /// Whether the next element of the array being written is its first.
    var firstInArray: [Bool] = []

    mutating func writeArray(_ body: (inout JSONWriter) throws -> Void) throws {
        out.append(UInt8(ascii: "["))
        indent += 1
        firstInArray.append(true)
        try body(&self)
        let empty = firstInArray.removeLast()
        indent -= 1
        if !empty { newline() }
        out.append(UInt8(ascii: "]"))
    }

    mutating func element(_ body: (inout JSONWriter) throws -> Void) throws {
        if !firstInArray[firstInArray.count - 1] { out.append(UInt8(ascii: ",")) }
        firstInArray[firstInArray.count - 1] = false
        newline()
        try body(&self)
        drainIfFull()
    }

    mutating func writeTagged(_ key: String, _ v: Value) throws {
        try writeObject([(key, { try $0.write(v) })])
    }

    mutating func writeObject(_ fields: [(String, (inout JSONWriter) throws -> Void)]) throws {
        out.append(UInt8(ascii: "{"))
        indent += 1
        for (i, f) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            newline()
            writeString(f.0)
            out.append(UInt8(ascii: ":"))
            if pretty { out.append(0x20) }
            try f.1(&self)
        }
        indent -= 1
        if !fields.isEmpty { newline() }
        out.append(UInt8(ascii: "}"))
    }

    /// A string-keyed map is an object, unless its keys would read as a tag; any other map is
    /// the `$map` form.
    mutating func writeMap(_ m: ProllyMap) throws {
        guard tagged else { return try writeMapBody(m, plain: true) }
        // Keys sort by kind first, so the keys are all Strings when the first and the last are.
        var plain = true
        if !m.isEmpty {
            guard case .string = try m.entry(at: 0).key, case .string = try m.entry(at: m.count - 1).key else {
                return try writeMapBody(m, plain: false)
            }
        }
        // Tags have at most two keys: only so small a map can be mistaken for one.
        if m.count <= 2 {
            var keys = Set<String>()
            try m.forEach { k, _ in
                if case .string(let s) = k { keys.insert(s) }
                return true
            }
            if JSON.tagKeySets.contains(keys) { plain = false }
        }
        try writeMapBody(m, plain: plain)
    }

    private mutating func writeMapBody(_ m: ProllyMap, plain: Bool) throws {
        out.append(UInt8(ascii: "{"))
        indent += 1
        var first = true
        if plain {
            // Values are written from their bytes where they can be (rows of a table).
            try OrderedTree.forEach(root: m.root, store: m.store, from: nil) { node, i in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                newline()
                try node.withKey(i) { k in
                    if case .asciiString(let s) = try EncodedView.scalar(k) {
                        writeStringBytes(s)
                    } else {
                        // Plain JSON: a key that is not a String is written as its text.
                        writeString(try Value.decode(Array(k), store: m.store).segmentText())
                    }
                }
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(0x20) }
                let range = Int(node.valueStarts[i])..<Int(node.keyStarts[i + 1])
                try node.bytes.withUnsafeBytes { try write(encoded: UnsafeRawBufferPointer(rebasing: $0[range]), store: m.store) }
                drainIfFull()
                return true
            }
        } else {
            first = false
            newline()
            writeString("$map")
            out.append(contentsOf: pretty ? Array(": [".utf8) : Array(":[".utf8))
            var firstPair = true
            try m.forEach { k, v in
                if !firstPair { out.append(UInt8(ascii: ",")) }
                firstPair = false
                out.append(UInt8(ascii: "["))
                try write(k)
                out.append(UInt8(ascii: ","))
                try write(v)
                out.append(UInt8(ascii: "]"))
                drainIfFull()
                return true
            }
            out.append(UInt8(ascii: "]"))
        }
        indent -= 1
        if !first { newline() }
        out.append(UInt8(ascii: "}"))
    }

    /// Writes a value given by its encoding. A small object of scalars (a table row) is
    /// written straight from the bytes; anything else is decoded and written as a `Value`.
    public mutating func write(encoded e: UnsafeRawBufferPointer, store: NodeStore) throws {
        if try !writeScalarObject(e) { try write(Value.decode(Array(e), store: store)) }
    }

    /// An inline Map of more than two ASCII String keys (so never read as a tag) whose values
    /// are scalars, written from its bytes. False, having written nothing, for anything else.
    private mutating func writeScalarObject(_ e: UnsafeRawBufferPointer) throws -> Bool {
        guard e.first == Tag.mapLeaf.rawValue else { return false }
        // One pass, writing as it goes; anything else met on the way takes back what was written.
        let mark = out.count
        var plain = true
        var n = 0
        out.append(UInt8(ascii: "{"))
        indent += 1
        _ = try EncodedView.forEachMapEntry(e) { k, v in
            guard plain, case .asciiString(let name) = try EncodedView.scalar(k) else { plain = false; return }
            if n > 0 { out.append(UInt8(ascii: ",")) }
            n += 1
            newline()
            writeStringBytes(name)
            out.append(UInt8(ascii: ":"))
            if pretty { out.append(0x20) }
            switch try EncodedView.scalar(v) {
            case .asciiString(let s): writeStringBytes(s)
            case .int(let i): out.append(contentsOf: String(i).utf8)
            case .float(let d) where d.isFinite: out.append(contentsOf: d.description.utf8)
            case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
            case .null: out.append(contentsOf: "null".utf8)
            default: plain = false
            }
        }
        indent -= 1
        guard plain && (n > 2 || !tagged) else {
            out.removeSubrange(mark...)
            return false
        }
        if n > 0 { newline() }
        out.append(UInt8(ascii: "}"))
        return true
    }

    public mutating func writeString(_ s: String) { writeStringBytes(s.utf8) }

    mutating func writeStringBytes(_ bytes: some Sequence<UInt8>) {
        out.append(0x22)
        for b in bytes {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

extension JSON {
    /// The JSON text of a value (one line unless `pretty`; plain unless `tagged`).
    public static func string(_ v: Value, pretty: Bool = false, tagged: Bool = false) throws -> String {
        var w = JSONWriter(pretty: pretty, tagged: tagged)
        try w.write(v)
        return String(decoding: w.out, as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648, padded), for `$bytes`.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int(n >> UInt32(s) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: String) -> [UInt8]? {
        var lookup = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { lookup[Int(c)] = Int8(i) }
        let chars = Array(s.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0
            var pad = 0
            for k in 0..<4 {
                let c = chars[i + k]
                if c == UInt8(ascii: "=") && i + 4 == chars.count && k >= 2 { pad += 1; n <<= 6; continue }
                guard pad == 0, lookup[Int(c)] >= 0 else { return nil }
                n = n << 6 | UInt32(lookup[Int(c)])
            }
            out.append(UInt8(n >> 16 & 255))
            if pad < 2 { out.append(UInt8(n >> 8 & 255)) }
            if pad < 1 { out.append(UInt8(n & 255)) }
            i += 4
        }
        return out
    }
}
