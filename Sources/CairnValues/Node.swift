import CairnStore
/// One decoded tree node: a chunk's bytes plus the offsets of its entries. Immutable.
///
/// Leaf entries: Map (key, value); Set and List (element); Blob (bytes).
/// Internal entries: Map and Set (last key, child hash, subtree count); List and Blob (child
/// hash, subtree count). Subtree counts make positional access logarithmic.
package final class Node: @unchecked Sendable {
    /// The chunk's name. An inline leaf (a small collection inside its parent) is parsed with
    /// no hash; its hash is computed only if asked for, as rows are read far more often.
    package var hash: Hash { knownHash ?? Hash(of: bytes) }
    private let knownHash: Hash?
    let bytes: [UInt8]
    let tag: Tag
    /// 0 for a leaf.
    let level: Int
    let count: Int
    /// Leaf Map: key i at keyStarts[i]..<valueStarts[i], value at valueStarts[i]..<keyStarts[i+1].
    /// Leaf Set/List: element i at keyStarts[i]..<keyStarts[i+1].
    /// Internal Map/Set: last key i at keyStarts[i]..<keyEnds[i].
    var keyStarts: [Int32] = []
    var valueStarts: [Int32] = []
    var keyEnds: [Int32] = []
    var children: [Hash] = []
    /// Prefix sums of subtree counts (count + 1 entries); for a leaf, 0...count (or bytes for Blob).
    var cumulative: [UInt64] = []
    /// Blob leaf: where its bytes are.
    var dataRange: Range<Int> = 0..<0
    /// The chunks this node references (children, and by-Ref values inside leaf entries).
    var refs: [Hash] = []

    var isLeaf: Bool { level == 0 }
    var subtreeCount: UInt64 { cumulative.last ?? 0 }

    /// Parses an inline leaf, leaving its hash to be computed when asked for.
    convenience init(inlineLeaf bytes: [UInt8]) throws {
        try self.init(knownHash: nil, bytes: bytes)
    }

    /// Parses a chunk. Throws `DecodeError` on anything malformed; never traps.
    convenience init(hash: Hash, bytes: [UInt8]) throws {
        try self.init(knownHash: hash, bytes: bytes)
    }

    private init(knownHash: Hash?, bytes: [UInt8]) throws {
        self.knownHash = knownHash
        self.bytes = bytes
        var keyStarts: [Int32] = [], valueStarts: [Int32] = [], keyEnds: [Int32] = []
        var children: [Hash] = [], cumulative: [UInt64] = [0], refs: [Hash] = []
        var dataRange = 0..<0
        let parsed: (Tag, Int, Int) = try bytes.withUnsafeBytes { raw throws -> (Tag, Int, Int) in
            var r = ByteReader(raw)
            let version = try r.byte()
            guard version == Format.version else { throw DecodeError("unknown format version \(version)", at: 0) }
            guard let tag = Tag(rawValue: try r.byte()) else { throw DecodeError("unknown node tag \(raw[1])", at: 1) }
            var level = 0
            switch tag {
            case .blobNode, .listNode, .mapNode, .setNode:
                let l = try r.varint()
                guard l >= 1 && l <= 64 else { throw DecodeError("node level \(l) out of range", at: 2) }
                level = Int(l)
            case .blobLeaf, .listLeaf, .mapLeaf, .setLeaf: break
            default: throw DecodeError("not a tree node (tag \(tag.rawValue))", at: 1)
            }
            if tag == .blobLeaf {
                let n = try r.length()
                dataRange = r.pos..<(r.pos + n)
                _ = try r.bytes(n)
                guard r.atEnd else { throw DecodeError("trailing bytes in node", at: r.pos) }
                cumulative = [0, UInt64(n)]
                return (tag, 0, n)
            }
            let n = try r.count(minItemSize: 1)
            keyStarts.reserveCapacity(n + 1)
            var total: UInt64 = 0
            try withUnsafeMutablePointer(to: &refs) { refsPtr throws -> Void in
                for _ in 0..<n {
                    switch tag {
                    case .mapLeaf:
                        keyStarts.append(Int32(r.pos))
                        try r.skipValue(refs: refsPtr)
                        valueStarts.append(Int32(r.pos))
                        try r.skipValue(refs: refsPtr)
                        total += 1
                    case .setLeaf, .listLeaf:
                        keyStarts.append(Int32(r.pos))
                        try r.skipValue(refs: refsPtr)
                        total += 1
                    default:  // internal: (last key,) child hash, subtree count
                        if tag == .mapNode || tag == .setNode {
                            keyStarts.append(Int32(r.pos))
                            try r.skipValue()
                            keyEnds.append(Int32(r.pos))
                        }
                        let h = try r.hash()
                        children.append(h)
                        refsPtr.pointee.append(h)
                        let c = try r.varint()
                        guard c > 0 else { throw DecodeError("empty subtree", at: r.pos) }
                        // Counts that wrap would make positional lookups underflow: refuse them.
                        let (sum, overflow) = total.addingReportingOverflow(c)
                        guard !overflow else { throw DecodeError("subtree counts overflow", at: r.pos) }
                        total = sum
                    }
                    cumulative.append(total)
                }
            }
            keyStarts.append(Int32(r.pos))
            guard r.atEnd else { throw DecodeError("trailing bytes in node", at: r.pos) }
            if level > 0 && n == 0 { throw DecodeError("internal node with no children", at: 2) }
            return (tag, level, n)
        }
        (self.tag, self.level, self.count) = parsed
        self.keyStarts = keyStarts
        self.valueStarts = valueStarts
        self.keyEnds = keyEnds
        self.children = children
        self.cumulative = cumulative
        self.dataRange = dataRange
        self.refs = refs
    }

    /// Key (Map, Set; leaf or internal) or element (List leaf) `i`, as encoded bytes.
    @inline(__always) func withKey<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let start = Int(keyStarts[i])
        let end: Int
        if level > 0 { end = Int(keyEnds[i]) } else if tag == .mapLeaf { end = Int(valueStarts[i]) } else { end = Int(keyStarts[i + 1]) }
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    func keyBytes(_ i: Int) -> [UInt8] { withKey(i) { Array($0) } }

    /// Value `i` of a Map leaf, as encoded bytes.
    func valueBytes(_ i: Int) -> [UInt8] {
        Array(bytes[Int(valueStarts[i])..<Int(keyStarts[i + 1])])
    }

    /// Whether Map leaf value `i` here and value `j` of `other` have the same bytes, without
    /// copying either.
    func valueEquals(_ i: Int, _ other: Node, _ j: Int) -> Bool {
        let a = Int(valueStarts[i])..<Int(keyStarts[i + 1])
        let b = Int(other.valueStarts[j])..<Int(other.keyStarts[j + 1])
        guard a.count == b.count else { return false }
        return bytes.withUnsafeBytes { x in
            other.bytes.withUnsafeBytes { y in memcmpBytes(x.baseAddress! + a.lowerBound, y.baseAddress! + b.lowerBound, a.count) == 0 }
        }
    }

    /// How many leaf entries from `i` in `a` and from `j` in `b` have the same bytes, pairwise.
    /// Entries delimit themselves, so a common run of bytes that ends on an entry boundary of
    /// `a` is that many equal entries on both sides.
    static func equalEntryRun(_ a: Node, _ i: Int, _ b: Node, _ j: Int) -> Int {
        guard a.isLeaf, b.isLeaf, a.tag == b.tag, a.tag != .blobLeaf else { return 0 }
        let startA = Int(a.keyStarts[i]), startB = Int(b.keyStarts[j])
        let n = min(Int(a.keyStarts[a.count]) - startA, Int(b.keyStarts[b.count]) - startB)
        let common = a.bytes.withUnsafeBytes { x in
            b.bytes.withUnsafeBytes { y in commonPrefixLength(x.baseAddress! + startA, y.baseAddress! + startB, n) }
        }
        // The entries of `a` from i that end within the common bytes.
        var lo = i, hi = a.count
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Int(a.keyStarts[mid]) - startA <= common { lo = mid } else { hi = mid - 1 }
        }
        return lo - i
    }

    /// The whole encoded entry `i` of a leaf (Map: key and value; Set/List: element).
    func entryBytes(_ i: Int) -> ArraySlice<UInt8> { bytes[Int(keyStarts[i])..<Int(keyStarts[i + 1])] }

    /// The first entry whose key is ≥ `key` (count if none), by binary search.
    func lowerBound(_ key: UnsafeRawBufferPointer) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if withKey(mid, { KeyOrder.compare($0, key) }) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The child whose subtree holds leaf position `p` (internal nodes), and the position's
    /// offset inside it.
    func childFor(position p: UInt64) -> (index: Int, offset: UInt64) {
        var lo = 0, hi = count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid + 1] <= p { lo = mid + 1 } else { hi = mid }
        }
        return (lo, p - cumulative[lo])
    }
}
