import CairnStore
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
        case .struct(let s) where !tagged && s.name == "cairn.lww" && s["value"] != nil && s.fields.count == 3:
            // A last-writer-wins register (CairnVersioning's LWW) shows as its plain value.
            try write(s["value"]!)
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

    mutating func writeStringBytes(_ bytes: UnsafeRawBufferPointer) {
        // Most strings need no escape: one copy.
        if !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out.append(0x22)
            out.append(contentsOf: bytes)
            out.append(0x22)
            return
        }
        writeEscaped(bytes)
    }

    mutating func writeStringBytes(_ bytes: some Sequence<UInt8>) { writeEscaped(bytes) }

    private mutating func writeEscaped(_ bytes: some Sequence<UInt8>) {
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
