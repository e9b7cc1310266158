import CairnStore
extension ProllyList {
    /// The changes from this list to `other`, as splices in this list's positions: applying
    /// them with ``editing(_:)`` gives `other`. The common prefix and suffix are found by
    /// walking both trees and skipping equal subtrees by hash, so a local change costs about
    /// depth node reads; everything between the first and the last difference is one splice.
    public func diff(to other: ProllyList) throws -> [ListSplice] {
        if root == other.root { return [] }
        let prefix = try commonPrefix(other)
        let limit = min(count, other.count) - prefix
        let suffix = try min(commonSuffix(other), limit)
        let removing = count - prefix - suffix
        let insertCount = other.count - prefix - suffix
        var inserting: [Value] = []
        if insertCount > 0 {
            try other.forEach(from: prefix) { v in
                inserting.append(v)
                return UInt64(inserting.count) < insertCount
            }
        }
        if removing == 0 && inserting.isEmpty { return [] }
        return [ListSplice(at: prefix, removing: removing, inserting: inserting)]
    }

    private func commonPrefix(_ other: ProllyList) throws -> UInt64 {
        var x = TreeCursor(store: store, root: try store.rootNode(root))
        var y = TreeCursor(store: store, root: try other.store.rootNode(other.root))
        x.normalize()
        y.normalize()
        return try commonRun(&x, &y)
    }

    private func commonSuffix(_ other: ProllyList) throws -> UInt64 {
        var x = ReverseCursor(store: store, root: try store.rootNode(root))
        var y = ReverseCursor(store: store, root: try other.store.rootNode(other.root))
        return try commonRun(&x, &y)
    }

    /// How many elements the two cursors pass before they first differ.
    private func commonRun<C: LazyCursor & LeafEntries>(_ x: inout C, _ y: inout C) throws -> UInt64 {
        var n: UInt64 = 0
        while try alignAtLeaves(&x, &y, skipped: { n += $0 }) {
            guard x.entry == y.entry else { return n }
            n += 1
            x.step()
            y.step()
        }
        return n
    }
}

/// Cursors that can show the encoded leaf entry they stand at.
protocol LeafEntries {
    var entry: ArraySlice<UInt8> { get }
}

extension TreeCursor: LeafEntries {
    var entry: ArraySlice<UInt8> { node.entryBytes(index) }
}

extension ReverseCursor: LeafEntries {
    var entry: ArraySlice<UInt8> { node.entryBytes(index) }
}

/// ``TreeCursor`` walking backwards from the last entry; lazy in the same way.
struct ReverseCursor: LazyCursor {
    let store: NodeStore
    var path: [(node: Node, index: Int)]

    init(store: NodeStore, root: Node) {
        self.store = store
        path = root.count == 0 ? [] : [(root, root.count - 1)]
    }

    var node: Node { path[path.count - 1].node }
    var index: Int { path[path.count - 1].index }
    var atEnd: Bool { path.isEmpty }
    var isLazy: Bool { !path.isEmpty && !node.isLeaf }
    var level: Int { node.level }
    var childHash: Hash { node.children[index] }
    var span: UInt64 { node.cumulative[index + 1] - node.cumulative[index] }

    mutating func descend() throws {
        let child = try store.node(childHash)
        path.append((child, child.count - 1))
    }

    mutating func step() { retreat() }

    mutating func retreat() {
        while !path.isEmpty {
            path[path.count - 1].index -= 1
            if path[path.count - 1].index >= 0 { return }
            path.removeLast()
        }
    }
}
