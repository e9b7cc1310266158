import CairnStore
import CairnValues
import CairnTables
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Repository {
    /// Sets (or, with nil, removes) the value at `path` in the working set. The last segment
    /// is created if missing; the ones before it must exist. In a table, a path of one segment
    /// per key column names a row (set from a JSON object, new fields adding columns), one more
    /// segment a cell (a new column is added to the schema); a key prefix selects rows for
    /// removal. A row's key columns cannot be changed.
    ///
    /// Under a path whose merge rule is `lww`, the value is stored with its stamp (``LWW``).
    public func edit(at path: ValuePath, value: Value?) throws {
        try retryingConcurrentUpdates {
            guard !path.segments.isEmpty else { throw RepositoryError.badPath(path.description, reason: "it names the whole root") }
            if path.segments[0].hasPrefix(".") { throw RepositoryError.reservedName(path.segments[0]) }
            let before = try workingRoot()
            var value = value
            // (Rules that do not parse stamp nothing here; merge reports them.)
            if let v = value, (try? MergeRules(try before.get(.string(MergeRules.rootName))))?.rule(for: path.segments) == .lww,
               try !isRowPath(path, in: before) {
                value = LWW.stamped(v, try writeStamp())
            }
            try setWorkingRoot(try editedRoot(before, at: path, value: value, allowMissing: false), expected: before)
        }
    }

    /// Whether `path` names a row of a top-level table (rows are not values a register can
    /// hold: an `lww` rule there applies to nothing).
    private func isRowPath(_ path: ValuePath, in root: ProllyMap) throws -> Bool {
        guard case .table(let t)? = try root.get(.string(path.segments[0])) else { return false }
        return path.segments.count == 1 + t.schema.key.count
    }

    /// `root` with the value at `path` set (or removed, with nil). Reserved names are allowed
    /// here (`resolve` settles conflicts in `.rules`); `allowMissing` makes the removal of an
    /// absent value a no-op.
    func editedRoot(_ root: ProllyMap, at path: ValuePath, value: Value?, allowMissing: Bool) throws -> ProllyMap {
        guard !path.segments.isEmpty else { throw RepositoryError.badPath(path.description, reason: "it names the whole root") }
        if let value {
            // Nothing is written that the store would not read back: the value, under as many
            // levels as its path has, must stay within the nesting limit.
            guard try value.fitsNesting(under: path.segments.count, store: store) else { throw ValueError.tooDeep }
        }
        do {
            guard case .map(let newRoot) = try edited(.map(root), path: path, depth: 0, value: value) else {
                throw RepositoryError.noSuchPath(path.description)
            }
            return newRoot
        } catch RepositoryError.noSuchPath(let p) {
            if allowMissing && value == nil { return root }
            throw RepositoryError.noSuchPath(p)
        }
    }

    /// The stamp of a write under an `lww` rule: the time in nanoseconds, and this store's
    /// replica id (a local setting, made on first use).
    func writeStamp() throws -> LWW.Stamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let replica: String
        if let r = try chunks.setting("core.replica") { replica = r } else {
            var g = SystemRandomNumberGenerator()
            let hex = String(g.next() as UInt64, radix: 16)
            replica = String(repeating: "0", count: 16 - hex.count) + hex
            try chunks.setSetting("core.replica", replica)
        }
        return LWW.Stamp(time: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec), replica: replica)
    }

    private func edited(_ container: Value, path: ValuePath, depth: Int, value: Value?) throws -> Value {
        let seg = path.segments[depth]
        let last = depth == path.segments.count - 1
        switch container {
        case .struct where LWW.stamp(of: container) != nil:
            // A write under a last-writer-wins register is a new write of the register.
            return LWW.stamped(try edited(LWW.plain(container), path: path, depth: depth, value: value), try writeStamp())
        case .table(let t):
            return .table(try editedTable(t, path: path, depth: depth, value: value))
        case .map(let m):
            let existing = try ValuePath.mapKey(seg, in: m)
            if last {
                if let value { return .map(try m.setting(existing ?? .string(seg), to: value)) }
                guard let k = existing else { throw RepositoryError.noSuchPath(path.description) }
                return .map(try m.removing(k))
            }
            guard let k = existing, let child = try m.get(k) else { throw RepositoryError.noSuchPath(path.description) }
            return .map(try m.setting(k, to: try edited(child, path: path, depth: depth + 1, value: value)))
        case .list(let l):
            guard let i = UInt64(seg), String(i) == seg, i < l.count || (last && value != nil && i == l.count) else {
                throw RepositoryError.noSuchPath(path.description)
            }
            if last {
                if let value { return .list(i == l.count ? try l.appending(value) : try l.setting(value, at: i)) }
                return .list(try l.removing(at: i))
            }
            return .list(try l.setting(try edited(l.element(at: i), path: path, depth: depth + 1, value: value), at: i))
        case .struct(let st):
            // A Struct's fields, as `show` names them (a struct keeps its name).
            var fields = st.fields.map { ($0.name, $0.value) }
            let i = fields.firstIndex { $0.0 == seg }
            if last {
                if let value {
                    if let i { fields[i].1 = value } else { fields.append((seg, value)) }
                } else {
                    guard let i else { throw RepositoryError.noSuchPath(path.description) }
                    fields.remove(at: i)
                }
            } else {
                guard let i else { throw RepositoryError.noSuchPath(path.description) }
                fields[i].1 = try edited(fields[i].1, path: path, depth: depth + 1, value: value)
            }
            return .struct(StructValue(name: st.name, fields: fields))
        default:
            throw RepositoryError.noSuchPath(path.description)
        }
    }

    /// An edit inside table `t`, whose path continues at `depth`.
    private func editedTable(_ t: Table, path: ValuePath, depth: Int, value: Value?) throws -> Table {
        let n = t.schema.key.count
        let rest = Array(path.segments[depth...])
        let p = path.description
        if rest.count < n {
            guard value == nil else {
                throw RepositoryError.badRow(p, reason: "a row's path has one segment per key column (\(n): "
                    + t.schema.keyColumns.map(\.name).joined(separator: ", ") + ")")
            }
            guard let prefix = try ValuePath.tableKey(rest, in: t) else { throw RepositoryError.noSuchPath(p) }
            var removals: [(key: [Value], cells: [Value?]?)] = []
            try t.forEachRow(under: prefix) { k, _ in
                removals.append((try t.decodeKey(Array(k)), nil))
                return true
            }
            guard !removals.isEmpty else { throw RepositoryError.noSuchPath(p) }
            return try t.editing(removals)
        }
        let keySegs = Array(rest[0..<n])
        let foundKey = try ValuePath.tableKey(keySegs, in: t)
        let existing = try foundKey.flatMap { try t.row(key: $0) }
        let key = existing != nil ? foundKey! : ValuePath.newRowKey(keySegs, in: t)
        if rest.count == n {
            guard let value else {
                guard existing != nil else { throw RepositoryError.noSuchPath(p) }
                return try t.editing([(key, nil)])
            }
            guard case .map(let object) = value else { throw RepositoryError.badRow(p, reason: "a row is a JSON object") }
            var schema = t.schema
            var cells: [Value?] = []
            var error: Error?
            try object.forEach { k, v in
                guard case .string(let name) = k else {
                    error = RepositoryError.badRow(p, reason: "its field names must be strings")
                    return false
                }
                if let c = schema.column(named: name), c.isKey {
                    let i = schema.key.firstIndex(of: c.id)!
                    if v != key[i] { error = RepositoryError.keyColumn(path: p, column: name); return false }
                    return true
                }
                let c = try schema.column(named: name) ?? schema.addColumn(name)
                let slot = c.slot!
                if cells.count <= slot { cells += Array(repeating: nil, count: slot + 1 - cells.count) }
                cells[slot] = v
                return true
            }
            if let error { throw error }
            return try t.withSchema(schema).editing([(key, cells)])
        }
        guard var cells = existing else { throw RepositoryError.noSuchPath(p) }
        let name = rest[n]
        var schema = t.schema
        if let c = schema.column(named: name), c.isKey { throw RepositoryError.keyColumn(path: p, column: name) }
        if rest.count == n + 1 {
            if let value {
                let slot = try (schema.column(named: name) ?? schema.addColumn(name)).slot!
                if cells.count <= slot { cells += Array(repeating: nil, count: slot + 1 - cells.count) }
                cells[slot] = value
            } else {
                guard let slot = schema.column(named: name)?.slot, slot < cells.count, cells[slot] != nil else {
                    throw RepositoryError.noSuchPath(p)
                }
                cells[slot] = nil
            }
            return try t.withSchema(schema).editing([(key, cells)])
        }
        guard let slot = schema.column(named: name)?.slot, slot < cells.count, let cell = cells[slot] else {
            throw RepositoryError.noSuchPath(p)
        }
        cells[slot] = try edited(cell, path: path, depth: depth + n + 1, value: value)
        return try t.editing([(key, cells)])
    }
}
