import CairnValues

/// One change between two root values.
public struct Change: Sendable {
    public enum Op: String, Sendable { case add, remove, modify }
    public let path: ValuePath
    public let op: Op
    public let old: Value?
    public let new: Value?
}

/// Counts of changes under one top-level name: rows of a table, or 1 for any other value.
public struct ChangeCounts: Sendable, Equatable {
    public var added = 0, removed = 0, modified = 0
    public var isEmpty: Bool { added == 0 && removed == 0 && modified == 0 }
    public init() {}
}

public enum RootDiff {
    /// Maps are compared entry by entry down to this depth below the root: names, then rows,
    /// then fields. An added or removed row is one change at the row's path; a modified row is
    /// one change for each field that changed.
    static let structuralDepth = 3

    /// The path segment for a map key: a String as itself, an Int in decimal, anything else as
    /// its JSON text.
    public static func segment(_ key: Value) throws -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return try JSON.string(key)
        }
    }

    /// Streams the changes from `a` to `b` (values at `path`, at `depth` below the root).
    /// Reserved top-level names (`.schema`, `.rules`) are left out unless `path` names them.
    public static func diff(_ a: Value?, _ b: Value?, path: ValuePath, _ body: (Change) throws -> Bool) throws {
        _ = try walk(a, b, path: path, depth: path.segments.count, body)
    }

    private static func walk(_ a: Value?, _ b: Value?, path: ValuePath, depth: Int, _ body: (Change) throws -> Bool) throws -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (nil, let y?): return try body(Change(path: path, op: .add, old: nil, new: y))
        case (let x?, nil): return try body(Change(path: path, op: .remove, old: x, new: nil))
        case (let x?, let y?):
            if x == y { return true }
            if case .map(let mx) = x, case .map(let my) = y, depth < structuralDepth {
                var go = true
                try mx.diff(to: my) { d in
                    if depth == 0, case .string(let name) = d.key, name.hasPrefix(".") { return true }
                    go = try walk(d.old, d.new, path: path.appending(try segment(d.key)), depth: depth + 1, body)
                    return go
                }
                return go
            }
            return try body(Change(path: path, op: .modify, old: x, new: y))
        }
    }

    /// Per top-level name, what changed from `a` to `b`: rows added, removed and modified for
    /// a table (a Map), or 1 in the one that applies for any other value.
    public static func stat(_ a: ProllyMap, _ b: ProllyMap) throws -> [(name: String, counts: ChangeCounts)] {
        var out: [(name: String, counts: ChangeCounts)] = []
        try a.diff(to: b) { d in
            let name = try segment(d.key)
            if name.hasPrefix(".") { return true }
            var c = ChangeCounts()
            switch (d.old, d.new) {
            case (.map(let x)?, .map(let y)?):
                try x.diffEncoded(to: y) { e in
                    switch e.op {
                    case .add: c.added += 1
                    case .remove: c.removed += 1
                    case .modify: c.modified += 1
                    }
                    return true
                }
            case (nil, .map(let y)?): c.added = Int(y.count)
            case (.map(let x)?, nil): c.removed = Int(x.count)
            case (nil, _): c.added = 1
            case (_, nil): c.removed = 1
            default: c.modified = 1
            }
            out.append((name, c))
            return true
        }
        return out
    }
}
