import CairnStore
/// The canonical binary encoding (docs/format.md). A chunk is one format-version byte followed
/// by one encoded value or tree node. Each encoding starts with a tag; the primary tags are
/// numbered in the kind order, so values of different kinds compare by their first byte.
enum Tag: UInt8 {
    case null = 0x00, falseValue = 0x01, trueValue = 0x02, int = 0x03, float = 0x04
    case string = 0x05, stringRef = 0x06
    case blobLeaf = 0x07, blobRef = 0x08
    case listLeaf = 0x09, listRef = 0x0A
    case mapLeaf = 0x0B, mapRef = 0x0C
    case setLeaf = 0x0D, setRef = 0x0E
    case structValue = 0x0F, ref = 0x10, counter = 0x11
    case tuple = 0x12, table = 0x13
    // A table's row (its cells by slot) inline, or out of line in a chunk of its own; and the
    // marker of a missing cell. Only ever the values of a table's rows tree.
    case row = 0x14, rowRef = 0x15, missingCell = 0x1F
    // Internal tree nodes: only ever whole chunks, never inside another value.
    case blobNode = 0x20, listNode = 0x21, mapNode = 0x22, setNode = 0x23

    var kind: Value.Kind? {
        switch self {
        case .null: .null
        case .falseValue, .trueValue: .bool
        case .int: .int
        case .float: .float
        case .string, .stringRef: .string
        case .blobLeaf, .blobRef: .blob
        case .listLeaf, .listRef: .list
        case .mapLeaf, .mapRef: .map
        case .setLeaf, .setRef: .set
        case .structValue: .struct
        case .ref: .ref
        case .counter: .counter
        case .tuple: .tuple
        case .table: .table
        case .row, .rowRef, .missingCell, .blobNode, .listNode, .mapNode, .setNode: nil
        }
    }
}

public enum Format {
    /// The first byte of every chunk. A reader refuses any other, so a later format can be
    /// detected and migrated.
    public static let version: UInt8 = 2
    /// A collection whose whole content is one leaf of at most this many encoded bytes is
    /// written inline in its parent; anything larger is a Ref to its root node.
    public static let inlineLimit = 1024
    /// A string of more UTF-8 bytes than this is stored out of line, as a Blob tree.
    public static let stringInlineLimit = 4096
    /// The longest string an importer reads (a JSON string, a CSV record, an NDJSON line), in
    /// bytes: longer text is refused with a clear error, so that one value cannot take the
    /// memory of a whole import (text this long belongs in a Blob: `import --format blob`).
    public static let maxImportedTextBytes = 16 << 20
    /// Nesting deeper than this is refused when decoding, so a hostile chunk cannot exhaust
    /// the stack, and refused when a value is written (``ValueError/tooDeep``), so nothing is
    /// stored that could not be read back. JSON input is held to the same limit.
    public static let maxDepth = 64
    /// How deep input (JSON, a `set`) may nest: below ``maxDepth``, leaving room for the levels
    /// a value sits under (a table's row and cell, the root's entry).
    public static let maxInputDepth = 60
    /// A row whose encoding is larger than this is stored out of line, in a chunk of its own,
    /// so no row can overflow a node.
    public static let rowInlineLimit = 4096
}

// MARK: - Encoding

extension ByteWriter {
    /// Appends the encoding of `value` as it appears inside a parent, and the hashes of the
    /// chunks it references to `refs`. Long strings are written to `store` as Blob trees.
    mutating func value(_ value: Value, refs: inout [Hash], store: NodeStore) throws {
        try self.value(value, refs: &refs, store: store, depth: 0)
    }

    mutating func value(_ value: Value, refs: inout [Hash], store: NodeStore, depth: Int) throws {
        // Collections are already encoded (their nesting was checked as they were built), so
        // only values nested in place (structs, tuples) can go deeper here.
        guard depth < Format.maxDepth else { throw ValueError.tooDeep }
        switch value {
        case .null: byte(Tag.null.rawValue)
        case .bool(let b): byte(b ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .int(let i):
            byte(Tag.int.rawValue)
            signed(i)
        case .counter(let i):
            byte(Tag.counter.rawValue)
            signed(i)
        case .float(let d):
            byte(Tag.float.rawValue)
            uint64BigEndian(d.isNaN ? Value.canonicalNaNBits : d.bitPattern)
        case .string(let s):
            let count = s.utf8.count
            if count > Format.stringInlineLimit {
                let blob = try Blob.build(Array(s.utf8), store: store)
                tree(blob.root, refTag: .stringRef, refs: &refs)
            } else {
                byte(Tag.string.rawValue)
                varint(UInt64(count))
                bytes.append(contentsOf: s.utf8)
            }
        case .blob(let b): tree(b.root, refTag: .blobRef, refs: &refs)
        case .list(let l): tree(l.root, refTag: .listRef, refs: &refs)
        case .map(let m): tree(m.root, refTag: .mapRef, refs: &refs)
        case .set(let s): tree(s.root, refTag: .setRef, refs: &refs)
        case .struct(let s):
            byte(Tag.structValue.rawValue)
            string(s.name)
            varint(UInt64(s.fields.count))
            for f in s.fields {
                string(f.name)
                try self.value(f.value, refs: &refs, store: store, depth: depth + 1)
            }
        case .tuple(let xs):
            byte(Tag.tuple.rawValue)
            varint(UInt64(xs.count))
            for x in xs { try self.value(x, refs: &refs, store: store, depth: depth + 1) }
        case .table(let t):
            byte(Tag.table.rawValue)
            t.schema.encode(into: &self)
            tree(t.rows.root, refTag: .mapRef, refs: &refs)
        case .ref(let r):
            byte(Tag.ref.rawValue)
            hash(r.target)
            byte(UInt8(r.targetKind.rawValue))
            refs.append(r.target)
        }
    }

    mutating func string(_ s: String) {
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// A collection: its root leaf inline, or a Ref (hash, count, height) to its root node.
    mutating func tree(_ root: TreeRoot, refTag: Tag, refs: inout [Hash]) {
        if let leaf = root.inlineLeaf {
            bytes.append(contentsOf: leaf.dropFirst())  // the leaf chunk without its version byte
            refs.append(contentsOf: root.inlineRefs)
        } else {
            byte(refTag.rawValue)
            hash(root.hash)
            varint(root.count)
            varint(UInt64(root.height))
            refs.append(root.hash)
        }
    }
}

extension Value {
    /// The canonical encoding of this value as it appears inside a parent.
    public func encoded(store: NodeStore) throws -> [UInt8] {
        var w = ByteWriter()
        var refs: [Hash] = []
        try w.value(self, refs: &refs, store: store)
        return w.bytes
    }

    /// The encoding, and the chunks it references (for the completeness invariant).
    public func encodedWithRefs(store: NodeStore) throws -> (bytes: [UInt8], refs: [Hash]) {
        var w = ByteWriter()
        var refs: [Hash] = []
        try w.value(self, refs: &refs, store: store)
        return (w.bytes, refs)
    }

    /// Whether this value, placed `depth` levels inside the values holding it, nests within
    /// ``Format/maxDepth``, so that the store reads it back.
    public func fitsNesting(under depth: Int, store: NodeStore) throws -> Bool {
        let bytes = try encoded(store: store)
        return bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return (try? r.skipValue(depth: depth)) != nil
        }
    }

    /// The hash of this value: of its encoding as if stored alone (a collection's root node).
    public func hash(store: NodeStore) throws -> Hash {
        switch self {
        case .blob(let b): return b.root.hash
        case .list(let l): return l.root.hash
        case .map(let m): return m.root.hash
        case .set(let s): return s.root.hash
        default:
            var w = ByteWriter()
            w.byte(Format.version)
            var refs: [Hash] = []
            try w.value(self, refs: &refs, store: store)
            return Hash(of: w.bytes)
        }
    }
}

// MARK: - Decoding

extension ByteReader {
    /// Decodes one value. Collections keep a handle on `store` to load their nodes.
    mutating func value(store: NodeStore, depth: Int = 0) throws -> Value {
        guard depth < Format.maxDepth else { throw DecodeError("values nest too deeply", at: pos) }
        let at = pos
        guard let tag = Tag(rawValue: try byte()) else { throw DecodeError("unknown tag \(buf[at])", at: at) }
        switch tag {
        case .null: return .null
        case .falseValue: return .bool(false)
        case .trueValue: return .bool(true)
        case .int: return .int(try signed())
        case .counter: return .counter(try signed())
        case .float:
            let bits = try uint64BigEndian()
            let d = Double(bitPattern: bits)
            if d.isNaN && bits != Value.canonicalNaNBits { throw DecodeError("NaN is not canonical", at: at) }
            return .float(d)
        case .string:
            let n = try length()
            let raw = try bytes(n)
            guard let s = validUTF8String(raw) else { throw DecodeError("string is not valid UTF-8", at: at) }
            return .string(s)
        case .stringRef:
            let root = try treeRef(at: at)
            let blob = Blob(store: store, root: root)
            let bytes = try blob.bytes()
            guard let s = String(validating: bytes, as: UTF8.self) else { throw DecodeError("string is not valid UTF-8", at: at) }
            return .string(s)
        case .blobLeaf, .listLeaf, .mapLeaf, .setLeaf:
            // One pass finds the leaf's end and the chunks it references; its count (entries,
            // or bytes for a Blob) follows the tag. Rows are decoded often: no Node is built.
            pos = at
            var refs: [Hash] = []
            try withUnsafeMutablePointer(to: &refs) { (p) throws(DecodeError) in try skipValue(depth: depth, refs: p) }
            var header = ByteReader(buf, at: at + 1)
            let count = try header.varint()
            let leaf = [Format.version] + Array(UnsafeRawBufferPointer(rebasing: buf[at..<pos]))
            let root = TreeRoot(inlineLeaf: leaf, count: count, refs: refs)
            switch tag {
            case .blobLeaf: return .blob(Blob(store: store, root: root))
            case .listLeaf: return .list(ProllyList(store: store, root: root))
            case .mapLeaf: return .map(ProllyMap(store: store, root: root))
            default: return .set(ProllySet(store: store, root: root))
            }
        case .blobRef: return .blob(Blob(store: store, root: try treeRef(at: at)))
        case .listRef: return .list(ProllyList(store: store, root: try treeRef(at: at)))
        case .mapRef: return .map(ProllyMap(store: store, root: try treeRef(at: at)))
        case .setRef: return .set(ProllySet(store: store, root: try treeRef(at: at)))
        case .structValue:
            let name = try utf8String()
            let n = try count(minItemSize: 2)
            var fields: [(name: String, value: Value)] = []
            fields.reserveCapacity(n)
            var previous: String?
            for _ in 0..<n {
                let fieldAt = pos
                let f = try utf8String()
                if let p = previous, !utf8Less(p, f) { throw DecodeError("struct fields are not sorted and unique", at: fieldAt) }
                previous = f
                fields.append((f, try value(store: store, depth: depth + 1)))
            }
            return .struct(StructValue(name: name, sortedFields: fields))
        case .ref:
            let h = try hash()
            let k = try byte()
            guard let kind = Value.Kind(rawValue: Int(k)) else { throw DecodeError("unknown ref kind \(k)", at: pos - 1) }
            return .ref(ValueRef(target: h, targetKind: kind))
        case .tuple:
            let n = try count(minItemSize: 1)
            var xs: [Value] = []
            xs.reserveCapacity(n)
            for _ in 0..<n { xs.append(try value(store: store, depth: depth + 1)) }
            return .tuple(xs)
        case .table:
            let schema = try Schema.decode(&self)
            return .table(Table(schema: schema, rows: ProllyMap(store: store, root: try mapTree(depth: depth))))
        case .row, .rowRef, .missingCell:
            throw DecodeError("a table row outside its table", at: at)
        case .blobNode, .listNode, .mapNode, .setNode:
            throw DecodeError("a tree node cannot appear inside a value", at: at)
        }
    }

    /// A Map's tree as it appears inside a parent: an inline leaf, or a Ref to its root node.
    mutating func mapTree(depth: Int) throws(DecodeError) -> TreeRoot {
        let at = pos
        switch try byte() {
        case Tag.mapRef.rawValue:
            return try treeRef(at: at)
        case Tag.mapLeaf.rawValue:
            pos = at
            var refs: [Hash] = []
            try withUnsafeMutablePointer(to: &refs) { (p) throws(DecodeError) in try skipValue(depth: depth + 1, refs: p) }
            var header = ByteReader(buf, at: at + 1)
            let count = try header.varint()
            let leaf = [Format.version] + Array(UnsafeRawBufferPointer(rebasing: buf[at..<pos]))
            return TreeRoot(inlineLeaf: leaf, count: count, refs: refs)
        default:
            throw DecodeError("expected a map", at: at)
        }
    }

    mutating func utf8String() throws(DecodeError) -> String {
        let at = pos
        let n = try length()
        let raw = try bytes(n)
        guard let s = validUTF8String(raw) else { throw DecodeError("string is not valid UTF-8", at: at) }
        return s
    }

    /// The (hash, count, height) of a collection stored by Ref.
    mutating func treeRef(at: Int) throws(DecodeError) -> TreeRoot {
        let h = try hash()
        let count = try varint()
        let height = try varint()
        guard height >= 1 && height <= 64 else { throw DecodeError("tree height \(height) out of range", at: at) }
        return TreeRoot(hash: h, count: count, height: Int(height))
    }

    /// Skips one value, checking its structure (not UTF-8 validity), and collects the hashes
    /// it references into `refs` when given.
    mutating func skipValue(depth: Int = 0, refs: UnsafeMutablePointer<[Hash]>? = nil) throws(DecodeError) {
        guard depth < Format.maxDepth else { throw DecodeError("values nest too deeply", at: pos) }
        let at = pos
        // The cells of rows, by far the most values skipped, without the general switch.
        if at < buf.count {
            switch buf[at] {
            case Tag.null.rawValue, Tag.falseValue.rawValue, Tag.trueValue.rawValue:
                pos += 1
                return
            case Tag.int.rawValue, Tag.counter.rawValue:
                pos += 1
                _ = try varint()
                return
            case Tag.string.rawValue:
                pos += 1
                pos += try length()
                return
            case Tag.row.rawValue:
                pos += 1
                try skipCells(try count(minItemSize: 1), depth: depth, refs: refs)
                return
            default: break
            }
        }
        guard let tag = Tag(rawValue: try byte()) else { throw DecodeError("unknown tag \(buf[at])", at: at) }
        switch tag {
        case .null, .falseValue, .trueValue: return
        case .int, .counter: _ = try varint()
        case .float: _ = try uint64BigEndian()
        case .string, .blobLeaf: _ = try bytes(try length())
        case .stringRef, .blobRef, .listRef, .mapRef, .setRef:
            let r = try treeRef(at: at)
            refs?.pointee.append(r.hash)
        case .listLeaf, .setLeaf:
            let n = try count(minItemSize: 1)
            for _ in 0..<n { try skipValue(depth: depth + 1, refs: refs) }
        case .mapLeaf:
            let n = try count(minItemSize: 2)
            for _ in 0..<n {
                try skipValue(depth: depth + 1, refs: refs)
                try skipValue(depth: depth + 1, refs: refs)
            }
        case .structValue:
            _ = try bytes(try length())
            let n = try count(minItemSize: 2)
            for _ in 0..<n {
                _ = try bytes(try length())
                try skipValue(depth: depth + 1, refs: refs)
            }
        case .ref:
            let h = try hash()
            let k = try byte()
            guard Value.Kind(rawValue: Int(k)) != nil else { throw DecodeError("unknown ref kind \(k)", at: pos - 1) }
            refs?.pointee.append(h)
        case .tuple:
            let n = try count(minItemSize: 1)
            for _ in 0..<n { try skipValue(depth: depth + 1, refs: refs) }
        case .table:
            _ = try Schema.decode(&self)
            guard let t = buf.count > pos ? buf[pos] : nil, t == Tag.mapLeaf.rawValue || t == Tag.mapRef.rawValue else {
                throw DecodeError("a table's rows are not a map", at: pos)
            }
            try skipValue(depth: depth + 1, refs: refs)
        case .row:
            try skipCells(try count(minItemSize: 1), depth: depth, refs: refs)
        case .rowRef:
            refs?.pointee.append(try hash())
        case .missingCell:
            throw DecodeError("a missing-cell marker outside a row", at: at)
        case .blobNode, .listNode, .mapNode, .setNode:
            throw DecodeError("a tree node cannot appear inside a value", at: at)
        }
    }

    /// Skips the `n` cells of a row (the walk of Table.forEachCellRange, without its closure):
    /// the scalar cells, nearly all of a table's bytes, in this loop; the rest by `skipValue`.
    /// sync and gc read every row of a store this way, for its references.
    @inline(__always)
    private mutating func skipCells(_ n: Int, depth: Int, refs: UnsafeMutablePointer<[Hash]>?) throws(DecodeError) {
        // The cells sit one level down, as `skipValue(depth: depth + 1)` would check.
        if n > 0 && depth + 1 >= Format.maxDepth { throw DecodeError("values nest too deeply", at: pos) }
        var i = 0
        while i < n {
            guard pos < buf.count else { throw DecodeError("unexpected end of data", at: pos) }
            switch buf[pos] {
            case Tag.missingCell.rawValue:
                guard i < n - 1 else { throw DecodeError("a row ends with a missing cell", at: pos) }
                pos += 1
            case Tag.null.rawValue, Tag.falseValue.rawValue, Tag.trueValue.rawValue:
                pos += 1
            case Tag.int.rawValue, Tag.counter.rawValue:
                pos += 1
                // A one-byte varint, the most common, without the general reader.
                if pos < buf.count && buf[pos] & 0x80 == 0 { pos += 1 } else { _ = try varint() }
            case Tag.string.rawValue:
                pos += 1
                if pos < buf.count && buf[pos] & 0x80 == 0 {
                    let length = Int(buf[pos])
                    guard length < buf.count - pos else { throw DecodeError("length \(length) runs past the end", at: pos) }
                    pos += 1 + length
                } else {
                    pos += try length()
                }
            default:
                try skipValue(depth: depth + 1, refs: refs)
            }
            i += 1
        }
    }
}

extension Value {
    /// Decodes a value from its encoding as it appears inside a parent.
    public static func decode(_ bytes: [UInt8], store: NodeStore) throws -> Value {
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            let v = try r.value(store: store)
            guard r.atEnd else { throw DecodeError("trailing bytes after the value", at: r.pos) }
            return v
        }
    }
}
