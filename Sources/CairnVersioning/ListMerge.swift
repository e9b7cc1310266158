import CairnStore
import CairnValues

/// Lists merge splice by splice: each side's changes from the base, as splices in the base's
/// positions, apply together where they do not overlap (docs/merging.md).
enum ListMerge {
    /// Lists up to this many elements (both sides together) are diffed element by element, so
    /// edits at both ends are two splices; longer ones by their common prefix and suffix, one
    /// splice, which the tree finds by hash without reading the middle.
    static let fineDiffLimit = 20_000

    struct Splice {
        var range: Range<UInt64>
        var inserting: [Value]
        var encodings: [[UInt8]]
    }

    /// The changes from `a` to `b`, as splices in `a`'s positions, in order.
    static func splices(_ a: ProllyList, _ b: ProllyList) throws -> [Splice] {
        if a == b { return [] }
        let store = a.store
        if a.count + b.count <= UInt64(fineDiffLimit) {
            let xs = try a.elements(), ys = try b.elements()
            let ex = try xs.map { try $0.encoded(store: store) }, ey = try ys.map { try $0.encoded(store: store) }
            return SequenceDiff.hunks(ex, ey).map { h in
                Splice(range: UInt64(h.a.lowerBound)..<UInt64(h.a.upperBound), inserting: Array(ys[h.b]), encodings: Array(ey[h.b]))
            }
        }
        return try a.diff(to: b).map { s in
            Splice(range: s.position..<s.position + s.removing, inserting: s.inserting,
                   encodings: try s.inserting.map { try $0.encoded(store: store) })
        }
    }

    /// Whether two different splices touch the same base elements, or insert at one point.
    static func overlap(_ x: Splice, _ y: Splice) -> Bool {
        switch (x.range.isEmpty, y.range.isEmpty) {
        case (false, false): return x.range.lowerBound < y.range.upperBound && y.range.lowerBound < x.range.upperBound
        case (true, false): return y.range.lowerBound < x.range.lowerBound && x.range.lowerBound < y.range.upperBound
        case (false, true): return x.range.lowerBound < y.range.lowerBound && y.range.lowerBound < x.range.upperBound
        case (true, true): return x.range.lowerBound == y.range.lowerBound
        }
    }

    /// Both sides' splices applied to the base; nil when two of them overlap and differ.
    static func merge(_ base: ProllyList, _ ours: ProllyList, _ theirs: ProllyList) throws -> ProllyList? {
        let xs = try splices(base, ours), ys = try splices(base, theirs)
        var out: [ListSplice] = []
        var i = 0, j = 0
        while i < xs.count || j < ys.count {
            if i < xs.count && j < ys.count {
                let x = xs[i], y = ys[j]
                if x.range == y.range && x.encodings == y.encodings {
                    out.append(ListSplice(at: x.range.lowerBound, removing: UInt64(x.range.count), inserting: x.inserting))
                    i += 1
                    j += 1
                    continue
                }
                if overlap(x, y) { return nil }
                // The one that starts first; at one point, the pure insertion goes first.
                let xFirst = x.range.lowerBound != y.range.lowerBound ? x.range.lowerBound < y.range.lowerBound : x.range.isEmpty
                let s = xFirst ? x : y
                out.append(ListSplice(at: s.range.lowerBound, removing: UInt64(s.range.count), inserting: s.inserting))
                if xFirst { i += 1 } else { j += 1 }
            } else {
                let s = i < xs.count ? xs[i] : ys[j]
                out.append(ListSplice(at: s.range.lowerBound, removing: UInt64(s.range.count), inserting: s.inserting))
                if i < xs.count { i += 1 } else { j += 1 }
            }
        }
        return try base.editing(out)
    }

    /// A list merged as a set (the `union` rule): what both keep, plus what either added, each
    /// element once, in the total order.
    static func union(_ base: ProllyList, _ ours: ProllyList, _ theirs: ProllyList) throws -> ProllyList {
        let store = ours.store
        func encodings(_ l: ProllyList) throws -> Set<[UInt8]> { Set(try l.elements().map { try $0.encoded(store: store) }) }
        let b = try encodings(base), o = try encodings(ours), t = try encodings(theirs)
        let kept = o.intersection(t).union(o.subtracting(b)).union(t.subtracting(b))
        let sorted = kept.sorted { KeyOrder.compare($0, $1) < 0 }
        return try ProllyList.build(try sorted.map { try Value.decode($0, store: store) }, store: store)
    }
}
