import CairnStore
import CairnValues
import CairnTables

/// A JSON Pointer (RFC 6901) into the root value: `/people/k00000001/name`. `""` is the whole
/// root; `/` is the key that is the empty string.
public struct ValuePath: Sendable, Equatable, CustomStringConvertible {
    public let segments: [String]

    public init(segments: [String]) { self.segments = segments }

    /// Parses a pointer: `~1` is `/`, `~0` is `~`, any other `~` is malformed.
    public init(parsing text: String) throws {
        if text.isEmpty {
            segments = []
            return
        }
        guard text.hasPrefix("/") else { throw RepositoryError.badPath(text, reason: "a path starts with '/'") }
        var out: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var seg = ""
            var it = raw.makeIterator()
            while let c = it.next() {
                if c == "~" {
                    switch it.next() {
                    case "0": seg.append("~")
                    case "1": seg.append("/")
                    default: throw RepositoryError.badPath(text, reason: "'~' must be followed by 0 or 1")
                    }
                } else {
                    seg.append(c)
                }
            }
            out.append(seg)
        }
        segments = out
    }

    public var description: String {
        segments.map { "/" + Self.escape($0) }.joined()
    }

    /// A segment as written in a pointer: `~` as `~0`, `/` as `~1`.
    public static func escape(_ segment: String) -> String {
        var out = ""
        for c in segment {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.append(c)
            }
        }
        return out
    }

    public func appending(_ segment: String) -> ValuePath { ValuePath(segments: segments + [segment]) }

    /// The key a segment names in a map: the String key if present, else an Int key written
    /// in canonical decimal, else a Float key written as it prints.
    static func mapKey(_ segment: String, in map: ProllyMap) throws -> Value? {
        if try map.contains(.string(segment)) { return .string(segment) }
        if let i = Int64(segment), String(i) == segment, try map.contains(.int(i)) { return .int(i) }
        if let d = Double(segment), d.isFinite, d.description == segment, try map.contains(.float(d)) { return .float(d) }
        return nil
    }

    /// What a path names under a root.
    public enum Target: Sendable {
        /// A value: anything that is not inside a table, a whole table, or a cell or what is
        /// inside one.
        case value(Value)
        /// The rows of `table` whose key starts with `prefix` (a key prefix, fewer segments
        /// than key columns).
        case rows(Table, prefix: [Value])
        /// One row, by its key.
        case row(Table, key: [Value], cells: [Value?])
    }

    /// What this path names under `root`, or nil when a segment does not exist.
    public func target(in root: Value) throws -> Target? {
        var current = root
        var i = 0
        while i < segments.count {
            let seg = segments[i]
            switch current {
            case .table(let t):
                let n = t.schema.key.count
                let keySegs = Array(segments[i..<min(segments.count, i + n)])
                guard let key = try Self.tableKey(keySegs, in: t) else { return nil }
                if key.count < n {
                    // A key prefix names something only while some row is under it.
                    return try t.count(under: key, limit: 1) > 0 ? .rows(t, prefix: key) : nil
                }
                guard let cells = try t.row(key: key) else { return nil }
                i += n
                if i == segments.count { return .row(t, key: key, cells: cells) }
                // A column of the row.
                guard let c = t.schema.column(named: segments[i]) else { return nil }
                if let slot = c.slot {
                    guard slot < cells.count, let v = cells[slot] else { return nil }
                    current = v
                } else {
                    current = key[t.schema.key.firstIndex(of: c.id)!]
                }
                i += 1
                continue
            case .map(let m):
                guard let k = try Self.mapKey(seg, in: m), let v = try m.get(k) else { return nil }
                current = v
            case .list(let l):
                guard let idx = UInt64(seg), String(idx) == seg, idx < l.count else { return nil }
                current = try l.element(at: idx)
            case .struct where LWW.stamp(of: current) != nil:
                // A last-writer-wins register is seen through: paths name what it holds.
                current = LWW.plain(current)
                continue
            case .struct(let s):
                guard let v = s[seg] else { return nil }
                current = v
            default:
                return nil
            }
            i += 1
        }
        return .value(current)
    }

    /// The value at this path under `root` (a row as a Map from column name to value), or nil
    /// when a segment does not exist or the path names a key prefix of a table.
    public func resolve(in root: Value) throws -> Value? {
        switch try target(in: root) {
        case .value(let v)?: return v
        case .row(let t, let key, let cells)?: return .map(try t.rowMap(key: key, cells: cells))
        case .rows?, nil: return nil
        }
    }

    /// The key values that `segments` (at most one per key column) name in table `t`: each
    /// typed as an imported cell would be, or, where no row has that, the segment's text.
    static func tableKey(_ segments: [String], in t: Table) throws -> [Value]? {
        var key: [Value] = []
        for seg in segments {
            let typed = typedCell(seg, infer: t.schema.infer)
            if case .string = typed {
                key.append(typed)
            } else if try t.count(under: key + [typed], limit: 1) > 0 {
                key.append(typed)
            } else if try t.count(under: key + [.string(seg)], limit: 1) > 0 {
                key.append(.string(seg))
            } else {
                key.append(typed)
            }
        }
        return key
    }

    /// The key a new row at these segments gets: each typed as an imported cell would be.
    static func newRowKey(_ segments: [String], in t: Table) -> [Value] {
        segments.map { typedCell($0, infer: t.schema.infer) }
    }
}
