import CairnStore
import CairnValues

/// What `stats` shows of one top-level value: its rows (a table) or entries, its tree's depth,
/// and how many chunks the tree has. Counted from the internal nodes: leaves are counted from
/// their parents, so a large table costs a few thousand node reads, not a scan.
public struct ValueStats: Sendable {
    public let isTable: Bool
    public let count: UInt64
    public let depth: Int
    public let chunks: Int

    public init(_ v: Value) throws {
        let tree: (TreeRoot, NodeStore)?
        switch v {
        case .table(let t): tree = (t.rows.root, t.store)
        case .map(let m): tree = (m.root, m.store)
        case .list(let l): tree = (l.root, l.store)
        case .set(let x): tree = (x.root, x.store)
        case .blob(let b): tree = (b.root, b.store)
        default: tree = nil
        }
        isTable = if case .table = v { true } else { false }
        if let (root, store) = tree {
            count = root.count
            depth = root.height
            chunks = try root.chunkCount(store: store)
        } else {
            count = 1
            depth = 0
            chunks = 0
        }
    }
}
