import CairnValues

/// Builds a table with a composite key (`--key A,B`) as nested Maps, one level per key column,
/// from rows in key order: `root[table][a][b] = row`. One open builder per level, so memory
/// stays bounded.
final class NestedMapBuilder {
    let store: NodeStore
    let depth: Int
    private var levels: [MapBuilder]
    private var current: [[UInt8]]?

    init(store: NodeStore, depth: Int) {
        self.store = store
        self.depth = depth
        levels = (0..<depth).map { _ in MapBuilder(store: store) }
    }

    /// Adds a row under its key parts (strictly increasing, as a sorted merge gives them).
    func add(parts: [[UInt8]], value: [UInt8], refs: [Hash]) throws {
        guard parts.count == depth else { throw ImportError("a composite key has \(parts.count) parts, expected \(depth)") }
        if let cur = current {
            let i = (0..<depth).first { parts[$0] != cur[$0] } ?? depth - 1
            try close(from: depth - 1, downTo: i + 1, cur)
        }
        try levels[depth - 1].appendEncoded(key: parts[depth - 1], value: value, refs: refs)
        current = parts
    }

    /// Finishes levels `from` … `downTo`, each into its parent under the current key part.
    private func close(from: Int, downTo: Int, _ cur: [[UInt8]]) throws {
        guard from >= downTo else { return }
        for j in stride(from: from, through: downTo, by: -1) {
            let inner = try levels[j].finish()
            let (bytes, refs) = try Value.map(inner).encodedWithRefs(store: store)
            try levels[j - 1].appendEncoded(key: cur[j - 1], value: bytes, refs: refs)
            levels[j] = MapBuilder(store: store)
        }
    }

    func finish() throws -> ProllyMap {
        if let cur = current { try close(from: depth - 1, downTo: 1, cur) }
        return try levels[0].finish()
    }
}

extension Repository {
    /// How many key levels each top-level name has (its schema's key columns; 1 otherwise),
    /// from either root.
    public func keyDepths(_ roots: ProllyMap...) -> (String) -> Int {
        let tables = tableKeyDepths(roots)
        return { name in tables(name) ?? 1 }
    }

    /// The key levels of each top-level name that is a table (it has a schema) in either
    /// root, the first root's schema first; nil for any other name.
    public func tableKeyDepths(_ roots: ProllyMap...) -> (String) -> Int? {
        tableKeyDepths(roots)
    }

    private func tableKeyDepths(_ roots: [ProllyMap]) -> (String) -> Int? {
        { name in
            for r in roots {
                if let s = try? self.schema(of: name, in: r) { return max(1, s.key.count) }
            }
            return nil
        }
    }
}
