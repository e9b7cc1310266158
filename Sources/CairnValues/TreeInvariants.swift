import CairnStore
/// Checks the invariants of a stored prolly tree (docs/format.md): for the tests now, and for
/// `fsck` later. It streams, node by node, holding one path of the tree.
///
/// - Levels descend by one to the leaves at 0.
/// - Keys (Map, Set) strictly ascend across the whole tree, and each internal entry carries
///   its subtree's last key.
/// - Each internal entry's count is its subtree's count, so counts add up to the root's.
/// - Every node ends where the chunker puts a boundary, and nowhere before: the rule of
///   `Boundary` for Map, Set and List entries and for internal levels; the gear cut for Blob
///   leaves. The last node of a level ends at the level's end instead.
/// - The root: an internal root has two children or more (a single child would be the root),
///   and a leaf root small enough to be inline is not stored by Ref, unless `storedRoot` (a
///   commit's root Map is always a chunk of its own).
public struct TreeProblem: Sendable, Equatable, CustomStringConvertible {
    /// The node where the problem is; nil for an inline root.
    public let node: Hash?
    public let problem: String
    public var description: String { node.map { "node \($0): \(problem)" } ?? problem }
}

/// The subtrees already found sound, shared between the checks of many trees (every commit's
/// trees in `fsck`), so a subtree two trees share is checked once. A subtree's soundness
/// depends only on its bytes, its level and whether it is the rightmost of its level; what the
/// tree around it needs is its first and last keys.
package final class TreeCheckMemo: @unchecked Sendable {
    struct Key: Hashable { let hash: Hash; let level: Int; let rightmost: Bool; let keyed: Bool }
    var sound: [Key: (first: [UInt8]?, last: [UInt8]?)] = [:]
    package init() {}
    /// How many subtrees are remembered.
    package var count: Int { sound.count }
}

extension TreeRoot {
    /// The problems of the tree under this root; empty when it is sound. Throws only when a
    /// node cannot be read or parsed (a missing or corrupt chunk).
    func invariantProblems(kind: TreeKind, store: NodeStore, storedRoot: Bool = false, memo: TreeCheckMemo? = nil) throws -> [TreeProblem] {
        var checker = TreeChecker(kind: kind, store: store)
        checker.memo = memo
        let root = try store.rootNode(self)
        let id: Hash? = isInline ? nil : root.hash
        if !isInline {
            if root.isLeaf && !storedRoot && TreeRoot.isInline(level: 0, chunkBytes: root.bytes.count) {
                checker.report(id, "a leaf root of \(root.bytes.count - 1) bytes is stored by Ref, not inline")
            }
            if !root.isLeaf && root.count < 2 { checker.report(id, "an internal root with \(root.count) child") }
            if root.subtreeCount != count { checker.report(id, "the root counts \(root.subtreeCount), its Ref says \(count)") }
            if root.level + 1 != height { checker.report(id, "the root is at level \(root.level), its Ref says height \(height)") }
        }
        try checker.check(root, id: id, level: root.level, rightmost: true)
        return checker.problems
    }
}

extension ProllyMap {
    public func invariantProblems(storedRoot: Bool = false) throws -> [TreeProblem] {
        try root.invariantProblems(kind: .map, store: store, storedRoot: storedRoot)
    }
}

extension Value {
    /// The tree problems of this value's tree, if it is one (a table's rows, a Map, Set, List or
    /// Blob), with `memo` skipping the subtrees already checked; rows are not decoded.
    package func treeProblems(memo: TreeCheckMemo, storedRoot: Bool = false) throws -> [TreeProblem] {
        switch self {
        case .table(let t): try t.rows.root.invariantProblems(kind: .map, store: t.rows.store, memo: memo)
        case .map(let m): try m.root.invariantProblems(kind: .map, store: m.store, storedRoot: storedRoot, memo: memo)
        case .set(let x): try x.root.invariantProblems(kind: .set, store: x.store, memo: memo)
        case .list(let l): try l.root.invariantProblems(kind: .list, store: l.store, memo: memo)
        case .blob(let b): try b.root.invariantProblems(kind: .blob, store: b.store, memo: memo)
        default: []
        }
    }
}

extension ProllySet {
    public func invariantProblems() throws -> [TreeProblem] { try root.invariantProblems(kind: .set, store: store) }
}

extension ProllyList {
    public func invariantProblems() throws -> [TreeProblem] { try root.invariantProblems(kind: .list, store: store) }
}

extension Blob {
    public func invariantProblems() throws -> [TreeProblem] { try root.invariantProblems(kind: .blob, store: store) }
}

extension Table {
    /// The rows tree's problems, and rows that do not decode against the schema.
    public func invariantProblems() throws -> [TreeProblem] {
        try rows.invariantProblems() + rowProblems()
    }

    /// The rows that do not decode against the schema (at most 100).
    package func rowProblems() throws -> [TreeProblem] {
        var problems: [TreeProblem] = []
        try forEachRow { k, r in
            let parts = Table.keyElements(k, columns: schema.key.count)
            if parts.count != schema.key.count || (schema.key.count > 1 && k.first != Tag.tuple.rawValue) {
                problems.append(TreeProblem(node: nil, problem: "a row key does not have the table's \(schema.key.count) key columns"))
            }
            var slots = 0
            try Table.forEachCell(r, store: store) { s, _ in slots = s + 1 }
            if slots > schema.slotCount {
                problems.append(TreeProblem(node: nil, problem: "a row has \(slots) cells, the schema \(schema.slotCount) slots"))
            }
            return problems.count < 100
        }
        return problems
    }
}

private struct TreeChecker {
    let kind: TreeKind
    let store: NodeStore
    var problems: [TreeProblem] = []
    /// The last leaf key seen, in tree order.
    var lastKey: [UInt8]?
    var memo: TreeCheckMemo?

    init(kind: TreeKind, store: NodeStore) {
        self.kind = kind
        self.store = store
    }

    mutating func report(_ node: Hash?, _ what: String) {
        if problems.count < 100 { problems.append(TreeProblem(node: node, problem: what)) }
    }

    /// Checks the subtree under `node`; returns its first leaf key (keyed trees).
    @discardableResult
    mutating func check(_ node: Node, id: Hash?, level: Int, rightmost: Bool) throws -> [UInt8]? {
        let key = id.map { TreeCheckMemo.Key(hash: $0, level: level, rightmost: rightmost, keyed: kind.isKeyed) }
        if let key, let known = memo?.sound[key] {
            if let first = known.first, let last = lastKey, KeyOrder.compare(last, first) >= 0 {
                report(id, "keys out of order before this subtree")
            }
            if let l = known.last { lastKey = l }
            return known.first
        }
        let problemsBefore = problems.count
        let first = try checkUnmemoized(node, id: id, level: level, rightmost: rightmost)
        if let key, let memo, problems.count == problemsBefore, first != nil || !kind.isKeyed { memo.sound[key] = (first, lastKey) }
        return first
    }

    private mutating func checkUnmemoized(_ node: Node, id: Hash?, level: Int, rightmost: Bool) throws -> [UInt8]? {
        if node.level != level { report(id, "at level \(node.level), expected \(level)") }
        let expectedTag = node.isLeaf ? kind.leafTag : kind.nodeTag
        guard node.tag == expectedTag else {
            report(id, "a \(node.tag) node in a \(kind) tree")
            return nil
        }
        checkBoundaries(node, id: id, rightmost: rightmost)
        if node.isLeaf {
            guard kind.isKeyed else { return nil }
            for i in 0..<node.count {
                let k = node.keyBytes(i)
                if let last = lastKey, KeyOrder.compare(last, k) >= 0 { report(id, "keys out of order at entry \(i)") }
                lastKey = k
            }
            return node.count > 0 ? node.keyBytes(0) : nil
        }
        var first: [UInt8]?
        for i in 0..<node.count {
            let childHash = node.children[i]
            let child = try store.node(childHash, caching: false)
            let count = node.cumulative[i + 1] - node.cumulative[i]
            if child.subtreeCount != count { report(id, "entry \(i) counts \(count), its subtree holds \(child.subtreeCount)") }
            let f = try check(child, id: childHash, level: level - 1, rightmost: rightmost && i == node.count - 1)
            if i == 0 { first = f }
            if kind.isKeyed, let last = lastKey, node.keyBytes(i) != last {
                report(id, "entry \(i) does not carry its subtree's last key")
            }
        }
        return first
    }

    /// Whether the node's entries are cut as the chunker cuts them.
    mutating func checkBoundaries(_ node: Node, id: Hash?, rightmost: Bool) {
        if kind == .blob && node.isLeaf { return checkBlobLeaf(node, id: id, rightmost: rightmost) }
        var size = 0
        for i in 0..<node.count {
            let (entrySize, keyHash) = entry(node, i)
            let splits = Boundary.splits(sizeBefore: size, itemSize: entrySize, keyHash: keyHash)
            size += entrySize
            let last = i == node.count - 1
            if splits && !last { return report(id, "a boundary falls after entry \(i) of \(node.count)") }
            if last && !splits && !rightmost { report(id, "the node ends with no boundary after its last entry") }
        }
    }

    /// The encoded size of entry `i` and the hash that decides a boundary after it.
    private func entry(_ node: Node, _ i: Int) -> (Int, UInt32) {
        let level = node.level
        if node.isLeaf {
            let size = Int(node.keyStarts[i + 1] - node.keyStarts[i])
            return (size, node.withKey(i) { Boundary.keyHash($0, level: level) })
        }
        let countBytes = ByteWriter.varintSize(node.cumulative[i + 1] - node.cumulative[i])
        if kind.isKeyed {
            return (Int(node.keyStarts[i + 1] - node.keyStarts[i]), node.withKey(i) { Boundary.keyHash($0, level: level) })
        }
        let h = node.children[i].bytes
        return (Hash.byteCount + countBytes, h.withUnsafeBytes { Boundary.keyHash($0, level: level) })
    }

    private mutating func checkBlobLeaf(_ node: Node, id: Hash?, rightmost: Bool) {
        let table = BlobBoundary.gear
        var gear: UInt64 = 0
        let data = node.bytes[node.dataRange]
        for (n, b) in data.enumerated() {
            gear = (gear << 1) &+ table[Int(b)]
            let size = n + 1
            let cut = (size >= BlobBoundary.minSize && gear & BlobBoundary.mask == 0) || size >= BlobBoundary.maxSize
            if cut && size < data.count { return report(id, "a blob leaf holds a cut after byte \(size) of \(data.count)") }
            if size == data.count && !cut && !rightmost { report(id, "a blob leaf ends with no cut") }
        }
    }
}
