import CairnStore
import CairnValues

/// One value that both sides of a merge changed in ways no rule settles. A side that deleted
/// the value has nil there; so does the base when both sides added it.
public struct MergeConflict: Sendable, Equatable, CustomStringConvertible {
    public let path: ValuePath
    public let base: Value?
    public let ours: Value?
    public let theirs: Value?

    public init(path: ValuePath, base: Value?, ours: Value?, theirs: Value?) {
        self.path = path
        self.base = base
        self.ours = ours
        self.theirs = theirs
    }

    /// What kind of conflict it is, in words: `both modified`, `deleted by theirs`, ...
    public var kind: String {
        switch (base, ours, theirs) {
        case (nil, _, _): "both added"
        case (_, nil, _): "deleted by ours"
        case (_, _, nil): "deleted by theirs"
        default: "both modified"
        }
    }

    public var description: String { "\(path) (\(kind))" }
}

/// Settles every conflict to one side, as git's `-X ours` / `-X theirs`.
public enum MergeStrategy: String, Sendable, CaseIterable {
    case ours, theirs
}

/// What a three-way merge of two roots gives: the merged root, which holds ours' value at
/// every conflicted path, and the conflicts, in path order.
public struct MergeOutcome: Sendable {
    public let root: ProllyMap
    public let conflicts: [MergeConflict]
}

/// The structural three-way merge (docs/merging.md). It streams the two diffs base→ours and
/// base→theirs side by side in key order and applies to ours only what theirs changed, so its
/// cost grows with the changes, not with the data: what only ours changed is never read.
///
/// - A change on one side wins; equal changes agree.
/// - Both changed differently: the rule for the path (`root[".rules"]`, merged first) decides;
///   without one, maps and structs merge key by key, tables row by row and cell by cell by
///   column id, sets and counters always merge, lists merge splice by splice, and anything else
///   is a conflict (modify against delete, and both adding different values, included).
///
/// It reads no commit graph: an app can merge two replicas' roots with their base directly.
public struct ThreeWayMerge {
    public let store: NodeStore
    let strategy: MergeStrategy?
    /// In a virtual base (a criss-cross merge's merge of its bases), a conflict settles to the
    /// base's value: neither side wins, so the real merge sees both sides' changes.
    let settleToBase: Bool
    var rules = MergeRules()
    var conflicts: [MergeConflict] = []

    init(store: NodeStore, strategy: MergeStrategy?, settleToBase: Bool = false) {
        self.store = store
        self.strategy = strategy
        self.settleToBase = settleToBase
    }

    /// Merges three root values. `.rules` merges first, key by key like any map; the rules in
    /// force are that merged map. With `strategy`, every conflict settles to that side.
    ///
    /// `usingRules: false` ignores `.rules` (it still merges as a map): every value both sides
    /// changed differently is a conflict. Carrying uncommitted changes over a merge checks this
    /// way, so no rule can settle an uncommitted edit away.
    public static func merge(base: ProllyMap, ours: ProllyMap, theirs: ProllyMap,
                             strategy: MergeStrategy? = nil, usingRules: Bool = true) throws -> MergeOutcome {
        var m = ThreeWayMerge(store: ours.store, strategy: strategy)
        return try m.mergeRoots(base: base, ours: ours, theirs: theirs, usingRules: usingRules)
    }

    mutating func mergeRoots(base: ProllyMap, ours: ProllyMap, theirs: ProllyMap, usingRules: Bool = true) throws -> MergeOutcome {
        let name = Value.string(MergeRules.rootName)
        let before = conflicts.count
        let mergedRules = try mergeValue(try base.get(name), try ours.get(name), try theirs.get(name), path: [MergeRules.rootName])
        // A pattern whose rule is itself in conflict rules nothing until it is settled: the
        // values under it merge by the default, so their conflicts show too.
        var disputed = Set<[String]>()
        for c in conflicts[before...] where c.path.segments.count == 2 {
            if let p = try? MergeRules.parse(pattern: c.path.segments[1]) { disputed.insert(p) }
        }
        if !usingRules || conflicts[before...].contains(where: { $0.path.segments.count == 1 }) {
            rules = MergeRules()  // the whole rules map is in conflict
        } else {
            rules = try MergeRules(mergedRules).removing(disputed)
        }
        let root = try mergeMap(base, ours, theirs, path: [], rootRules: mergedRules)
        conflicts.sort { $0.path.description.utf8.lexicographicallyPrecedes($1.path.description.utf8) }
        return MergeOutcome(root: root, conflicts: conflicts)
    }

    // MARK: Values

    /// The merge of one value. nil: absent in the result.
    mutating func mergeValue(_ b: Value?, _ o: Value?, _ t: Value?, path: [String]) throws -> Value? {
        if o == t {
            // Equal changes agree, except counters: +5 on each side is +10 (CLI.md, Merge), and
            // both adding a counter sums them.
            guard let o, b != o else { return o }
            let combine: Bool
            if let b {
                combine = (b.kind == o.kind || o.kind == .counter) && countersCombine(o, path: path)
            } else {
                combine = o.kind == .counter || (o.kind == .int && rules.rule(for: path) == .counter)
            }
            if !combine { return o }
        }
        if b == o { return t }
        if b == t { return o }
        if let rule = rules.rule(for: path) { return try apply(rule, b, o, t, path: path) }
        return try mergeByKind(b, o, t, path: path)
    }

    /// base + (ours − base) + (theirs − base); nil when it overflows 64 bits (a conflict).
    static func counterSum(_ base: Int64, _ ours: Int64, _ theirs: Int64) -> Int64? {
        let (d1, o1) = ours.subtractingReportingOverflow(base)
        let (d2, o2) = theirs.subtractingReportingOverflow(base)
        let (s1, o3) = base.addingReportingOverflow(d1)
        let (s2, o4) = s1.addingReportingOverflow(d2)
        return o1 || o2 || o3 || o4 ? nil : s2
    }

    /// Whether equal changes on both sides to `v` at `path` must still combine, because a
    /// counter (the kind, or the `counter` rule) is at or may be under it.
    func countersCombine(_ v: Value, path: [String]) -> Bool {
        if case .counter = v { return true }
        if case .int = v, rules.rule(for: path) == .counter { return true }
        switch v {
        case .map, .struct, .table, .list:
            if rules.mayApply(.counter, under: path) { return true }
            if let bytes = try? v.encoded(store: store) { return EncodedView.mayHoldCounter(bytes) }
            return true
        default: return false
        }
    }

    /// The same test on encodings, for the tree merges' equal entries.
    func countersCombine(encoded v: [UInt8], under path: [String]) -> Bool {
        EncodedView.mayHoldCounter(v) || rules.mayApply(.counter, under: path)
    }

    private mutating func mergeByKind(_ b: Value?, _ o: Value?, _ t: Value?, path: [String]) throws -> Value? {
        switch (b, o, t) {
        // Counters and sets never conflict; both adding one starts from zero / empty.
        case let (.counter(x)?, .counter(y)?, .counter(z)?):
            guard let v = Self.counterSum(x, y, z) else { return conflict(b, o, t, path: path) }
            return .counter(v)
        case let (nil, .counter(y)?, .counter(z)?):
            guard let v = Self.counterSum(0, y, z) else { return conflict(b, o, t, path: path) }
            return .counter(v)
        case let (.set(x)?, .set(y)?, .set(z)?): return .set(try mergeSet(x, y, z))
        case let (nil, .set(y)?, .set(z)?): return .set(try mergeSet(try ProllySet.empty(store: store), y, z))
        case let (.map(x)?, .map(y)?, .map(z)?): return .map(try mergeMap(x, y, z, path: path))
        case let (.struct(x)?, .struct(y)?, .struct(z)?) where x.name == y.name && y.name == z.name:
            return try mergeStruct(x, y, z, path: path)
        case let (.list(x)?, .list(y)?, .list(z)?):
            if x.count == y.count && y.count == z.count && x.count <= UInt64(ListMerge.fineDiffLimit) && countersCombine(o!, path: path) {
                // Lists of one length that may hold counters merge element by element, so
                // each counter adds both sides' deltas.
                let xs = try x.elements(), ys = try y.elements(), zs = try z.elements()
                var out: [Value] = []
                for i in xs.indices {
                    guard let v = try mergeValue(xs[i], ys[i], zs[i], path: path + [String(i)]) else {
                        return conflict(b, o, t, path: path)
                    }
                    out.append(v)
                }
                return .list(try ProllyList.build(out, store: store))
            }
            if let merged = try ListMerge.merge(x, y, z) { return .list(merged) }
            return conflict(b, o, t, path: path)
        case let (.table(x)?, .table(y)?, .table(z)?):
            return try mergeTable(x, y, z, path: path)
        default:
            return conflict(b, o, t, path: path)
        }
    }

    enum Side { case base, ours, theirs }

    /// Records a conflict, or settles it by the strategy; says which side the result takes.
    mutating func settle(_ b: Value?, _ o: Value?, _ t: Value?, path: [String]) -> Side {
        if settleToBase { return .base }
        switch strategy {
        case .ours?: return .ours
        case .theirs?: return .theirs
        case nil:
            conflicts.append(MergeConflict(path: ValuePath(segments: path), base: b, ours: o, theirs: t))
            return .ours
        }
    }

    /// Records a conflict (or settles it) and gives what the result holds.
    mutating func conflict(_ b: Value?, _ o: Value?, _ t: Value?, path: [String]) -> Value? {
        switch settle(b, o, t, path: path) {
        case .base: b
        case .ours: o
        case .theirs: t
        }
    }

    private mutating func apply(_ rule: MergeRule, _ b: Value?, _ o: Value?, _ t: Value?, path: [String]) throws -> Value? {
        switch rule {
        case .conflict: return conflict(b, o, t, path: path)
        case .ours: return o
        case .theirs: return t
        default: break
        }
        // The other rules merge two values; a delete against a change stays a conflict.
        guard let o, let t else { return conflict(b, o, t, path: path) }
        switch rule {
        case .lww:
            return try LWW.winner(o, t, store: store)
        case .counter:
            let base: Int64?
            switch b {
            case .int(let x)?: base = x
            case nil: base = 0
            default: base = nil
            }
            guard let base, case .int(let x) = o, case .int(let y) = t else { return conflict(b, o, t, path: path) }
            guard let v = Self.counterSum(base, x, y) else { return conflict(b, o, t, path: path) }
            return .int(v)
        case .max, .min:
            let c = try Value.compare(o, t, store: store)
            return (rule == .max) == (c >= 0) ? o : t
        case .union:
            let base: ProllyList?
            switch b {
            case .list(let l)?: base = l
            case nil: base = try ProllyList.build([], store: store)
            default: base = nil
            }
            guard let base, case .list(let x) = o, case .list(let y) = t else { return conflict(b, o, t, path: path) }
            return .list(try ListMerge.union(base, x, y))
        case .text:
            let base: String?
            switch b {
            case .string(let s)?: base = s
            case nil: base = ""
            default: base = nil
            }
            guard let base, case .string(let x) = o, case .string(let y) = t,
                  let merged = TextMerge.merge(base: base, ours: x, theirs: y) else { return conflict(b, o, t, path: path) }
            return .string(merged)
        case .conflict, .ours, .theirs:
            return conflict(b, o, t, path: path)
        }
    }

    // MARK: Collections

    /// Maps merge key by key. Only the keys theirs changed are visited; runs of leaves only
    /// theirs changed are linked in by hash (``TreeMerge``). `rootRules`, at the root, is the
    /// already merged `.rules` entry.
    private mutating func mergeMap(_ b: ProllyMap, _ o: ProllyMap, _ t: ProllyMap, path: [String],
                                   rootRules: Value?? = nil) throws -> ProllyMap {
        try TreeMerge.apply(base: b, ours: o, theirs: t) { keyBytes, bv, ov, tv in
            if ov == tv, ov == nil || !countersCombine(encoded: ov!, under: path) { return .keep }
            if ov == bv {
                // Only theirs changed this key: theirs' entry, by its bytes.
                guard let tv else { return .remove }
                return .set(tv, refs: try EncodedView.refs(tv))
            }
            let key = try Value.decode(keyBytes, store: store)
            let ourValue = try ov.map { try Value.decode($0, store: store) }
            let merged: Value?
            if path.isEmpty, case .string(MergeRules.rootName) = key, let r = rootRules {
                merged = r
            } else {
                merged = try mergeValue(try bv.map { try Value.decode($0, store: store) }, ourValue,
                                        try tv.map { try Value.decode($0, store: store) }, path: path + [try key.segmentText()])
            }
            if merged == ourValue { return .keep }
            guard let merged else { return .remove }
            let (bytes, refs) = try merged.encodedWithRefs(store: store)
            return .set(bytes, refs: refs)
        }
    }

    private mutating func mergeStruct(_ b: StructValue, _ o: StructValue, _ t: StructValue, path: [String]) throws -> Value {
        var names: [String] = []
        for f in b.fields + o.fields + t.fields where !names.contains(f.name) { names.append(f.name) }
        var fields: [(String, Value)] = []
        for n in names {
            if let v = try mergeValue(b[n], o[n], t[n], path: path + [n]) { fields.append((n, v)) }
        }
        return .struct(StructValue(name: o.name, fields: fields))
    }

    /// Both sides' additions and removals: ours, plus what theirs added, minus what theirs
    /// removed.
    private func mergeSet(_ b: ProllySet, _ o: ProllySet, _ t: ProllySet) throws -> ProllySet {
        var edits: [(Value, Bool)] = []
        try b.diff(to: t) { op, e in
            edits.append((e, op == .add))
            return true
        }
        return try o.editing(edits)
    }
}
