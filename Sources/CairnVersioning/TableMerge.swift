import CairnStore
import CairnValues

/// Tables merge row by row by key and cell by cell by column id (docs/merging.md, "Tables").
extension ThreeWayMerge {
    mutating func mergeTable(_ b: Table, _ o: Table, _ t: Table, path: [String]) throws -> Value? {
        guard let schema = SchemaMerge.merge(b.schema, o.schema, t.schema) else {
            // A change of the key columns, a rename to different names on both sides, or
            // different import options: the whole table is one conflict.
            return conflict(.table(b), .table(o), .table(t), path: path)
        }
        let before = conflicts.count
        var pass = try TableRowsMerge(base: b, ours: o, theirs: t, schema: schema, retained: [], path: path)
        var rows = try pass.run(&self)
        if !pass.droppedButChanged.isEmpty {
            // Theirs dropped a column in which ours changed cells: the column stays, holding
            // ours' cells, and each such cell is a conflict. Merge again with it kept.
            conflicts.removeSubrange(before...)
            let kept = SchemaMerge.retaining(pass.droppedButChanged, from: o.schema, in: schema)
            pass = try TableRowsMerge(base: b, ours: o, theirs: t, schema: kept, retained: pass.droppedButChanged, path: path)
            rows = try pass.run(&self)
        }
        return .table(Table(schema: pass.merged.schema, rows: rows))
    }
}

/// The merge of three schemas, columns matched by id.
enum SchemaMerge {
    /// The merged schema; nil when it is a conflict.
    ///
    /// A change of the key columns on either side is a conflict. Otherwise one side's change
    /// wins, and when both changed: a column
    /// dropped on either side is dropped; renamed on one side takes that name, on both to
    /// different names is a conflict; columns added on either side (the same id on both is one
    /// column) come after the kept ones, in column-id order. Kept columns keep the base's slot,
    /// added ones take slots after the base's in id order, so the result does not depend on
    /// which side is ours. The kept columns are in the order of the side that moved them, or
    /// in the base's when both did, differently.
    static func merge(_ b: Schema, _ o: Schema, _ t: Schema) -> Schema? {
        if o == t { return o }
        // Rows keyed differently cannot be matched: a key change is a conflict even when the
        // other side changed only rows.
        guard o.key == b.key, t.key == b.key else { return nil }
        if b == o { return t }
        if b == t { return o }
        func pick<T: Equatable>(_ x: T, _ y: T, _ z: T) -> T? { y == z ? y : (x == y ? z : (x == z ? y : nil)) }
        guard let format = pick(b.format, o.format, t.format), let null = pick(b.null, o.null, t.null),
              let infer = pick(b.infer, o.infer, t.infer) else { return nil }
        var kept: [Schema.Column] = []
        for c in b.columns {
            guard let x = o.column(id: c.id), let y = t.column(id: c.id) else { continue }
            guard let name = pick(c.name, x.name, y.name) else { return nil }
            kept.append(Schema.Column(name: name, id: c.id, slot: c.slot))
        }
        func order(_ s: Schema) -> [UInt64] { s.columns.map(\.id).filter { id in kept.contains { $0.id == id } } }
        let keptIDs = kept.map(\.id)
        // One side's reordering wins; both reordering differently keeps the base's order, so
        // the result does not depend on which side is ours.
        let oo = order(o), ot = order(t)
        let ordered = oo == keptIDs ? ot : (ot == keptIDs || ot == oo ? oo : keptIDs)
        var columns = ordered.map { id in kept.first { $0.id == id }! }
        var added: [UInt64: String] = [:]
        for s in [o, t] {
            for c in s.columns where b.column(id: c.id) == nil {
                if let n = added[c.id], n != c.name { return nil }
                added[c.id] = c.name
            }
        }
        var slot = b.slotCount
        for (id, name) in added.sorted(by: { $0.key < $1.key }) {
            columns.append(Schema.Column(name: name, id: id, slot: slot))
            slot += 1
        }
        guard Set(columns.map(\.name)).count == columns.count else { return nil }
        return Schema(columns: columns, key: b.key, format: format, null: null, infer: infer)
    }

    /// `schema` with the columns `ids` of `ours` put back, after the others, in id order.
    static func retaining(_ ids: Set<UInt64>, from ours: Schema, in schema: Schema) -> Schema {
        var columns = schema.columns
        var slot = schema.slotCount
        for id in ids.sorted() {
            guard let c = ours.column(id: id), schema.column(id: id) == nil, schema.column(named: c.name) == nil else { continue }
            columns.append(Schema.Column(name: c.name, id: id, slot: slot))
            slot += 1
        }
        return Schema(columns: columns, key: schema.key, format: schema.format, null: schema.null, infer: schema.infer)
    }
}

/// One pass of a table's rows through the merge: the two diffs of rows, side by side.
struct TableRowsMerge {
    let base: Table, ours: Table, theirs: Table
    /// An empty table with the merged schema: it encodes the merged rows.
    let merged: Table
    let path: [String]
    /// Columns of ours that theirs dropped, kept because ours changed cells in them.
    let retained: Set<UInt64>
    /// Whether a side's rows are already in the merged layout (every column at the same slot).
    let oursInLayout: Bool, theirsInLayout: Bool
    /// Columns theirs dropped in which ours changed a cell (found by this pass).
    var droppedButChanged: Set<UInt64> = []

    init(base: Table, ours: Table, theirs: Table, schema: Schema, retained: Set<UInt64>, path: [String]) throws {
        self.base = base
        self.ours = ours
        self.theirs = theirs
        merged = try Table.empty(schema: schema, store: ours.store)
        self.path = path
        self.retained = retained
        func inLayout(_ s: Schema) -> Bool {
            s.columns.allSatisfy { c in c.isKey || schema.column(id: c.id)?.slot == c.slot }
        }
        oursInLayout = inLayout(ours.schema)
        theirsInLayout = inLayout(theirs.schema)
    }

    /// The merged rows tree: ours' rows with theirs' changes applied.
    mutating func run(_ m: inout ThreeWayMerge) throws -> ProllyMap {
        if oursInLayout && theirsInLayout && retained.isEmpty {
            // Both sides' rows are in the merged layout (always so when the schemas agree):
            // only theirs' changes are read, and runs of leaves only theirs changed are linked
            // in by hash.
            return try TreeMerge.apply(base: base.rows, ours: ours.rows, theirs: theirs.rows) { key, rb, ro, rt in
                if ro == rt, ro == nil || !m.countersCombine(encoded: ro!, under: path) { return .keep }
                if ro == rb {
                    guard let rt else { return .remove }
                    return .set(rt, refs: try EncodedView.refs(rt))
                }
                guard let e = try row(&m, key: key, base: rb, ours: ro, theirs: rt) else { return .keep }
                guard let v = e.value else { return .remove }
                return .set(v, refs: e.refs)
            }
        }
        return try streamBoth(&m)
    }

    /// The general case: a side's rows change layout, so both sides' changes are streamed.
    private mutating func streamBoth(_ m: inout ThreeWayMerge) throws -> ProllyMap {
        var io = base.rows.diffIterator(to: ours.rows)
        var it = base.rows.diffIterator(to: theirs.rows)
        var result = ours.rows
        var edits: [(key: [UInt8], value: [UInt8]?, refs: [Hash])] = []
        var dO = try io.next(), dT = try it.next()
        // Ours' own changes need not be read when its rows are in the merged layout: after a
        // run of them, the ours diff jumps to theirs' next key, and it stops with theirs.
        var oursRun = 0
        while dO != nil || dT != nil {
            // (With columns retained for ours' conflicting cells, ours' rows are all visited.)
            let skipOurs = oursInLayout && retained.isEmpty
            if skipOurs && dT == nil { break }
            let order: Int = switch (dO, dT) {
            case let (x?, y?): KeyOrder.compare(x.key, y.key)
            case (nil, _): 1
            case (_, nil): -1
            }
            if order < 0 {
                // Only ours changed the row: it stands, unless its layout must change.
                let x = dO!
                if skipOurs {
                    oursRun += 1
                    if oursRun >= 16, let y = dT {
                        try io.skip(to: y.key)
                        oursRun = 0
                    }
                    dO = try io.next()
                    continue
                }
                dO = try io.next()
                if let e = try row(&m, key: x.key, base: x.old, ours: x.new, theirs: x.old) { edits.append(e) }
            } else if order > 0 {
                oursRun = 0
                let y = dT!
                dT = try it.next()
                if theirsInLayout {
                    // Only theirs changed the row, and its bytes fit: taken as they are.
                    edits.append((y.key, y.new, try y.new.map { try EncodedView.refs($0) } ?? []))
                } else if let e = try row(&m, key: y.key, base: y.old, ours: y.old, theirs: y.new) {
                    edits.append(e)
                }
            } else {
                let x = dO!, y = dT!
                dO = try io.next()
                dT = try it.next()
                if x.new == y.new && oursInLayout, x.new == nil || !m.countersCombine(encoded: x.new!, under: path) { continue }
                if let e = try row(&m, key: x.key, base: x.old, ours: x.new, theirs: y.new) { edits.append(e) }
            }
            if edits.count >= 4096 {
                result = try result.editingEncoded(edits)
                edits.removeAll(keepingCapacity: true)
            }
        }
        return edits.isEmpty ? result : try result.editingEncoded(edits)
    }

    /// A row's cells by column id (key columns left out); nil for no row.
    private func cells(_ bytes: [UInt8]?, _ t: Table) throws -> [UInt64: Value]? {
        guard let bytes else { return nil }
        let slots = try t.decodeRow(bytes)
        var out: [UInt64: Value] = [:]
        for c in t.schema.columns {
            if let s = c.slot, s < slots.count, let v = slots[s] { out[c.id] = v }
        }
        return out
    }

    /// The merged row at `key` as an edit of the result (nil: the result already holds it).
    private mutating func row(_ m: inout ThreeWayMerge, key: [UInt8], base rb: [UInt8]?, ours ro: [UInt8]?,
                              theirs rt: [UInt8]?) throws -> (key: [UInt8], value: [UInt8]?, refs: [Hash])? {
        let cb = try cells(rb, base), co = try cells(ro, ours), ct = try cells(rt, theirs)
        let keyValues = try base.decodeKey(key)
        let rowPath = path + (try keyValues.map { try $0.segmentText() })
        var result: [UInt64: Value]?
        if cb == nil || co == nil || ct == nil {
            // A row added or removed on a side: the row is one value. Each side's row is compared
            // with the base's as that side sees it, so a column one side dropped is no change
            // of its rows (a drop against a deleted row is no conflict).
            func seen(_ row: [UInt64: Value]?, by t: Table) -> [UInt64: Value]? { row?.filter { t.schema.column(id: $0.key) != nil } }
            if co == ct { result = co } else if seen(cb, by: ours) == co { result = ct } else if seen(cb, by: theirs) == ct { result = co } else {
                result = try settleRow(&m, m.rules.rule(for: rowPath), cb, co, ct, key: keyValues, path: rowPath)
            }
            // A cell in a column the merged schema does not keep (one side dropped it) that the
            // other side added or changed with its row: a conflict, never a silent loss.
            if let r = result {
                for (id, v) in r.sorted(by: { $0.key < $1.key })
                where (merged.schema.column(id: id) == nil || retained.contains(id)) && cb?[id] != v {
                    let name = (ours.schema.column(id: id) ?? theirs.schema.column(id: id) ?? base.schema.column(id: id))!.name
                    _ = m.conflict(cb?[id], co?[id], ct?[id], path: rowPath + [name])
                    if co?[id] == v && ours.schema.column(id: id) != nil && theirs.schema.column(id: id) == nil {
                        droppedButChanged.insert(id)
                    }
                }
            }
        } else if co != ct, let rule = m.rules.rule(for: rowPath), rule == .ours || rule == .theirs || rule == .conflict {
            // A rule for the whole row decides it, as for any value.
            result = try settleRow(&m, rule, cb, co, ct, key: keyValues, path: rowPath)
        } else {
            let cb = cb!, co = co!, ct = ct!
            var ids: [UInt64] = merged.schema.columns.filter { !$0.isKey }.map(\.id)
            for id in Set(cb.keys).union(co.keys).union(ct.keys) where merged.schema.column(id: id) == nil { ids.append(id) }
            var out: [UInt64: Value] = [:]
            for id in ids {
                let name = (merged.schema.column(id: id) ?? ours.schema.column(id: id) ?? theirs.schema.column(id: id)
                    ?? base.schema.column(id: id))!.name
                let before = m.conflicts.count
                let v = try m.mergeValue(cb[id], co[id], ct[id], path: rowPath + [name])
                let inMerged = merged.schema.column(id: id) != nil
                if retained.contains(id) || !inMerged {
                    // A column one side dropped while the other changed the cell: a conflict.
                    if v != nil && m.conflicts.count == before {
                        _ = m.conflict(cb[id], co[id], ct[id], path: rowPath + [name])
                    }
                    if !inMerged {
                        if v != nil && ours.schema.column(id: id) != nil && theirs.schema.column(id: id) == nil {
                            droppedButChanged.insert(id)
                        }
                        continue
                    }
                }
                if let v { out[id] = v }
            }
            result = out
        }
        guard let result else {
            return ro == nil && oursInLayout ? nil : (key, nil, [])
        }
        var slots = [Value?](repeating: nil, count: merged.schema.slotCount)
        for (id, v) in result {
            if let s = merged.schema.column(id: id)?.slot { slots[s] = v }
        }
        let (bytes, refs) = try merged.encodeRow(slots)
        if oursInLayout && bytes == ro { return nil }
        let (_, keyRefs) = try merged.key(keyValues).encodedWithRefs(store: merged.store)
        return (key, bytes, keyRefs + refs)
    }

    /// A row both sides changed as a whole, settled by the rule for its path: ours, theirs, or
    /// else a conflict (which the strategy may settle).
    private func settleRow(_ m: inout ThreeWayMerge, _ rule: MergeRule?, _ cb: [UInt64: Value]?, _ co: [UInt64: Value]?,
                           _ ct: [UInt64: Value]?, key: [Value], path: [String]) throws -> [UInt64: Value]? {
        switch rule {
        case .ours?: return co
        case .theirs?: return ct
        default:
            let sides = (try rowValue(cb, base, key), try rowValue(co, ours, key), try rowValue(ct, theirs, key))
            switch m.settle(sides.0, sides.1, sides.2, path: path) {
            case .base: return cb
            case .ours: return co
            case .theirs: return ct
            }
        }
    }

    /// A row as users see it (a Map from column name to value), for a conflict's sides.
    private func rowValue(_ cells: [UInt64: Value]?, _ t: Table, _ key: [Value]) throws -> Value? {
        guard let cells else { return nil }
        var slots = [Value?](repeating: nil, count: t.schema.slotCount)
        for (id, v) in cells { if let s = t.schema.column(id: id)?.slot { slots[s] = v } }
        return .map(try t.rowMap(key: key, cells: slots))
    }
}
