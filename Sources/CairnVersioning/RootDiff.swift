import CairnStore
import CairnValues
import CairnTables

/// One change between two root values.
public struct Change: Sendable {
    public typealias Op = DiffOp
    public let path: ValuePath
    public let op: Op
    public let old: Value?
    public let new: Value?
    /// True for a change of a table's schema (a column added, renamed, moved or dropped, the
    /// key or the import options): `old` and `new` are ``RootDiff/schemaValue(_:)``s.
    public let isSchema: Bool
    /// For a schema change, what changed in words: `renamed temp to temperature; added wind`.
    public let summary: String?

    init(path: ValuePath, op: Op, old: Value?, new: Value?, isSchema: Bool = false, summary: String? = nil) {
        self.path = path
        self.op = op
        self.old = old
        self.new = new
        self.isSchema = isSchema
        self.summary = summary
    }
}

/// Counts of changes under one top-level name: rows of a table, or 1 for any other value.
public struct ChangeCounts: Sendable, Equatable {
    public var added = 0, removed = 0, modified = 0
    public var isEmpty: Bool { added == 0 && removed == 0 && modified == 0 }
    public init() {}
}

public enum RootDiff {
    /// Values that are not tables are compared entry by entry down to this depth below the
    /// root: names, then entries, then their fields.
    static let structuralDepth = 3

    /// Streams the changes from what `path` names in `a` to what it names in `b`. A table's
    /// rows are compared by key and their cells by column id, so a renamed or moved column is
    /// one schema change, not a change to every row. An added or removed row is one change at
    /// the row's path; a modified row is one change for each cell that changed. The merge rules
    /// (`.rules`) are data and show like any other entry.
    public static func diff(_ a: ValuePath.Target?, _ b: ValuePath.Target?, path: ValuePath,
                            _ body: (Change) throws -> Bool) throws {
        func rows(_ t: ValuePath.Target?) -> (Table, [Value])? {
            switch t {
            case .rows(let table, let prefix)?: return (table, prefix)
            case .row(let table, let key, _)?: return (table, key)
            default: return nil
            }
        }
        if rows(a) != nil || rows(b) != nil {
            let x = rows(a), y = rows(b)
            let prefix = x?.1 ?? y!.1
            let tablePath = ValuePath(segments: Array(path.segments.dropLast(prefix.count)))
            _ = try tableDiff(x?.0, y?.0, prefix: prefix, path: tablePath, body)
            return
        }
        func value(_ t: ValuePath.Target?) -> Value? { if case .value(let v)? = t { v } else { nil } }
        _ = try walk(value(a), value(b), path: path, depth: path.segments.count, body)
    }

    /// Streams the changes from value `a` to value `b`, both at `path`.
    public static func diff(_ a: Value?, _ b: Value?, path: ValuePath, _ body: (Change) throws -> Bool) throws {
        try diff(a.map { ValuePath.Target.value($0) }, b.map { ValuePath.Target.value($0) }, path: path, body)
    }

    private static func walk(_ a: Value?, _ b: Value?, path: ValuePath, depth: Int, _ body: (Change) throws -> Bool) throws -> Bool {
        let tableA: Table? = if case .table(let t)? = a { t } else { nil }
        let tableB: Table? = if case .table(let t)? = b { t } else { nil }
        // A table against a table, or added or removed whole: row by row.
        if (tableA != nil || a == nil) && (tableB != nil || b == nil) && (tableA != nil || tableB != nil) {
            return try tableDiff(tableA, tableB, prefix: [], path: path, body)
        }
        // Above the entry level, a Map added or removed whole is reported entry by entry.
        if depth >= 1 && depth < structuralDepth - 1, a == nil || b == nil, case .map(let m)? = a ?? b {
            var go = true
            try m.forEach { k, v in
                go = try walk(a == nil ? nil : v, a == nil ? v : nil, path: path.appending(try k.segmentText()), depth: depth + 1, body)
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
            if case .map(let mx) = x, case .map(let my) = y, depth < structuralDepth {
                var go = true
                try mx.diff(to: my) { d in
                    go = try walk(d.old, d.new, path: path.appending(try d.key.segmentText()), depth: depth + 1, body)
                    return go
                }
                return go
            }
            return try body(Change(path: path, op: .modify, old: x, new: y))
        }
    }

    /// The changes between two tables (either may be absent) at `path`, for the rows whose key
    /// starts with `prefix`.
    static func tableDiff(_ a: Table?, _ b: Table?, prefix: [Value], path: ValuePath, _ body: (Change) throws -> Bool) throws -> Bool {
        if let a, let b, prefix.isEmpty, a.schema != b.schema {
            let c = Change(path: path, op: .modify, old: try schemaValue(a), new: try schemaValue(b), isSchema: true,
                           summary: schemaSummary(a.schema, b.schema))
            if try !body(c) { return false }
        }
        func rowPath(_ t: Table, _ key: [UInt8]) throws -> ValuePath {
            try ValuePath(segments: path.segments + t.decodeKey(key).map { try $0.segmentText() })
        }
        func rowValue(_ t: Table, _ key: [UInt8], _ row: [UInt8]) throws -> Value {
            .map(try t.rowMap(key: t.decodeKey(key), cells: t.decodeRow(row)))
        }
        guard let a, let b else {
            let t = (a ?? b)!
            var go = true
            try t.forEachRow(under: prefix) { k, r in
                let key = Array(k), v = try rowValue(t, key, Array(r))
                go = try body(Change(path: try rowPath(t, key), op: a == nil ? .add : .remove, old: a == nil ? nil : v,
                                     new: a == nil ? v : nil))
                return go
            }
            return go
        }
        let wanted = try prefix.map { try $0.encoded(store: a.store) }
        var go = true
        try a.rows.diffEncoded(to: b.rows) { d in
            if !wanted.isEmpty {
                let parts = d.key.withUnsafeBytes { k in Table.keyElements(k, columns: (d.new == nil ? a : b).schema.key.count).map { Array($0) } }
                guard parts.count >= wanted.count, zip(parts, wanted).allSatisfy({ $0 == $1 }) else { return true }
            }
            switch d.op {
            case .add:
                go = try body(Change(path: try rowPath(b, d.key), op: .add, old: nil, new: try rowValue(b, d.key, d.new!)))
            case .remove:
                go = try body(Change(path: try rowPath(a, d.key), op: .remove, old: try rowValue(a, d.key, d.old!), new: nil))
            case .modify:
                go = try cellChanges(a, b, key: d.key, old: d.old!, new: d.new!, path: try rowPath(b, d.key), body)
            }
            return go
        }
        return go
    }

    /// The cells that differ between two versions of a row, compared by column id.
    private static func cellChanges(_ a: Table, _ b: Table, key: [UInt8], old: [UInt8], new: [UInt8], path: ValuePath,
                                    _ body: (Change) throws -> Bool) throws -> Bool {
        let x = try a.decodeRow(old), y = try b.decodeRow(new)
        var ids = b.schema.columns.filter { !$0.isKey }.map(\.id)
        for c in a.schema.columns where !c.isKey && b.schema.column(id: c.id) == nil { ids.append(c.id) }
        for id in ids {
            let ca = a.schema.column(id: id), cb = b.schema.column(id: id)
            let va = ca?.slot.flatMap { $0 < x.count ? x[$0] : nil }
            let vb = cb?.slot.flatMap { $0 < y.count ? y[$0] : nil }
            if va == vb { continue }
            let p = path.appending((cb ?? ca)!.name)
            let c: Change = switch (va, vb) {
            case (nil, let n?): Change(path: p, op: .add, old: nil, new: n)
            case (let o?, nil): Change(path: p, op: .remove, old: o, new: nil)
            default: Change(path: p, op: .modify, old: va, new: vb)
            }
            if try !body(c) { return false }
        }
        return true
    }

    /// Rows added, removed and modified from `a` to `b` under a key prefix. A row counts as
    /// modified only when a cell differs by column id (not when a schema change re-encoded it).
    static func countRows(_ a: Table, _ b: Table, prefix: [Value]) throws -> ChangeCounts {
        var c = ChangeCounts()
        let wanted = try prefix.map { try $0.encoded(store: a.store) }
        let none = ValuePath(segments: [])
        try a.rows.diffEncoded(to: b.rows) { d in
            if !wanted.isEmpty {
                let parts = d.key.withUnsafeBytes { k in Table.keyElements(k, columns: (d.new == nil ? a : b).schema.key.count).map { Array($0) } }
                guard parts.count >= wanted.count, zip(parts, wanted).allSatisfy({ $0 == $1 }) else { return true }
            }
            switch d.op {
            case .add: c.added += 1
            case .remove: c.removed += 1
            case .modify:
                var differs = false
                _ = try cellChanges(a, b, key: d.key, old: d.old!, new: d.new!, path: none) { _ in differs = true; return false }
                if differs { c.modified += 1 }
            }
            return true
        }
        return c
    }

    /// What `stat` counts for what a path names below a top-level name: the rows under a key
    /// prefix or one row of a table, else 1 in the one that applies.
    public static func stat(_ a: ValuePath.Target?, _ b: ValuePath.Target?) throws -> ChangeCounts {
        func rows(_ t: ValuePath.Target?) -> (Table, [Value])? {
            switch t {
            case .rows(let table, let prefix)?: return (table, prefix)
            case .row(let table, let key, _)?: return (table, key)
            default: return nil
            }
        }
        var c = ChangeCounts()
        if let x = rows(a) ?? rows(b) {
            let empty = try Table.empty(schema: x.0.schema, store: x.0.store)
            return try countRows(rows(a)?.0 ?? empty, rows(b)?.0 ?? empty, prefix: x.1)
        }
        func value(_ t: ValuePath.Target?) -> Value? { if case .value(let v)? = t { v } else { nil } }
        switch (value(a), value(b)) {
        case (nil, nil): break
        case (nil, _): c.added = 1
        case (_, nil): c.removed = 1
        case let (x?, y?): if x != y { c.modified = 1 }
        }
        return c
    }

    /// A schema change in words, columns matched by id.
    public static func schemaSummary(_ a: Schema, _ b: Schema) -> String {
        var parts: [String] = []
        for c in b.columns {
            if let old = a.column(id: c.id) {
                if old.name != c.name { parts.append("renamed \(old.name) to \(c.name)") }
            } else {
                parts.append("added \(c.name)")
            }
        }
        for c in a.columns where b.column(id: c.id) == nil { parts.append("dropped \(c.name)") }
        let kept = { (s: Schema, other: Schema) in s.columns.filter { other.column(id: $0.id) != nil }.map(\.id) }
        if kept(a, b) != kept(b, a) { parts.append("columns moved") }
        if a.key != b.key { parts.append("key changed to " + b.keyColumns.map(\.name).joined(separator: ",")) }
        if a.format != b.format || a.null != b.null || a.infer != b.infer { parts.append("import options changed") }
        return parts.isEmpty ? "changed" : parts.joined(separator: "; ")
    }

    /// A schema as a value, for diffs: `{"columns": [{"name", "id"}...], "key": [names]}`, the
    /// shape of `cairn schema --json`.
    public static func schemaValue(_ t: Table) throws -> Value {
        let store = t.store
        let columns = try t.schema.columns.map { c -> Value in
            .map(try ProllyMap.build([(.string("name"), .string(c.name)), (.string("id"), .string(columnIDText(c.id)))], store: store))
        }
        return .map(try ProllyMap.build([
            (.string("columns"), .list(try ProllyList.build(columns, store: store))),
            (.string("key"), .list(try ProllyList.build(t.schema.keyColumns.map { .string($0.name) }, store: store))),
        ], store: store))
    }

    /// A column id as users see it: 16 hex digits.
    public static func columnIDText(_ id: UInt64) -> String {
        let hex = String(id, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Per top-level name, what changed from `a` to `b`: rows added, removed and modified for
    /// a table, or 1 in the one that applies for any other value, a JSON document included.
    public static func stat(_ a: ProllyMap, _ b: ProllyMap) throws -> [(name: String, counts: ChangeCounts)] {
        var out: [(name: String, counts: ChangeCounts)] = []
        try a.diff(to: b) { d in
            let name = try d.key.segmentText()
            var c = ChangeCounts()
            let ta: Table? = if case .table(let t)? = d.old { t } else { nil }
            let tb: Table? = if case .table(let t)? = d.new { t } else { nil }
            if (ta != nil || d.old == nil) && (tb != nil || d.new == nil) {
                if let ta, let tb {
                    c = try countRows(ta, tb, prefix: [])
                } else if let tb {
                    c.added = Int(tb.count)
                } else if let ta {
                    c.removed = Int(ta.count)
                }
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
}
