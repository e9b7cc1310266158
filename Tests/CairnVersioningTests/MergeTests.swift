import CairnStore
@testable import CairnValues
import CairnTables
@testable import CairnVersioning
import Foundation
import Testing

/// A nested dictionary with Int leaves: the in-memory model the structural merge is checked
/// against.
indirect enum Doc: Equatable {
    case int(Int64)
    case dict([String: Doc])

    func value(_ store: NodeStore) throws -> Value {
        switch self {
        case .int(let i): return .int(i)
        case .dict(let d): return .map(try ProllyMap.build(try d.map { (Value.string($0.key), try $0.value.value(store)) }, store: store))
        }
    }

    init(_ v: Value) throws {
        switch v {
        case .int(let i): self = .int(i)
        case .map(let m):
            var d: [String: Doc] = [:]
            try m.forEach { k, v in
                d[try k.segmentText()] = try Doc(v)
                return true
            }
            self = .dict(d)
        default: throw ValueError.tooDeep
        }
    }

    /// The three-way merge of the spec, on the model: one side's change wins, equal changes
    /// agree, dictionaries changed on both sides merge key by key, anything else conflicts
    /// (modify against delete and both adding different values included) and keeps ours.
    static func merge(_ b: Doc?, _ o: Doc?, _ t: Doc?, path: String, conflicts: inout Set<String>) -> Doc? {
        if o == t { return o }
        if b == o { return t }
        if b == t { return o }
        if case .dict(let bd)? = b, case .dict(let od)? = o, case .dict(let td)? = t {
            var out: [String: Doc] = [:]
            for k in Set(bd.keys).union(od.keys).union(td.keys) {
                if let v = merge(bd[k], od[k], td[k], path: path + "/" + k, conflicts: &conflicts) { out[k] = v }
            }
            return .dict(out)
        }
        conflicts.insert(path)
        return o
    }
}

/// Random documents and random edits of them.
struct DocGen {
    var rng: SplitMix64
    let keys = ["a", "b", "c", "d", "e", "f"]

    mutating func int(_ n: UInt64) -> Int { Int(rng.next() % n) }

    mutating func doc(depth: Int) -> Doc {
        if depth == 0 || int(3) == 0 { return .int(Int64(int(4))) }
        var d: [String: Doc] = [:]
        for _ in 0..<int(5) { d[keys[int(UInt64(keys.count))]] = doc(depth: depth - 1) }
        return .dict(d)
    }

    /// A few random edits: set a leaf (values from a small range, so both sides often agree),
    /// delete a key, replace a dictionary by a leaf or a leaf by a dictionary.
    mutating func edit(_ d: Doc, depth: Int = 0) -> Doc {
        guard case .dict(var m) = d else { return int(2) == 0 ? .int(Int64(int(4))) : doc(depth: 2) }
        let k = keys[int(UInt64(keys.count))]
        switch int(5) {
        case 0: m[k] = nil
        case 1: m[k] = .int(Int64(int(4)))
        case 2: m[k] = doc(depth: 2)
        default:
            if let child = m[k], depth < 3 { m[k] = edit(child, depth: depth + 1) } else { m[k] = .int(Int64(int(4))) }
        }
        return .dict(m)
    }

    mutating func edits(_ d: Doc) -> Doc {
        var x = d
        for _ in 0..<(1 + int(4)) { x = edit(x) }
        return x
    }
}

@Suite struct MergeTests {
    let store = NodeStore(MemoryChunkStore())

    func root(_ d: Doc) throws -> ProllyMap {
        guard case .map(let m) = try d.value(store) else { return try ProllyMap.empty(store: store) }
        return m
    }

    func merge(_ b: ProllyMap, _ o: ProllyMap, _ t: ProllyMap, _ s: MergeStrategy? = nil) throws -> MergeOutcome {
        try ThreeWayMerge.merge(base: b, ours: o, theirs: t, strategy: s)
    }

    @Test(arguments: 0..<300) func agreesWithTheModel(seed: Int) throws {
        var g = DocGen(rng: SplitMix64(seed: UInt64(seed) &* 7919 &+ 1))
        var bd = g.doc(depth: 3)
        if case .int = bd { bd = .dict(["a": bd]) }
        let od = g.edits(bd), td = g.edits(bd)
        guard case .dict = od, case .dict = td else { return }
        var expectedConflicts = Set<String>()
        let expected = Doc.merge(bd, od, td, path: "", conflicts: &expectedConflicts)
        let out = try merge(try root(bd), try root(od), try root(td))
        #expect(try Doc(.map(out.root)) == expected)
        #expect(Set(out.conflicts.map(\.path.description)) == expectedConflicts)
    }

    @Test(arguments: 0..<100) func mergeLaws(seed: Int) throws {
        var g = DocGen(rng: SplitMix64(seed: UInt64(seed) &+ 1_000))
        let bd = Doc.dict(["x": g.doc(depth: 3), "y": g.doc(depth: 2)])
        let xd = g.edits(bd), yd = g.edits(bd)
        guard case .dict = xd, case .dict = yd else { return }
        let b = try root(bd), x = try root(xd), y = try root(yd)
        // merge(base, base, x) = x and merge(base, x, x) = x, with no conflicts.
        let r1 = try merge(b, b, x), r2 = try merge(b, x, b), r3 = try merge(b, x, x)
        #expect(r1.root.hash == x.hash && r1.conflicts.isEmpty)
        #expect(r2.root.hash == x.hash && r2.conflicts.isEmpty)
        #expect(r3.root.hash == x.hash && r3.conflicts.isEmpty)
        // Swapping the sides swaps only what ours and theirs decide.
        let xy = try merge(b, x, y), yx = try merge(b, y, x)
        #expect(Set(xy.conflicts.map(\.path.description)) == Set(yx.conflicts.map(\.path.description)))
        for (c, d) in zip(xy.conflicts, yx.conflicts) {
            #expect(c.path == d.path && c.base == d.base && c.ours == d.theirs && c.theirs == d.ours)
        }
        if xy.conflicts.isEmpty { #expect(xy.root.hash == yx.root.hash) }
        #expect(try merge(b, x, y, .theirs).root.hash == merge(b, y, x, .ours).root.hash)
    }

    /// The model of a flat map's merge: one side's change wins, equal changes agree, anything
    /// else conflicts and keeps ours.
    func flatMerge<V: Equatable>(_ base: [Int: V], _ o: [Int: V], _ t: [Int: V]) -> (merged: [Int: V], conflicts: Set<Int>) {
        var merged: [Int: V] = [:]
        var conflicts = Set<Int>()
        for k in Set(base.keys).union(o.keys).union(t.keys) {
            let b = base[k], x = o[k], y = t[k]
            let v: V? = x == y ? x : (b == x ? y : (b == y ? x : { conflicts.insert(k); return x }()))
            if let v { merged[k] = v }
        }
        return (merged, conflicts)
    }

    /// Maps of thousands of entries span many nodes: the streamed diffs must line up across
    /// node boundaries, and what only ours changed must stay as it is.
    @Test(arguments: 0..<6) func largeMapsAgreeWithADictionary(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 77)
        var base: [Int: Int64] = [:]
        for i in 0..<5_000 { base[i * 2] = Int64(i % 7) }
        func side(_ rng: inout SplitMix64) -> [Int: Int64] {
            var d = base
            for _ in 0..<300 {
                let k = Int(rng.next() % 10_000)
                if rng.next() % 4 == 0 { d[k] = nil } else { d[k] = Int64(rng.next() % 3) }
            }
            return d
        }
        let o = side(&rng), t = side(&rng)
        func map(_ d: [Int: Int64]) throws -> ProllyMap {
            try ProllyMap.build(d.sorted { $0.key < $1.key }.map { (Value.int(Int64($0.key)), Value.int($0.value)) }, store: store)
        }
        let (expected, conflicts) = flatMerge(base, o, t)
        let out = try merge(try map(base), try map(o), try map(t))
        #expect(try out.root.hash == (try map(expected)).hash)
        #expect(Set(out.conflicts.map { Int($0.path.segments[0])! }) == conflicts)
        #expect(try out.root.invariantProblems().isEmpty)
    }

    /// Each side edits its own windows of a map that spans many leaves, so whole runs of
    /// leaves change on one side only and are linked in by hash: the merged tree must be the
    /// one a fresh build of the expected contents gives (history independence), edits at the
    /// ends and next to each other included.
    @Test(arguments: 0..<12) func runsOnlyTheirsChangedAreLinkedInCanonically(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 500)
        let n = 20_000
        var base: [Int: String] = [:]
        for i in 0..<n { base[i * 3] = "v\(i % 11)" }
        func window(_ d: inout [Int: String], _ lo: Int, _ width: Int, _ tag: String, _ rng: inout SplitMix64) {
            for k in lo..<max(lo, min(lo + width, n * 3 + 300)) {
                switch rng.next() % 5 {
                case 0: d[k] = nil
                case 1, 2: d[k] = "\(tag)\(rng.next() % 100)"
                default: break
                }
            }
        }
        var o = base, t = base
        let a = Int(rng.next() % UInt64(n * 3)), w = 1 + Int(rng.next() % 3000)
        let c = seed % 3 == 0 ? a + w : Int(rng.next() % UInt64(n * 3))  // sometimes right next to ours
        window(&o, a, w, "o", &rng)
        window(&t, c, 1 + Int(rng.next() % 3000), "t", &rng)
        if seed % 4 == 1 { for k in (n * 3)..<(n * 3 + 200) { t[k] = "appended" } }
        if seed % 4 == 2 { for k in 0..<300 { t[k] = nil } }
        func map(_ d: [Int: String]) throws -> ProllyMap {
            try ProllyMap.build(d.sorted { $0.key < $1.key }.map { (Value.int(Int64($0.key)), Value.string($0.value)) }, store: store)
        }
        let (expected, conflicts) = flatMerge(base, o, t)
        let out = try merge(try map(base), try map(o), try map(t))
        #expect(Set(out.conflicts.map { Int($0.path.segments[0])! }) == conflicts)
        #expect(try out.root.hash == map(expected).hash)
        #expect(try out.root.invariantProblems().isEmpty)
        // Swapping the sides gives the same tree wherever nothing conflicts.
        if conflicts.isEmpty { #expect(try merge(try map(base), try map(t), try map(o)).root.hash == out.root.hash) }
    }

    /// Both sides append after the base's last key while theirs edits the last leaf: the base's
    /// last leaf ends where the data ends, not at a boundary, so it must not be linked in by
    /// hash (a review found unsorted trees here). Over many sizes, some base ends fall on a
    /// content boundary.
    @Test(arguments: 100..<150) func appendsOnBothSidesAfterTheLastLeaf(n: Int) throws {
        func key(_ i: Int) -> String { "k" + String(repeating: "0", count: 5 - String(i).count) + String(i) }
        var base: [String: String] = [:]
        for i in 0..<n { base[key(i)] = String(repeating: "v", count: 80) }
        var o = base, t = base
        let last = key(n - 1)
        if n % 3 == 0 {
            // Ours edits only the start: theirs' run to the end may be linked in.
            for i in 0..<20 { o[key(i)] = "ours" }
        } else {
            for i in stride(from: 0, to: 60, by: 2) { o[last + "b\(i)"] = String(repeating: "o", count: 80) }
        }
        if n % 2 == 0 { for i in stride(from: 1, to: 60, by: 2) { t[last + "b\(i)"] = String(repeating: "t", count: 80) } }
        t[last] = "w"
        t[key(n - 3)] = "w"
        func map(_ d: [String: String]) throws -> ProllyMap {
            try ProllyMap.build(d.map { (Value.string($0.key), Value.string($0.value)) }, store: store)
        }
        var expected = o
        for (k, v) in t where base[k] != v { expected[k] = v }
        let out = try merge(try map(base), try map(o), try map(t))
        #expect(out.conflicts.isEmpty)
        #expect(try out.root.invariantProblems().isEmpty)
        #expect(try out.root.hash == map(expected).hash)
        #expect(try merge(try map(base), try map(t), try map(o)).root.hash == out.root.hash)
    }

    // MARK: Conflict kinds

    func json(_ s: String) throws -> Value { try JSON.parse(s, store: store) }
    func rootJSON(_ s: String) throws -> ProllyMap {
        guard case .map(let m) = try json(s) else { throw ValueError.tooDeep }
        return m
    }

    @Test func everyConflictKindHasItsPathAndSides() throws {
        let b = try rootJSON(#"{"m": {"both": 1, "del": 1}, "l": [1, 2, 3, 4], "s": "x"}"#)
        let o = try rootJSON(#"{"m": {"both": 2, "del": 2, "added": 1}, "l": [1, 9, 3, 4], "s": "x"}"#)
        let t = try rootJSON(#"{"m": {"both": 3, "added": 2}, "l": [1, 8, 3, 4], "s": "x"}"#)
        let out = try merge(b, o, t)
        let byPath = Dictionary(uniqueKeysWithValues: out.conflicts.map { ($0.path.description, $0) })
        #expect(Set(byPath.keys) == ["/m/both", "/m/del", "/m/added", "/l"])
        #expect(byPath["/m/both"]!.kind == "both modified")
        #expect(byPath["/m/both"]!.base == .int(1) && byPath["/m/both"]!.ours == .int(2) && byPath["/m/both"]!.theirs == .int(3))
        #expect(byPath["/m/del"]!.kind == "deleted by theirs" && byPath["/m/del"]!.theirs == nil)
        #expect(byPath["/m/added"]!.kind == "both added" && byPath["/m/added"]!.base == nil)
        #expect(try byPath["/l"]!.ours == (try json("[1, 9, 3, 4]")))
        // The merged root holds ours' value at each conflicted path.
        #expect(try out.root.get(.string("m")) == o.get(.string("m")))
    }

    @Test func listsMergeSpliceBySplice() throws {
        let b = try rootJSON(#"{"l": [1, 2, 3, 4, 5, 6]}"#)
        // Edits at both ends apply together; an insert at the same point with different
        // elements, or overlapping different splices, is a conflict.
        let out = try merge(b, try rootJSON(#"{"l": [0, 1, 2, 3, 4, 5, 6]}"#), try rootJSON(#"{"l": [1, 2, 3, 4, 5, 6, 7]}"#))
        #expect(try out.conflicts.isEmpty && (try out.root.get(.string("l"))) == (try json("[0, 1, 2, 3, 4, 5, 6, 7]")))
        let removed = try merge(b, try rootJSON(#"{"l": [1, 3, 4, 5, 6]}"#), try rootJSON(#"{"l": [1, 2, 3, 4, 6]}"#))
        #expect(try removed.conflicts.isEmpty && (try removed.root.get(.string("l"))) == (try json("[1, 3, 4, 6]")))
        let same = try merge(b, try rootJSON(#"{"l": [1, 2, 9, 4, 5, 6]}"#), try rootJSON(#"{"l": [1, 2, 9, 4, 5, 6]}"#))
        #expect(same.conflicts.isEmpty)
        let insertBoth = try merge(b, try rootJSON(#"{"l": [1, 2, 7, 3, 4, 5, 6]}"#), try rootJSON(#"{"l": [1, 2, 8, 3, 4, 5, 6]}"#))
        #expect(insertBoth.conflicts.map(\.path.description) == ["/l"])
        let overlap = try merge(b, try rootJSON(#"{"l": [1, 9, 9, 4, 5, 6]}"#), try rootJSON(#"{"l": [1, 2, 8, 8, 5, 6]}"#))
        #expect(overlap.conflicts.map(\.path.description) == ["/l"])
    }

    @Test func setsAndCountersNeverConflict() throws {
        let bs = try ProllySet.build([.int(1), .int(2), .int(3)], store: store)
        let os = try ProllySet.build([.int(1), .int(3), .int(4)], store: store)
        let ts = try ProllySet.build([.int(2), .int(3), .int(5)], store: store)
        func r(_ s: ProllySet, _ c: Int64) throws -> ProllyMap {
            try ProllyMap.build([(.string("s"), .set(s)), (.string("c"), .counter(c))], store: store)
        }
        let out = try merge(try r(bs, 10), try r(os, 15), try r(ts, 7))
        #expect(out.conflicts.isEmpty)
        #expect(try out.root.get(.string("s")) == .set(try ProllySet.build([.int(3), .int(4), .int(5)], store: store)))
        // Counters add both deltas: +5 and −3.
        #expect(try out.root.get(.string("c")) == .counter(12))
    }

    /// `counter` adds both sides' deltas: +5 on each side is +10, not an agreement (CLI.md),
    /// for the Counter kind, under the rule, and inside maps and table cells changed alike.
    @Test func equalCounterChangesAddUp() throws {
        func r(_ pairs: [(String, Value)]) throws -> ProllyMap { try ProllyMap.build(pairs.map { (Value.string($0.0), $0.1) }, store: store) }
        let kind = try merge(try r([("c", .counter(10))]), try r([("c", .counter(15))]), try r([("c", .counter(15))]))
        #expect(try kind.root.get(.string("c")) == .counter(20))
        let rules = try ProllyMap.build([(Value.string("/n"), Value.string("counter")), (.string("/p/*/score"), .string("counter"))], store: store)
        let p0 = try json(#"{"ada": {"score": 1, "name": "a"}}"#), p1 = try json(#"{"ada": {"score": 6, "name": "a"}}"#)
        let b = try r([(".rules", .map(rules)), ("n", .int(10)), ("p", p0), ("plain", .int(1))])
        let x = try r([(".rules", .map(rules)), ("n", .int(15)), ("p", p1), ("plain", .int(2))])
        let out = try merge(b, x, x)
        #expect(out.conflicts.isEmpty)
        #expect(try out.root.get(.string("n")) == .int(20))
        #expect(try out.root.get(.string("p")) == json(#"{"ada": {"score": 11, "name": "a"}}"#))
        // Anything else changed alike agrees.
        #expect(try out.root.get(.string("plain")) == .int(2))
        // Counters in a list, both adding one counter, and a sum past 64 bits (a conflict).
        let l0 = Value.list(try ProllyList.build([.counter(0), .counter(0)], store: store))
        let l1 = Value.list(try ProllyList.build([.counter(3), .counter(0)], store: store))
        let inList = try merge(try r([("l", l0)]), try r([("l", l1)]), try r([("l", l1)]))
        #expect(try inList.root.get(.string("l")) == .list(try ProllyList.build([.counter(6), .counter(0)], store: store)))
        let added = try merge(try r([]), try r([("c", .counter(5))]), try r([("c", .counter(5))]))
        #expect(try added.root.get(.string("c")) == .counter(10))
        let huge = try merge(try r([("c", .counter(0))]), try r([("c", .counter(.max))]), try r([("c", .counter(.max - 1))]))
        #expect(huge.conflicts.map(\.path.description) == ["/c"])
    }

    /// While a pattern's rule is itself in conflict, values under it merge by the default, so
    /// their conflict shows too (rather than ours' rule deciding unseen).
    @Test func aDisputedRuleRulesNothing() throws {
        func rules(_ rule: String) throws -> Value { .map(try ProllyMap.build([(Value.string("/s"), Value.string(rule))], store: store)) }
        func r(_ rule: String, _ v: Int64) throws -> ProllyMap { try ProllyMap.build([(Value.string(".rules"), try rules(rule)), (.string("s"), .int(v))], store: store) }
        let out = try merge(try r("counter", 1), try r("min", 3), try r("max", 5))
        #expect(out.conflicts.map(\.path.description) == ["/.rules/~1s", "/s"])
    }

    @Test func structsMergeFieldByField() throws {
        let s = { (a: Int64, b: Int64) in Value.struct(StructValue(name: "P", fields: [("a", .int(a)), ("b", .int(b))])) }
        func r(_ v: Value) throws -> ProllyMap { try ProllyMap.build([(.string("p"), v)], store: store) }
        let out = try merge(try r(s(1, 1)), try r(s(2, 1)), try r(s(1, 3)))
        #expect(try out.conflicts.isEmpty && (try out.root.get(.string("p"))) == s(2, 3))
        let clash = try merge(try r(s(1, 1)), try r(s(2, 1)), try r(s(3, 1)))
        #expect(clash.conflicts.map(\.path.description) == ["/p/a"])
    }

    // MARK: Rules

    func withRules(_ rules: [String: String], _ body: String) throws -> ProllyMap {
        let r = try ProllyMap.build(rules.map { (Value.string($0.key), Value.string($0.value)) }, store: store)
        return try rootJSON(body).setting(.string(".rules"), to: .map(r))
    }

    @Test func rulesSettleWhatBothChanged() throws {
        let rules = ["/p/*/score": "counter", "/p/*/best": "max", "/p/*/worst": "min", "/p/*/name": "theirs",
                     "/p/*/note": "text", "/p/*/tags": "union", "/p/ada/name": "ours"]
        let b = try withRules(rules, #"{"p": {"ada": {"score": 10, "best": 5, "worst": 5, "name": "A", "note": "1\n2\n3\n", "tags": [1, 2]}, "bob": {"name": "B"}}}"#)
        let o = try withRules(rules, #"{"p": {"ada": {"score": 15, "best": 7, "worst": 4, "name": "A1", "note": "1x\n2\n3\n", "tags": [3, 1, 2]}, "bob": {"name": "B1"}}}"#)
        let t = try withRules(rules, #"{"p": {"ada": {"score": 13, "best": 6, "worst": 3, "name": "A2", "note": "1\n2\n3y\n", "tags": [2, 4]}, "bob": {"name": "B2"}}}"#)
        let out = try merge(b, o, t)
        #expect(out.conflicts.isEmpty)
        let ada = try out.root.get(.string("p")).flatMap { v -> Value? in if case .map(let m) = v { try m.get(.string("ada")) } else { nil } }
        #expect(try ada == (try json(#"{"score": 18, "best": 7, "worst": 3, "name": "A1", "note": "1x\n2\n3y\n", "tags": [2, 3, 4]}"#)))
        // A literal segment beats `*`: /p/ada/name is ours, /p/bob/name theirs.
        #expect(try JSON.string(try out.root.get(.string("p"))!).contains(#""bob":{"name":"B2"}"#))
        // Overlapping text edits are a conflict, holding the three whole strings.
        let o2 = try withRules(rules, #"{"p": {"ada": {"score": 10, "best": 5, "worst": 5, "name": "A", "note": "1\n2x\n3\n", "tags": [1, 2]}, "bob": {"name": "B"}}}"#)
        let t2 = try withRules(rules, #"{"p": {"ada": {"score": 10, "best": 5, "worst": 5, "name": "A", "note": "1\n2y\n3\n", "tags": [1, 2]}, "bob": {"name": "B"}}}"#)
        let text = try merge(b, o2, t2)
        #expect(text.conflicts.map(\.path.description) == ["/p/ada/note"])
        #expect(text.conflicts.first?.base == .string("1\n2\n3\n") && text.conflicts.first?.theirs == .string("1\n2y\n3\n"))
    }

    @Test func rulesMergeFirstAndTheMergedOnesApply() throws {
        // Theirs adds a counter rule while both change the value: the merged rules apply.
        let b = try rootJSON(#"{"n": 1}"#)
        let o = try rootJSON(#"{"n": 3}"#)
        let t = try withRules(["/n": "counter"], #"{"n": 4}"#)
        let out = try merge(b, o, t)
        #expect(try out.conflicts.isEmpty && (try out.root.get(.string("n"))) == .int(6))
        #expect(try out.root.get(.string(".rules")) != nil)
        // A conflict inside .rules is reported at its path.
        let rc = try merge(try withRules(["/n": "max"], "{}"), try withRules(["/n": "min"], "{}"), try withRules(["/n": "counter"], "{}"))
        #expect(rc.conflicts.map(\.path.description) == ["/.rules/~1n"])
    }

    /// Under counter, union, lww, max and min, merging N branches in any order gives the same
    /// value (each branch from the same base, merged one after another into main).
    @Test(arguments: ["counter", "union", "lww", "max", "min"]) func rulesConverge(rule: String) throws {
        let n = 4
        var results: Set<String> = []
        let orders = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]
        for order in orders {
            let repo = Repository(chunks: MemoryChunkStore())
            let initial = rule == "union" ? "[1, 2, 3]" : "10"
            try repo.setRule("/v", to: MergeRule(rawValue: rule)!)
            try repo.edit(at: ValuePath(parsing: "/v"), value: try JSON.parse(initial, store: repo.store))
            let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
            for i in 0..<n {
                try repo.checkoutNewBranch("b\(i)", at: base.hash)
                let v = rule == "union" ? "[\(i + 1), \(10 + i)]" : "\(10 + [5, -3, 7, 2][i])"
                // Replicas write at different times; the stamps decide under lww.
                let stamped = rule == "lww" ? LWW.stamped(try JSON.parse(v, store: repo.store), LWW.Stamp(time: Int64([30, 10, 40, 20][i]), replica: "r\(i)"))
                    : try JSON.parse(v, store: repo.store)
                // Set as the replica wrote it, stamp and all (edit would stamp it now).
                let root = try repo.workingRoot()
                try repo.setWorkingRoot(try root.setting(.string("v"), to: stamped), expected: root)
                _ = try repo.commitWorkingSet(message: "b\(i)", author: "t", date: 2)
                try repo.checkout("main")
            }
            for i in order {
                let r = try repo.mergeIntoCurrentBranch(try repo.resolveCommit("b\(i)").hash, message: nil, author: "t", date: 3)
                #expect(r.conflicts.isEmpty)
            }
            results.insert(try JSON.string(try repo.workingRoot().get(.string("v"))!))
        }
        #expect(results.count == 1)
        let expected = ["counter": "21", "union": "[4,10,11,12,13]", "lww": "17", "max": "17", "min": "7"][rule]!
        #expect(results.first == expected)
    }

    @Test func lwwStampsTravelWithTheValueAndShowPlain() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.setRule("/doc/title", to: .lww)
        try repo.edit(at: ValuePath(parsing: "/doc"), value: try JSON.parse(#"{"title": "a"}"#, store: repo.store))
        try repo.edit(at: ValuePath(parsing: "/doc/title"), value: .string("b"))
        let doc = try repo.workingRoot().get(.string("doc"))!
        #expect(try JSON.string(doc) == #"{"title":"b"}"#)
        guard case .map(let m) = doc, let title = try m.get(.string("title")) else { Issue.record("no title"); return }
        #expect(LWW.stamp(of: title) != nil && LWW.plain(title) == .string("b"))
    }

    // MARK: Tables

    func table(_ csv: String, key: [String] = ["id"]) throws -> Value {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-merge-\(UUID().uuidString).csv")
        try csv.write(to: dir, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dir) }
        return .table(try TableImport.csv(path: dir.path, options: .init(key: key), store: store,
                                          tempDirectory: FileManager.default.temporaryDirectory.path).table)
    }

    func tableRoot(_ t: Value) throws -> ProllyMap { try ProllyMap.build([(.string("t"), t)], store: store) }

    func rows(_ out: MergeOutcome) throws -> String {
        guard case .table(let t)? = try out.root.get(.string("t")) else { return "?" }
        var out: [UInt8] = []
        try TableExport.table(t, format: .csv) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func tablesMergeRowByRowAndCellByCell() throws {
        let b = try tableRoot(try table("id,a,b\n1,x,y\n2,x,y\n3,x,y\n"))
        let o = try tableRoot(try table("id,a,b\n1,X,y\n2,x,y\n3,x,y\n4,n,n\n"))
        let t = try tableRoot(try table("id,a,b\n1,x,Y\n3,x,y\n5,m,m\n"))
        let out = try merge(b, o, t)
        #expect(out.conflicts.isEmpty)
        #expect(try rows(out) == "id,a,b\n1,X,Y\n3,x,y\n4,n,n\n5,m,m\n")
        // A cell changed differently on both sides; modify against delete of a row.
        let o2 = try tableRoot(try table("id,a,b\n1,P,y\n2,Q,y\n3,x,y\n"))
        let t2 = try tableRoot(try table("id,a,b\n1,R,y\n3,x,y\n"))
        let c = try merge(b, o2, t2)
        #expect(c.conflicts.map(\.path.description) == ["/t/1/a", "/t/2"])
        #expect(c.conflicts[1].kind == "deleted by theirs")
    }

    /// Random row and cell edits on both sides of a table large enough to span many leaves,
    /// against a model of rows as dictionaries merged cell by cell: the same rows, the same
    /// conflicts, and the tree a fresh build of the expected rows gives.
    @Test(arguments: 0..<8) func tablesAgreeWithARowModel(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 900)
        typealias Rows = [Int: [String: String]]
        var base: Rows = [:]
        for i in 0..<3000 { base[i] = ["a": "a\(i % 7)", "b": "b\(i % 5)"] }
        func side(_ rng: inout SplitMix64) -> Rows {
            var d = base
            // A dense window and some scattered edits.
            let lo = Int(rng.next() % 3000)
            for k in lo..<min(3100, lo + 150) where rng.next() % 3 == 0 { d[k] = ["a": "w\(rng.next() % 3)", "b": "b\(k % 5)"] }
            for _ in 0..<40 {
                let k = Int(rng.next() % 3100)
                switch rng.next() % 4 {
                case 0: d[k] = nil
                case 1: d[k, default: [:]]["a"] = "x\(rng.next() % 3)"
                case 2: d[k, default: [:]]["b"] = nil
                default: d[k] = ["a": "n\(rng.next() % 2)"]
                }
                if d[k]?.isEmpty == true { d[k] = ["a": "e"] }
            }
            return d
        }
        let o = side(&rng), t = side(&rng)
        var expected: Rows = [:]
        var conflicts = Set<String>()
        for k in Set(base.keys).union(o.keys).union(t.keys) {
            let b = base[k], x = o[k], y = t[k]
            if x == y { if let x { expected[k] = x }; continue }
            if b == x { if let y { expected[k] = y }; continue }
            if b == y { if let x { expected[k] = x }; continue }
            guard let b, let x, let y else {
                conflicts.insert("/t/\(k)")
                if let x { expected[k] = x }
                continue
            }
            var row: [String: String] = [:]
            for c in ["a", "b"] {
                let (cb, cx, cy) = (b[c], x[c], y[c])
                let v: String? = cx == cy ? cx : (cb == cx ? cy : (cb == cy ? cx : { conflicts.insert("/t/\(k)/\(c)"); return cx }()))
                if let v { row[c] = v }
            }
            expected[k] = row
        }
        func csv(_ d: Rows) -> String {
            "id,a,b\n" + d.keys.sorted().map { k in "\(k),\(d[k]!["a"] ?? ""),\(d[k]!["b"] ?? "")\n" }.joined()
        }
        let out = try merge(try tableRoot(try table(csv(base))), try tableRoot(try table(csv(o))), try tableRoot(try table(csv(t))))
        #expect(Set(out.conflicts.map(\.path.description)) == conflicts)
        #expect(try rows(out) == csv(expected))
        #expect(try out.root.get(.string("t")) == tableRoot(try table(csv(expected))).get(.string("t")))
        #expect(try out.root.invariantProblems().isEmpty)
    }

    @Test func columnsAddedOnEitherSideMergeWithRowEdits() throws {
        let b = try tableRoot(try table("id,a\n1,x\n2,x\n"))
        let o = try tableRoot(try table("id,a,new\n1,x,n1\n2,x,\n"))
        let t = try tableRoot(try table("id,a\n1,x\n2,z\n"))
        let out = try merge(b, o, t)
        #expect(out.conflicts.isEmpty)
        #expect(try rows(out) == "id,a,new\n1,x,n1\n2,z,\n")
        // Both sides add columns (one the same): one column each, after the kept ones in id
        // order, whichever side is ours.
        let o2 = try tableRoot(try table("id,a,c1,same\n1,x,p,s\n2,x,,\n"))
        let t2 = try tableRoot(try table("id,a,c2,same\n1,x,,s\n2,y,q,\n"))
        let xy = try merge(b, o2, t2), yx = try merge(b, t2, o2)
        #expect(xy.conflicts.isEmpty && yx.conflicts.isEmpty)
        #expect(xy.root.hash == yx.root.hash)
        guard case .table(let merged)? = try xy.root.get(.string("t")) else { Issue.record("no table"); return }
        #expect(merged.schema.columns.count == 5)
        #expect(merged.schema.columns.prefix(2).map(\.name) == ["id", "a"])
        let added = Array(merged.schema.columns.dropFirst(2))
        #expect(added.map(\.id) == added.map(\.id).sorted())
        #expect(Set(added.map(\.name)) == ["c1", "c2", "same"])
        #expect(try merged.row(key: [.int(1)]) != nil)
        #expect(try merged.invariantProblems().isEmpty)
    }

    @Test func rowRulesAndColumnOrderDoNotDependOnTheSide() throws {
        let b = try tableRoot(try table("id,a,b,c\n1,x,y,z\n"))
        let o = try tableRoot(try table("id,c,b,a\n1,z,y,x\n"))
        let t = try tableRoot(try table("id,b,a,c\n1,y,x,z\n"))
        let xy = try merge(b, o, t), yx = try merge(b, t, o)
        #expect(xy.conflicts.isEmpty && xy.root.hash == yx.root.hash)
        #expect(try rows(xy) == "id,a,b,c\n1,x,y,z\n")
        // A rule for whole rows decides rows both sides modified.
        let rules = try ProllyMap.build([(Value.string("/t/*"), Value.string("theirs"))], store: store)
        func withRules(_ m: ProllyMap) throws -> ProllyMap { try m.setting(.string(".rules"), to: .map(rules)) }
        let r = try merge(try withRules(b), try withRules(try tableRoot(try table("id,a,b,c\n1,OURS,y,z\n"))),
                          try withRules(try tableRoot(try table("id,a,b,c\n1,THEIRS,y,Z\n"))))
        #expect(try r.conflicts.isEmpty && rows(r) == "id,a,b,c\n1,THEIRS,y,Z\n")
    }

    @Test func schemaConflicts() throws {
        let b = try tableRoot(try table("id,a,b\n1,x,y\n"))
        // Renamed to different names on both sides: the table is one conflict.
        func renamed(_ to: String) throws -> ProllyMap {
            guard case .table(let t) = try table("id,a,b\n1,x,y\n") else { throw ValueError.tooDeep }
            var s = t.schema
            try s.renameColumn("a", to: to)
            return try tableRoot(.table(t.withSchema(s)))
        }
        let out = try merge(b, try renamed("p"), try renamed("q"))
        #expect(out.conflicts.map(\.path.description) == ["/t"])
        // A key change on one side against row edits on the other.
        let rekeyed = try tableRoot(try table("id,a,b\n1,x,y\n", key: ["a"]))
        let edited = try tableRoot(try table("id,a,b\n1,x,z\n"))
        let k = try merge(b, rekeyed, edited)
        #expect(k.conflicts.map(\.path.description) == ["/t"], "\(k.conflicts)")
    }

    @Test func aDroppedColumnAgainstChangedCellsIsAConflict() throws {
        let b = try tableRoot(try table("id,a,b\n1,x,y\n2,x,y\n"))
        guard case .table(let bt) = try b.get(.string("t"))! else { return }
        var s = bt.schema
        try s.dropColumn("b")
        let theirsTable = try Table(schema: s, rows: bt.rows).editing([([.int(1)], [.string("x")]), ([.int(2)], [.string("x")])])
        let t = try tableRoot(.table(theirsTable))
        // Ours changed a cell of b in row 2: the column stays with ours' cell, a conflict.
        let o = try tableRoot(try table("id,a,b\n1,x,y\n2,x,CHANGED\n"))
        let out = try merge(b, o, t)
        #expect(out.conflicts.map(\.path.description) == ["/t/2/b"])
        #expect(try rows(out) == "id,a,b\n1,x,\n2,x,CHANGED\n")
        // Settled to theirs through the repository, the kept column goes with its last cell.
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.replaceValue("t", with: try b.get(.string("t"))!)
        let baseCommit = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.checkoutNewBranch("drop", at: baseCommit.hash)
        try repo.replaceValue("t", with: try t.get(.string("t"))!)
        let dropCommit = try repo.commitWorkingSet(message: "drop b", author: "t", date: 2)
        try repo.checkout("main")
        try repo.replaceValue("t", with: try o.get(.string("t"))!)
        _ = try repo.commitWorkingSet(message: "change b", author: "t", date: 3)
        let r = try repo.mergeIntoCurrentBranch(dropCommit.hash, message: nil, author: "t")
        #expect(r.conflicts.map(\.path.description) == ["/t/2/b"])
        try repo.resolve(ValuePath(parsing: "/t"), with: .theirs)
        guard case .table(let settled)? = try repo.workingRoot().get(.string("t")) else { Issue.record("no table"); return }
        #expect(settled.schema.column(named: "b") == nil)
        // A row ours added with a cell in b, or theirs added while ours dropped b: a conflict.
        let o3 = try tableRoot(try table("id,a,b\n1,x,y\n2,x,y\n3,n,added\n"))
        let added = try merge(b, o3, t)
        #expect(added.conflicts.map(\.path.description) == ["/t/3/b"])
        #expect(try rows(added) == "id,a,b\n1,x,\n2,x,\n3,n,added\n")
        let swapped = try merge(b, t, o3)
        #expect(swapped.conflicts.map(\.path.description) == ["/t/3/b"])
        #expect(try rows(swapped) == "id,a\n1,x\n2,x\n3,n\n")
        // A row ours deleted against theirs' drop of a column: the deletion stands, no conflict.
        let deleted = try merge(b, try tableRoot(try table("id,a,b\n1,x,y\n")), t)
        #expect(try deleted.conflicts.isEmpty && rows(deleted) == "id,a\n1,x\n")
        // Ours changed nothing in b: the drop applies.
        let o2 = try tableRoot(try table("id,a,b\n1,z,y\n2,x,y\n"))
        let clean = try merge(b, o2, t)
        #expect(try clean.conflicts.isEmpty && (try rows(clean)) == "id,a\n1,z\n2,x\n")
    }

    // MARK: Commit graph

    /// A repository with commits named by label, for DAG tests.
    final class Graph {
        let repo = Repository(chunks: MemoryChunkStore())
        var commits: [String: Hash] = [:]
        var date: Int64 = 0

        @discardableResult
        func commit(_ label: String, parents: [String], set: [String: Int64] = [:]) throws -> Hash {
            date += 1
            let ps = parents.map { commits[$0]! }
            var root = try ps.first.map { try repo.root(of: repo.commit($0)) } ?? ProllyMap.empty(store: repo.store)
            for (k, v) in set { root = try root.setting(.string(k), to: .int(v)) }
            let h = try repo.writeCommit(root: root, parents: ps, author: "t", date: date, message: label)
            commits[label] = h
            return h
        }
    }

    @Test func mergeBasesByGeneration() throws {
        let g = Graph()
        try g.commit("root", parents: [])
        try g.commit("a1", parents: ["root"])
        try g.commit("b1", parents: ["root"])
        try g.commit("a2", parents: ["a1"])
        try g.commit("b2", parents: ["b1"])
        // Criss-cross: each side merges the other's first commit.
        try g.commit("a3", parents: ["a2", "b1"])
        try g.commit("b3", parents: ["b2", "a1"])
        #expect(try g.repo.mergeBases(g.commits["a2"]!, g.commits["b2"]!) == [g.commits["root"]!])
        #expect(try g.repo.mergeBases(g.commits["a3"]!, g.commits["b3"]!) == [g.commits["a1"]!, g.commits["b1"]!].sorted())
        #expect(try g.repo.mergeBases(g.commits["a3"]!, g.commits["a1"]!) == [g.commits["a1"]!])
        #expect(try g.repo.isAncestor(g.commits["root"]!, of: g.commits["b3"]!))
        #expect(try !g.repo.isAncestor(g.commits["a2"]!, of: g.commits["b3"]!))
        try g.commit("other", parents: [])
        #expect(try g.repo.mergeBases(g.commits["other"]!, g.commits["a3"]!).isEmpty)
        // A parent is judged from the descendant alone: first and second parents alike.
        #expect(try g.repo.isAncestor(g.commits["a2"]!, of: g.commits["a3"]!))
        #expect(try g.repo.isAncestor(g.commits["b1"]!, of: g.commits["a3"]!))
        #expect(try !g.repo.isAncestor(g.commits["a3"]!, of: g.commits["a2"]!))
        #expect(try !g.repo.isAncestor(g.commits["other"]!, of: g.commits["a3"]!))
        // An unknown descendant is an unknown revision, as before.
        #expect(throws: RepositoryError.self) { _ = try g.repo.isAncestor(g.commits["a2"]!, of: Hash(of: [1, 2, 3])) }
    }

    /// On random DAGs the walk agrees with the definition: common ancestors none of which is
    /// an ancestor of another.
    @Test(arguments: 0..<20) func mergeBasesAgreeWithTheDefinition(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 31)
        let g = Graph()
        var labels = ["c0"]
        try g.commit("c0", parents: [])
        for i in 1..<40 {
            let p1 = labels[Int(rng.next() % UInt64(labels.count))]
            var ps = [p1]
            if rng.next() % 3 == 0 {
                let p2 = labels[Int(rng.next() % UInt64(labels.count))]
                if p2 != p1 { ps.append(p2) }
            }
            try g.commit("c\(i)", parents: ps)
            labels.append("c\(i)")
        }
        func ancestors(_ h: Hash) throws -> Set<Hash> {
            var seen: Set<Hash> = [h], stack = [h]
            while let x = stack.popLast() {
                for p in try g.repo.commit(x).parents where seen.insert(p).inserted { stack.append(p) }
            }
            return seen
        }
        for _ in 0..<10 {
            let a = g.commits[labels[Int(rng.next() % 40)]]!, b = g.commits[labels[Int(rng.next() % 40)]]!
            let common = try ancestors(a).intersection(try ancestors(b))
            var best = common
            for c in common { best.subtract(try ancestors(c).subtracting([c])) }
            #expect(try g.repo.mergeBases(a, b) == best.sorted())
        }
    }

    @Test func crissCrossMergesTheSameWayEveryTime() throws {
        var results: Set<Hash> = []
        for _ in 0..<20 {
            let g = Graph()
            try g.commit("root", parents: [], set: ["x": 0, "y": 0, "z": 0])
            try g.commit("a1", parents: ["root"], set: ["x": 1])
            try g.commit("b1", parents: ["root"], set: ["x": 2, "y": 2])
            // Each side merges the other's first commit, settling x its own way.
            try g.commit("a2", parents: ["a1", "b1"], set: ["x": 1, "y": 2])
            try g.commit("b2", parents: ["b1", "a1"], set: ["x": 2, "y": 2, "z": 5])
            let r = try g.repo.merge(ours: g.commits["a2"]!, theirs: g.commits["b2"]!)
            #expect(r.bases.count == 2)
            // x was settled differently on the two sides: still a conflict; z merges in.
            #expect(r.conflicts.map(\.path.description) == ["/x"])
            #expect(try r.root.get(.string("z")) == .int(5))
            results.insert(r.root.hash)
        }
        #expect(results.count == 1)
    }

    @Test func fastForwardUpToDateAndUnrelated() throws {
        let g = Graph()
        try g.commit("root", parents: [], set: ["x": 1])
        try g.commit("next", parents: ["root"], set: ["x": 2])
        try g.commit("alone", parents: [], set: ["y": 1])
        #expect(try g.repo.merge(ours: g.commits["root"]!, theirs: g.commits["next"]!).kind == .fastForward)
        #expect(try g.repo.merge(ours: g.commits["root"]!, theirs: g.commits["next"]!, fastForward: false).kind == .merged)
        #expect(try g.repo.merge(ours: g.commits["next"]!, theirs: g.commits["root"]!).kind == .upToDate)
        #expect(throws: RepositoryError.unrelatedHistories) { try g.repo.merge(ours: g.commits["next"]!, theirs: g.commits["alone"]!) }
        let u = try g.repo.merge(ours: g.commits["next"]!, theirs: g.commits["alone"]!, allowUnrelated: true)
        #expect(try u.kind == .merged && (try u.root.get(.string("y"))) == .int(1) && (try u.root.get(.string("x"))) == .int(2))
    }

    // MARK: The working set

    @Test func aConflictedMergeIsResolvedAndCommittedWithTwoParents() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(1))
        try repo.edit(at: ValuePath(parsing: "/m"), value: .int(1))
        let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.checkoutNewBranch("other", at: base.hash)
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(2))
        try repo.edit(at: ValuePath(parsing: "/m"), value: .int(3))
        let theirs = try repo.commitWorkingSet(message: "other", author: "t", date: 2)
        try repo.checkout("main")
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(3))
        let ours = try repo.commitWorkingSet(message: "ours", author: "t", date: 3)
        let r = try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t", date: 4)
        #expect(r.kind == .conflicted && r.conflicts.map(\.path.description) == ["/n"])
        #expect(try repo.workingRoot().get(.string("n")) == .int(3))
        #expect(try repo.workingRoot().get(.string("m")) == .int(3))
        #expect(throws: RepositoryError.unresolvedConflicts(1)) { try repo.commitWorkingSet(message: nil, author: "t") }
        try repo.resolve(ValuePath(parsing: "/n"), with: .theirs)
        let merged = try repo.commitWorkingSet(message: nil, author: "t", date: 5)
        #expect(merged.parents == [ours.hash, theirs.hash])
        #expect(merged.generation == 3)
        #expect(merged.message == "Merge branch 'other' into main")
        #expect(try repo.workingSet().merge == nil)
        #expect(try repo.root(of: merged).get(.string("n")) == .int(2))
        // Every chunk the merge wrote (commits, working sets with their conflicts) names only
        // chunks the store holds, read from its own bytes.
        var checked = 0
        try repo.chunks.forEachHash { h in
            let refs = try ChunkReferences.of(try repo.chunks.get(h)!)
            #expect(try repo.chunks.hasMany(refs) == Set(refs))
            checked += 1
        }
        #expect(checked > 5)
    }

    @Test func abortPutsEverythingBack() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(1))
        let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.checkoutNewBranch("other", at: base.hash)
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(2))
        let theirs = try repo.commitWorkingSet(message: "other", author: "t", date: 2)
        try repo.checkout("main")
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(3))
        _ = try repo.commitWorkingSet(message: "ours", author: "t", date: 3)
        try repo.edit(at: ValuePath(parsing: "/u"), value: .int(9))  // uncommitted, untouched by the merge
        let before = try repo.workingRoot().hash
        let headBefore = try repo.head()!.hash
        let r = try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t", date: 4)
        #expect(r.kind == .conflicted)
        #expect(try repo.workingRoot().get(.string("u")) == .int(9))
        try repo.abortMerge()
        #expect(try repo.workingRoot().hash == before && repo.head()!.hash == headBefore)
        #expect(try repo.workingSet().merge == nil)
    }

    @Test func uncommittedChangesStayOnTopOrRefuseTheMerge() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(1))
        let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.checkoutNewBranch("other", at: base.hash)
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(2))
        let theirs = try repo.commitWorkingSet(message: "other", author: "t", date: 2)
        try repo.checkout("main")
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(5))
        let wsBefore = try repo.workingRoot().hash
        #expect(throws: RepositoryError.uncommittedChangesOverlap(["/n"])) {
            try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t")
        }
        #expect(try repo.workingRoot().hash == wsBefore && repo.head()!.hash == base.hash)
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(1))
        try repo.edit(at: ValuePath(parsing: "/w"), value: .int(7))
        let r = try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t")
        #expect(try r.kind == .fastForward && repo.head()!.hash == theirs.hash)
        #expect(try repo.workingRoot().get(.string("w")) == .int(7) && repo.workingRoot().get(.string("n")) == .int(2))
    }

    /// An uncommitted edit at a path the merge conflicts on is refused too, and no rule can
    /// settle an uncommitted edit away (review findings).
    @Test func uncommittedEditsAtConflictsOrUnderRulesAreRefused() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.setRule("/r", to: .theirs)
        try repo.edit(at: ValuePath(parsing: "/x"), value: .int(1))
        try repo.edit(at: ValuePath(parsing: "/r"), value: .int(1))
        let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.checkoutNewBranch("other", at: base.hash)
        try repo.edit(at: ValuePath(parsing: "/x"), value: .int(2))
        try repo.edit(at: ValuePath(parsing: "/r"), value: .int(2))
        let theirs = try repo.commitWorkingSet(message: "other", author: "t", date: 2)
        try repo.checkout("main")
        // A fast-forward, with an uncommitted edit under a `theirs` rule.
        try repo.edit(at: ValuePath(parsing: "/r"), value: .int(5))
        #expect(throws: RepositoryError.uncommittedChangesOverlap(["/r"])) {
            try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t")
        }
        try repo.edit(at: ValuePath(parsing: "/r"), value: .int(1))
        try repo.edit(at: ValuePath(parsing: "/x"), value: .int(3))
        _ = try repo.commitWorkingSet(message: "ours", author: "t", date: 3)
        // A conflict at /x, with an uncommitted edit there.
        try repo.edit(at: ValuePath(parsing: "/x"), value: .int(4))
        let before = try repo.workingRoot().hash
        #expect(throws: RepositoryError.uncommittedChangesOverlap(["/x"])) {
            try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t")
        }
        #expect(try repo.workingRoot().hash == before && repo.workingSet().merge == nil)
    }

    /// Settling a rule's conflict must leave rules that parse; keys that print alike cannot
    /// both be kept as conflicts, so such a merge is refused rather than lose one.
    @Test func resolveKeepsRulesValidAndCollidingPathsAreRefused() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.setRule("/s", to: .counter)
        let m = try ProllyMap.build([(Value.int(1), Value.string("a")), (.string("1"), .string("a"))], store: repo.store)
        try repo.replaceValue("m", with: .map(m))
        let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.checkoutNewBranch("other", at: base.hash)
        try repo.setRule("/s", to: .max)
        let theirs = try repo.commitWorkingSet(message: "other", author: "t", date: 2)
        try repo.checkout("main")
        try repo.setRule("/s", to: .min)
        _ = try repo.commitWorkingSet(message: "ours", author: "t", date: 3)
        let r = try repo.mergeIntoCurrentBranch(theirs.hash, message: nil, author: "t")
        #expect(r.conflicts.map(\.path.description) == ["/.rules/~1s"])
        #expect(throws: MergeRulesError.badRule(pattern: "/s", rule: "\"bogus\"")) {
            try repo.resolve(ValuePath(segments: [".rules", "/s"]), with: .value(.string("bogus")))
        }
        try repo.resolve(ValuePath(segments: [".rules", "/s"]), with: .theirs)
        let merged = try repo.commitWorkingSet(message: nil, author: "t")
        // Both sides change both keys that read "1".
        try repo.checkoutNewBranch("x", at: merged.hash)
        try repo.replaceValue("m", with: .map(try m.setting(.int(1), to: .string("x")).setting(.string("1"), to: .string("x"))))
        let x = try repo.commitWorkingSet(message: "x", author: "t")
        try repo.checkout("main")
        try repo.replaceValue("m", with: .map(try m.setting(.int(1), to: .string("y")).setting(.string("1"), to: .string("y"))))
        _ = try repo.commitWorkingSet(message: "y", author: "t")
        #expect(throws: RepositoryError.conflictPathsCollide("/m/1")) { try repo.mergeIntoCurrentBranch(x.hash, message: nil, author: "t") }
    }

    @Test func branchDeleteChecksMergedAndUncommitted() throws {
        let repo = Repository(chunks: MemoryChunkStore())
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(1))
        let base = try repo.commitWorkingSet(message: "base", author: "t", date: 1)
        try repo.createBranch("merged", at: base.hash)
        try repo.checkoutNewBranch("ahead", at: base.hash)
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(2))
        let ahead = try repo.commitWorkingSet(message: "ahead", author: "t", date: 2)
        try repo.edit(at: ValuePath(parsing: "/n"), value: .int(3))  // uncommitted
        try repo.checkout("main")
        #expect(try repo.deleteBranch("merged") == base.hash)
        #expect(throws: RepositoryError.branchNotMerged("ahead", into: "main")) { try repo.deleteBranch("ahead") }
        _ = try repo.mergeIntoCurrentBranch(ahead.hash, message: nil, author: "t")
        #expect(throws: RepositoryError.uncommittedChanges(branch: "ahead")) { try repo.deleteBranch("ahead") }
        #expect(try repo.deleteBranch("ahead", force: true) == ahead.hash)
        #expect(try repo.branches().map(\.name) == ["main"])
    }
}
