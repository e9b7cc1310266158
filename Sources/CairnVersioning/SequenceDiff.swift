/// One change from a to b: a[aRange] is replaced by b[bRange] (either may be empty).
struct SequenceHunk: Equatable, Sendable {
    var a: Range<Int>
    var b: Range<Int>
}

/// The differences between two sequences, by Myers' O(ND) algorithm ("An O(ND) Difference
/// Algorithm and Its Variations", 1986) in its linear-space form: each box of the edit graph is
/// split at a point of a shortest edit path, found by searching from both corners at once until
/// the two searches meet, and the two halves are then diffed in turn. Time is O((N+M)·D) and
/// memory O(N+M), so long inputs with few differences are cheap.
///
/// It follows git's xdiff step for step, so that text merges agree with `git merge-file`: the
/// same search (diagonals visited in the same order), the same cut-off (a search costing more
/// than `maxCost` edits splits at the furthest point either side reached, which bounds the time
/// on inputs that differ everywhere, at the price of a diff that may be slightly longer than
/// minimal), and the same final sliding of hunks among equally short diffs. For Hashable
/// elements it also first sets aside, as xdiff does, elements found nowhere in the other
/// sequence (and very common ones amid many such), which the search then need not look at.
/// Not copied: xdiff's "good snake" heuristic, which can only act when the two sequences
/// together leave over 65,000 elements to search; there the diffs may differ, both valid.
enum SequenceDiff {
    /// Minimal (or near-minimal) hunks from a to b, in increasing order, non-overlapping,
    /// non-adjacent (adjacent hunks are merged into one).
    static func hunks<T: Equatable>(_ a: [T], _ b: [T]) -> [SequenceHunk] {
        let middle = commonEnds(a, b)
        var search = MyersSearch(a: a, b: b, middle: middle)
        search.run()
        return finish(a, b, removed: search.removed, added: search.added)
    }

    /// Minimal (or near-minimal) hunks from a to b, as above; elements are first numbered, so
    /// the search compares integers, and those with no match on the other side set aside.
    static func hunks<T: Hashable>(_ a: [T], _ b: [T]) -> [SequenceHunk] {
        var numbers: [T: Int] = [:]
        func number(_ element: T) -> Int {
            if let n = numbers[element] { return n }
            numbers[element] = numbers.count
            return numbers.count - 1
        }
        let x = a.map(number), y = b.map(number)
        let middle = commonEnds(x, y)
        var removed = Array(repeating: false, count: x.count)
        var added = Array(repeating: false, count: y.count)

        // How often each number occurs in each sequence.
        var inA = Array(repeating: 0, count: numbers.count), inB = inA
        for n in x { inA[n] += 1 }
        for n in y { inB[n] += 1 }
        let keptA = kept(x, middle.x0..<middle.x1, occurrencesInOther: inB)
        let keptB = kept(y, middle.y0..<middle.y1, occurrencesInOther: inA)
        for i in middle.x0..<middle.x1 { removed[i] = true }
        for j in middle.y0..<middle.y1 { added[j] = true }

        // Search the kept elements only, then carry the marks back.
        let ka = keptA.map { x[$0] }, kb = keptB.map { y[$0] }
        var search = MyersSearch(a: ka, b: kb, middle: Box(x0: 0, x1: ka.count, y0: 0, y1: kb.count))
        search.run()
        for (i, at) in keptA.enumerated() { removed[at] = search.removed[i] }
        for (j, at) in keptB.enumerated() { added[at] = search.added[j] }
        return finish(x, y, removed: removed, added: added)
    }

    /// The box left once the common prefix and suffix, which never change, are cut off.
    private static func commonEnds<T: Equatable>(_ a: [T], _ b: [T]) -> Box {
        var start = 0
        while start < a.count, start < b.count, a[start] == b[start] { start += 1 }
        var endA = a.count, endB = b.count
        while endA > start, endB > start, a[endA - 1] == b[endB - 1] {
            endA -= 1
            endB -= 1
        }
        return Box(x0: start, x1: endA, y0: start, y1: endB)
    }

    /// The indexes in `range` of the elements worth searching, as xdiff's
    /// `xdl_cleanup_records` picks them: not those that never occur in the other sequence (they
    /// are changed in any diff), nor very common ones sitting among many of those.
    private static func kept(_ s: [Int], _ range: Range<Int>, occurrencesInOther: [Int]) -> [Int] {
        // "Very common": at least about the square root of the length, at most 1024.
        let limit = min(roughSquareRoot(s.count), 1024)
        // 0: no match, 1: some, 2: very common.
        var kind = Array(repeating: 0, count: s.count)
        for i in range {
            let matches = occurrencesInOther[s[i]]
            kind[i] = matches == 0 ? 0 : matches >= limit ? 2 : 1
        }
        return range.filter { i in
            kind[i] == 1 || (kind[i] == 2 && !amidUnmatched(kind, i, range))
        }
    }

    /// xdiff's `xdl_clean_mmatch`: whether very common element i lies in a run of elements
    /// that are unmatched or very common, with unmatched ones on both sides and more than three
    /// times as many of them as very common ones. Looks at most 100 elements each way.
    private static func amidUnmatched(_ kind: [Int], _ i: Int, _ range: Range<Int>) -> Bool {
        let lower = max(range.lowerBound, i - 100), upper = min(range.upperBound - 1, i + 100)
        var common = 1, before = 0
        var j = i - 1
        while j >= lower, kind[j] != 1 {
            if kind[j] == 0 { before += 1 } else { common += 1 }
            j -= 1
        }
        guard before > 0 else { return false }
        var after = 0
        common += 1
        j = i + 1
        while j <= upper, kind[j] != 1 {
            if kind[j] == 0 { after += 1 } else { common += 1 }
            j += 1
        }
        guard after > 0 else { return false }
        return common * 4 < common + before + after
    }

    /// xdiff's `xdl_bogosqrt`: a power of two near the square root of n.
    static func roughSquareRoot(_ n: Int) -> Int {
        var root = 1, rest = n
        while rest > 0 {
            root <<= 1
            rest >>= 2
        }
        return root
    }

    /// Slides the marked changes into place, then reads them off as hunks.
    private static func finish<T: Equatable>(_ a: [T], _ b: [T], removed: [Bool], added: [Bool]) -> [SequenceHunk] {
        var removals = Slider(elements: a, changed: removed, other: added)
        removals.run()
        var additions = Slider(elements: b, changed: added, other: removals.changed)
        additions.run()
        return hunksFromMarks(removed: removals.changed, added: additions.changed)
    }

    /// Each maximal run of removals and additions between two kept elements, as a hunk.
    private static func hunksFromMarks(removed: [Bool], added: [Bool]) -> [SequenceHunk] {
        var out: [SequenceHunk] = []
        var x = 0, y = 0
        while x < removed.count || y < added.count {
            if x < removed.count, y < added.count, !removed[x], !added[y] {
                x += 1
                y += 1
                continue
            }
            let x0 = x, y0 = y
            while x < removed.count, removed[x] { x += 1 }
            while y < added.count, added[y] { y += 1 }
            if x == x0 && y == y0 {
                // Kept elements left on one side only cannot happen; should it, end with one hunk.
                out.append(SequenceHunk(a: x0..<removed.count, b: y0..<added.count))
                break
            }
            out.append(SequenceHunk(a: x0..<x, b: y0..<y))
        }
        return out
    }
}

/// A box of the edit graph: a[x0..<x1] against b[y0..<y1]. `minimal` turns the cost cut-off
/// off, for a box known to be cheap (either half of an exact split, as in xdiff).
private struct Box {
    var x0, x1, y0, y1: Int
    var minimal = false
}

/// The search, marking which elements of a are removed and which of b are added; the two
/// diagonal vectors are reused from box to box.
private struct MyersSearch<T: Equatable> {
    let a: [T]
    let b: [T]
    let middle: Box
    var removed: [Bool]
    var added: [Bool]
    /// For diagonal k = x - y of the current box, at index k + m + 1 (m the box's height): the
    /// furthest x the forward search reached, or `unreachedForward`.
    var forward: [Int]
    /// Likewise the smallest x the backward search reached, or `unreachedBackward`.
    var backward: [Int]
    let maxCost: Int

    let unreachedForward = -1
    let unreachedBackward = Int.max

    /// A search of a and b whose differences all lie in `middle`.
    init(a: [T], b: [T], middle: Box) {
        self.a = a
        self.b = b
        self.middle = middle
        removed = Array(repeating: false, count: a.count)
        added = Array(repeating: false, count: b.count)
        // Diagonals of any box inside the middle run from -m - 1 to n + 1, with two sentinels.
        let size = (middle.x1 - middle.x0) + (middle.y1 - middle.y0)
        forward = Array(repeating: unreachedForward, count: size + 3)
        backward = Array(repeating: unreachedBackward, count: size + 3)
        maxCost = max(256, SequenceDiff.roughSquareRoot(size + 3))
    }

    /// Marks every removed and added element. A stack of boxes instead of recursion keeps deep
    /// splits (possible after the cost cut-off) off the call stack.
    mutating func run() {
        var boxes = [middle]
        while var box = boxes.popLast() {
            // Shrink the box by its common prefix and suffix.
            while box.x0 < box.x1, box.y0 < box.y1, a[box.x0] == b[box.y0] {
                box.x0 += 1
                box.y0 += 1
            }
            while box.x0 < box.x1, box.y0 < box.y1, a[box.x1 - 1] == b[box.y1 - 1] {
                box.x1 -= 1
                box.y1 -= 1
            }
            if box.x0 == box.x1 || box.y0 == box.y1 {
                for x in box.x0..<box.x1 { removed[x] = true }
                for y in box.y0..<box.y1 { added[y] = true }
                continue
            }
            let (x, y, kind) = split(box)
            // A split must leave two strictly smaller boxes; if it ever did not, replacing the
            // whole box is still a correct (if longer) diff, and the loop still ends.
            let inside = box.x0 <= x && x <= box.x1 && box.y0 <= y && y <= box.y1
            if !inside || (x == box.x0 && y == box.y0) || (x == box.x1 && y == box.y1) {
                for x in box.x0..<box.x1 { removed[x] = true }
                for y in box.y0..<box.y1 { added[y] = true }
                continue
            }
            // After an exact split both halves are cheap to search exactly; after a cut-off, the
            // half the furthest search went through is.
            boxes.append(Box(x0: x, x1: box.x1, y0: y, y1: box.y1, minimal: kind != .forwardCutOff))
            boxes.append(Box(x0: box.x0, x1: x, y0: box.y0, y1: y, minimal: kind != .backwardCutOff))
        }
    }

    /// A point of a shortest path through `box` (not empty on either side, and whose first and
    /// last elements differ), found where the forward search from the top-left corner
    /// meets the backward search from the bottom-right one. Coordinates inside are relative to
    /// the box; a move right removes a[x], a move down adds b[y], a diagonal keeps a match.
    mutating func split(_ box: Box) -> (x: Int, y: Int, kind: SplitKind) {
        let n = box.x1 - box.x0, m = box.y1 - box.y0
        let delta = n - m
        let odd = delta & 1 != 0
        let unreachedForward = self.unreachedForward, unreachedBackward = self.unreachedBackward
        func index(_ k: Int) -> Int { k + m + 1 }
        func matches(_ x: Int, _ y: Int) -> Bool { a[box.x0 + x] == b[box.y0 + y] }
        // Clears a diagonal the search is about to reach, if it lies inside the box's range.
        func clear(_ v: inout [Int], _ k: Int, _ value: Int) {
            if k >= -m - 1 && k <= n + 1 { v[index(k)] = value }
        }

        clear(&forward, -1, unreachedForward)
        clear(&forward, 1, unreachedForward)
        forward[index(0)] = 0
        clear(&backward, delta - 1, unreachedBackward)
        clear(&backward, delta + 1, unreachedBackward)
        backward[index(delta)] = n

        var d = 0
        while true {
            // Forward: extend every diagonal of this cost by one edit, then along its snake,
            // from the highest diagonal down, as xdiff does, so that ties resolve as in git.
            if d > 0 {
                clear(&forward, -d - 1, unreachedForward)
                clear(&forward, d + 1, unreachedForward)
            }
            for k in stride(from: min(d, n - ((n + d) & 1)), through: max(-d, -m + ((m + d) & 1)), by: -2) {
                // The best of: this diagonal at a lower cost, a move down from k + 1, a move
                // right from k - 1, each only if it stays inside the box.
                var x = forward[index(k)]
                let down = forward[index(k + 1)]
                if down != unreachedForward, down - k <= m, down > x { x = down }
                let right = forward[index(k - 1)]
                if right != unreachedForward, right + 1 <= n, right + 1 > x { x = right + 1 }
                if x == unreachedForward { continue }
                var y = x - k
                while x < n, y < m, matches(x, y) {
                    x += 1
                    y += 1
                }
                forward[index(k)] = x
                // Met the backward search (of one edit less) on this diagonal?
                if odd, abs(k - delta) < d, backward[index(k)] <= x { return (box.x0 + x, box.y0 + y, .exact) }
            }

            // Backward, the mirror image, from the bottom-right corner.
            if d > 0 {
                clear(&backward, delta - d - 1, unreachedBackward)
                clear(&backward, delta + d + 1, unreachedBackward)
            }
            for k in stride(from: min(delta + d, n - ((n + delta + d) & 1)),
                            through: max(delta - d, -m + ((m + delta + d) & 1)), by: -2) {
                var x = backward[index(k)]
                let up = backward[index(k - 1)]
                if up != unreachedBackward, up - k >= 0, up < x { x = up }
                let left = backward[index(k + 1)]
                if left != unreachedBackward, left - 1 >= 0, left - 1 < x { x = left - 1 }
                if x == unreachedBackward { continue }
                var y = x - k
                while x > 0, y > 0, matches(x - 1, y - 1) {
                    x -= 1
                    y -= 1
                }
                backward[index(k)] = x
                // Met the forward search (of as many edits) on this diagonal?
                if !odd, abs(k) <= d, forward[index(k)] >= x { return (box.x0 + x, box.y0 + y, .exact) }
            }

            if d >= maxCost && !box.minimal { return furthest(box, cost: d) }
            d += 1
        }
    }

    /// Where the two searches met, or which of them got further before the cut-off.
    enum SplitKind { case exact, forwardCutOff, backwardCutOff }

    /// After too many edits: the point, of either search, that got furthest from its corner.
    func furthest(_ box: Box, cost d: Int) -> (x: Int, y: Int, kind: SplitKind) {
        let n = box.x1 - box.x0, m = box.y1 - box.y0
        let delta = n - m
        var forwardBest = (sum: -1, x: 0)
        for k in stride(from: min(d, n - ((n + d) & 1)), through: max(-d, -m + ((m + d) & 1)), by: -2) {
            let x = forward[k + m + 1]
            if x != unreachedForward, 2 * x - k > forwardBest.sum { forwardBest = (2 * x - k, x) }
        }
        var backwardBest = (sum: Int.max, x: 0)
        for k in stride(from: min(delta + d, n - ((n + delta + d) & 1)),
                        through: max(delta - d, -m + ((m + delta + d) & 1)), by: -2) {
            let x = backward[k + m + 1]
            if x != unreachedBackward, 2 * x - k < backwardBest.sum { backwardBest = (2 * x - k, x) }
        }
        if (n + m) - backwardBest.sum < forwardBest.sum {
            return (box.x0 + forwardBest.x, box.y0 + forwardBest.sum - forwardBest.x, .forwardCutOff)
        }
        return (box.x0 + backwardBest.x, box.y0 + backwardBest.sum - backwardBest.x, .backwardCutOff)
    }
}

/// A run of changed elements `start..<end` of one sequence, between two kept ones. It may be
/// empty, lying just before element `start`.
private struct ChangeRun {
    var start = 0, end = 0

    var isEmpty: Bool { start == end }

    static func isSet(_ flags: [Bool], _ i: Int) -> Bool { i >= 0 && i < flags.count && flags[i] }

    /// The first run of `flags`.
    init(first flags: [Bool]) {
        while Self.isSet(flags, end) { end += 1 }
    }

    /// Moves to the next run, after the kept element that ends this one; false at the end.
    mutating func next(_ flags: [Bool]) -> Bool {
        if end >= flags.count { return false }
        start = end + 1
        end = start
        while Self.isSet(flags, end) { end += 1 }
        return true
    }

    /// Moves to the previous run; false at the start.
    mutating func previous(_ flags: [Bool]) -> Bool {
        if start <= 0 { return false }
        end = start - 1
        start = end
        while Self.isSet(flags, start - 1) { start -= 1 }
        return true
    }
}

/// git's `xdl_change_compact` (without the indent heuristic, as `git merge-file` runs it). A run
/// of changes whose first element equals the element after it can slide down one place, one
/// whose last equals the element before it up one, and the diff stays as long. Each run is slid
/// as far down as it goes (absorbing runs it meets), then back up to the last place where it
/// lines up with a run of changes in the other sequence, if it passed one.
///
/// The runs of the two sequences pair up, one for one, between the kept elements; `other` marks
/// the other sequence's changes, and its run paired with the current one is tracked alongside.
private struct Slider<T: Equatable> {
    let elements: [T]
    var changed: [Bool]
    let other: [Bool]

    mutating func slideDown(_ run: inout ChangeRun) -> Bool {
        guard run.end < elements.count, elements[run.start] == elements[run.end] else { return false }
        changed[run.start] = false
        changed[run.end] = true
        run.start += 1
        run.end += 1
        while ChangeRun.isSet(changed, run.end) { run.end += 1 }
        return true
    }

    mutating func slideUp(_ run: inout ChangeRun) -> Bool {
        guard run.start > 0, elements[run.start - 1] == elements[run.end - 1] else { return false }
        changed[run.start - 1] = true
        changed[run.end - 1] = false
        run.start -= 1
        run.end -= 1
        while ChangeRun.isSet(changed, run.start - 1) { run.start -= 1 }
        return true
    }

    mutating func run() {
        var run = ChangeRun(first: changed), paired = ChangeRun(first: other)
        while true {
            if !run.isEmpty {
                var earliestEnd: Int, alignedEnd: Int?, size: Int
                repeat {
                    size = run.end - run.start
                    alignedEnd = nil
                    while slideUp(&run) { _ = paired.previous(other) }
                    earliestEnd = run.end
                    if !paired.isEmpty { alignedEnd = run.end }
                    while slideDown(&run) {
                        _ = paired.next(other)
                        if !paired.isEmpty { alignedEnd = run.end }
                    }
                } while size != run.end - run.start
                // Back up to the last place it lined up with the other side's changes.
                if run.end != earliestEnd, alignedEnd != nil {
                    while paired.isEmpty, slideUp(&run), paired.previous(other) {}
                }
            }
            guard run.next(changed) else { break }
            _ = paired.next(other)
        }
    }
}
