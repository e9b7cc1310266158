import CairnStore
/// JSON in and out (docs/format.md, JSON). Plain by default: objects are Maps from String,
/// arrays Lists, integers stay Int (an integer beyond Int64 is refused), a number with a
/// fraction or exponent is a Float, so `1.0` stays a Float; any key, `$` keys included, is an
/// ordinary key; kinds JSON lacks are written in their nearest JSON form. Reader: `JSONParser`;
/// writer: `JSONWriter`.
///
/// With `tagged`, the tagged forms, read and written losslessly:
/// - Set: `{"$set": [...]}`; Struct: `{"$struct": "Name", "fields": {...}}`; Counter:
///   `{"$counter": 5}`; Ref: `{"$ref": "<hash>", "kind": "map"}`; a Blob stored as a tree:
///   `{"$blob": "<hash>", "size": n}`; a small inline Blob: `{"$bytes": "<base64>"}`; a Map
///   whose keys are not all strings, or whose keys would read as a tag: `{"$map": [[k, v], …]}`;
///   a Float with no JSON number (NaN, ±infinity): `{"$float": "nan" | "inf" | "-inf"}`.
/// - An object is read as a tag only when its keys are exactly a tag's keys.
public enum JSON {}

extension JSON {
    /// A JSON string literal for `s`, escaped as ``JSONWriter`` writes strings.
    public static func quoted(_ s: String) -> String {
        var w = JSONWriter()
        w.writeString(s)
        return String(decoding: w.out, as: UTF8.self)
    }

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
