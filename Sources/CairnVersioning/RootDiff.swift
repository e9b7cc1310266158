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
    /// `keyDepth` gives the key levels of a table (2 for `--key A,B`), so its rows and fields
    /// sit that much deeper.
    public static func diff(_ a: Value?, _ b: Value?, path: ValuePath, keyDepth: (String) -> Int = { _ in 1 },
                            _ body: (Change) throws -> Bool) throws {
        let limit = path.segments.first.map { 2 + keyDepth($0) } ?? structuralDepth
        _ = try walk(a, b, path: path, depth: path.segments.count, limit: limit, keyDepth: keyDepth, body)
    }

    private static func walk(_ a: Value?, _ b: Value?, path: ValuePath, depth: Int, limit: Int, keyDepth: (String) -> Int,
                             _ body: (Change) throws -> Bool) throws -> Bool {
        // Above the row level, a Map added or removed whole is reported row by row.
        if depth >= 1 && depth < limit - 1, a == nil || b == nil, case .map(let m)? = a ?? b {
            var go = true
            try m.forEach { k, v in
                go = try walk(a == nil ? nil : v, a == nil ? v : nil, path: path.appending(try segment(k)), depth: depth + 1,
                              limit: limit, keyDepth: keyDepth, body)
                return go
            }
            return go
        }
        switch (a, b) {
        case (nil, nil): return true
        case (nil, let y?): return try body(Change(path: path, op: .add, old: nil, new: y))
        case (let x?, nil): return try body(Change(path: path, op: .remove, old: x, new: nil))
        case (let x?, let y?):
            if x == y { return true }
            if case .map(let mx) = x, case .map(let my) = y, depth < limit {
                var go = true
                try mx.diff(to: my) { d in
                    var childLimit = limit
                    if depth == 0 {
                        guard case .string(let name) = d.key, !name.hasPrefix(".") else { return true }
                        childLimit = 2 + keyDepth(name)
                    }
                    go = try walk(d.old, d.new, path: path.appending(try segment(d.key)), depth: depth + 1, limit: childLimit,
                                  keyDepth: keyDepth, body)
                    return go
                }
                return go
            }
            return try body(Change(path: path, op: .modify, old: x, new: y))
        }
    }

    /// Per top-level name, what changed from `a` to `b`: rows added, removed and modified for
    /// a table (rows sit `tableKeyDepth` levels down), or 1 in the one that applies for any
    /// other value, a JSON document included. `tableKeyDepth` is nil for a name that is not a
    /// table in either root.
    public static func stat(_ a: ProllyMap, _ b: ProllyMap, tableKeyDepth: (String) -> Int?) throws
        -> [(name: String, counts: ChangeCounts)] {
        var out: [(name: String, counts: ChangeCounts)] = []
        try a.diff(to: b) { d in
            let name = try segment(d.key)
            if name.hasPrefix(".") { return true }
            var c = ChangeCounts()
            let isMap: (Value?) -> Bool = { if case .map? = $0 { true } else { false } }
            if let depth = tableKeyDepth(name), isMap(d.old) || isMap(d.new) {
                try countRows(d.old, d.new, levels: depth, &c)
            } else if d.old == nil {
                c.added = 1
            } else if d.new == nil {
                c.removed = 1
            } else {
                c.modified = 1
            }
            out.append((name, c))
            return true
        }
        return out
    }

    /// Counts rows `levels` Map levels down: whole subtrees added or removed count their rows.
    private static func countRows(_ a: Value?, _ b: Value?, levels: Int, _ c: inout ChangeCounts) throws {
        func rows(_ v: Value?, _ levels: Int) throws -> Int {
            guard let v else { return 0 }
            guard levels > 0, case .map(let m) = v else { return 1 }
            if levels == 1 { return Int(m.count) }
            var n = 0
            try m.forEach { _, inner in n += try rows(inner, levels - 1); return true }
            return n
        }
        guard levels > 0, case .map(let x)? = a, case .map(let y)? = b else {
            if a == nil { c.added += try rows(b, levels) } else if b == nil { c.removed += try rows(a, levels) } else if a != b { c.modified += 1 }
            return
        }
        var inner = ChangeCounts()
        try x.diff(to: y) { d in
            try countRows(d.old, d.new, levels: levels - 1, &inner)
            return true
        }
        c.added += inner.added
        c.removed += inner.removed
        c.modified += inner.modified
    }
}
