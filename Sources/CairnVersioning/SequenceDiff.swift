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
/// Like git's xdiff, a search that costs more than `maxCost` edits gives up on the exact meeting
/// point and splits at the furthest point either search reached, which bounds the time on inputs
/// that differ everywhere at the price of a diff that may then be slightly longer than minimal.
enum SequenceDiff {
    /// Minimal (or near-minimal) hunks from a to b, in increasing order, non-overlapping,
    /// non-adjacent (adjacent hunks are merged into one).
    static func hunks<T: Equatable>(_ a: [T], _ b: [T]) -> [SequenceHunk] {
        // The common prefix and suffix never change; only the middle is searched.
        var start = 0
        while start < a.count, start < b.count, a[start] == b[start] { start += 1 }
        var endA = a.count, endB = b.count
        while endA > start, endB > start, a[endA - 1] == b[endB - 1] {
            endA -= 1
            endB -= 1
        }
        if start == endA && start == endB { return [] }
        if start == endA || start == endB { return [SequenceHunk(a: start..<endA, b: start..<endB)] }

        var search = MyersSearch(a: a, b: b, middle: MyersSearch.Box(x0: start, x1: endA, y0: start, y1: endB))
        search.run()
        search.slideHunks()
        return search.hunks()
    }
}

/// The state of one diff: the two sequences, which elements are removed from a and added in b,
/// and the two diagonal vectors the searches reuse from box to box.
private struct MyersSearch<T: Equatable> {
    let a: [T]
    let b: [T]
    var removed: [Bool]
    var added: [Bool]
    /// For diagonal k = x - y of the current box, at index k + m + 1 (m the box's height): the
    /// furthest x the forward search reached, or `Self.unreachedForward`.
    var forward: [Int]
    /// Likewise the smallest x the backward search reached, or `Self.unreachedBackward`.
    var backward: [Int]
    let maxCost: Int

    static var unreachedForward: Int { -1 }
    static var unreachedBackward: Int { Int.max }

    let middle: Box

    /// A diff of a and b whose differences all lie in `middle`.
    init(a: [T], b: [T], middle: Box) {
        self.a = a
        self.b = b
        self.middle = middle
        removed = Array(repeating: false, count: a.count)
        added = Array(repeating: false, count: b.count)
        // Diagonals of any box inside the middle run from -m - 1 to n + 1, with two sentinels.
        let size = (middle.x1 - middle.x0) + (middle.y1 - middle.y0)
        forward = Array(repeating: Self.unreachedForward, count: size + 3)
        backward = Array(repeating: Self.unreachedBackward, count: size + 3)
        // At least 256 edits, more for very long inputs: about the square root of their length.
        var root = 0
        while (root + 1) * (root + 1) <= size { root += 1 }
        maxCost = max(256, root)
    }

    /// A box of the edit graph: a[x0..<x1] against b[y0..<y1].
    struct Box { var x0, x1, y0, y1: Int }

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
            let (x, y) = split(box)
            // A split must leave two strictly smaller boxes; if it ever did not, replacing the
            // whole box is still a correct (if longer) diff, and the loop still ends.
            let inside = box.x0 <= x && x <= box.x1 && box.y0 <= y && y <= box.y1
            if !inside || (x == box.x0 && y == box.y0) || (x == box.x1 && y == box.y1) {
                for x in box.x0..<box.x1 { removed[x] = true }
                for y in box.y0..<box.y1 { added[y] = true }
                continue
            }
            boxes.append(Box(x0: x, x1: box.x1, y0: y, y1: box.y1))
            boxes.append(Box(x0: box.x0, x1: x, y0: box.y0, y1: y))
        }
    }

    /// A point of a shortest path through `box` (whose first and last elements differ, and which
    /// is neither empty nor one wide), found where the forward search from the top-left corner
    /// meets the backward search from the bottom-right one. Coordinates inside are relative to
    /// the box; a move right removes a[x], a move down adds b[y], a diagonal keeps a match.
    mutating func split(_ box: Box) -> (Int, Int) {
        let n = box.x1 - box.x0, m = box.y1 - box.y0
        let delta = n - m
        let odd = delta & 1 != 0
        @inline(__always) func index(_ k: Int) -> Int { k + m + 1 }
        @inline(__always) func matches(_ x: Int, _ y: Int) -> Bool { a[box.x0 + x] == b[box.y0 + y] }
        // Clears a diagonal the search is about to reach, if it lies inside the box's range.
        func clear(_ v: inout [Int], _ k: Int, _ value: Int) {
            if k >= -m - 1 && k <= n + 1 { v[index(k)] = value }
        }

        clear(&forward, -1, Self.unreachedForward)
        clear(&forward, 1, Self.unreachedForward)
        forward[index(0)] = 0
        clear(&backward, delta - 1, Self.unreachedBackward)
        clear(&backward, delta + 1, Self.unreachedBackward)
        backward[index(delta)] = n

        var d = 0
        while true {
            // Forward: extend every diagonal of this cost by one edit, then along its snake.
            if d > 0 {
                clear(&forward, -d - 1, Self.unreachedForward)
                clear(&forward, d + 1, Self.unreachedForward)
            }
            // (From the highest diagonal down, as xdiff does, so ties resolve as in git.)
            for k in stride(from: min(d, n - ((n + d) & 1)), through: max(-d, -m + ((m + d) & 1)), by: -2) {
                // The best of: this diagonal at a lower cost, a move down from k + 1, a move
                // right from k - 1, each only if it stays inside the box.
                var x = forward[index(k)]
                let down = forward[index(k + 1)]
                if down != Self.unreachedForward, down - k <= m, down > x { x = down }
                let right = forward[index(k - 1)]
                if right != Self.unreachedForward, right + 1 <= n, right + 1 > x { x = right + 1 }
                if x == Self.unreachedForward { continue }
                var y = x - k
                while x < n, y < m, matches(x, y) {
                    x += 1
                    y += 1
                }
                forward[index(k)] = x
                // Met the backward search (of one edit less) on this diagonal?
                if odd, abs(k - delta) < d, backward[index(k)] <= x { return (box.x0 + x, box.y0 + y) }
            }

            // Backward, the mirror image, from the bottom-right corner.
            if d > 0 {
                clear(&backward, delta - d - 1, Self.unreachedBackward)
                clear(&backward, delta + d + 1, Self.unreachedBackward)
            }
            for k in stride(from: min(delta + d, n - ((n + delta + d) & 1)),
                            through: max(delta - d, -m + ((m + delta + d) & 1)), by: -2) {
                var x = backward[index(k)]
                let up = backward[index(k - 1)]
                if up != Self.unreachedBackward, up - k >= 0, up < x { x = up }
                let left = backward[index(k + 1)]
                if left != Self.unreachedBackward, left - 1 >= 0, left - 1 < x { x = left - 1 }
                if x == Self.unreachedBackward { continue }
                var y = x - k
                while x > 0, y > 0, matches(x - 1, y - 1) {
                    x -= 1
                    y -= 1
                }
                backward[index(k)] = x
                // Met the forward search (of as many edits) on this diagonal?
                if !odd, abs(k) <= d, forward[index(k)] >= x { return (box.x0 + x, box.y0 + y) }
            }

            if d >= maxCost { return furthest(box, cost: d) }
            d += 1
        }
    }

    /// After too many edits: the point, of either search, that got furthest from its corner.
    func furthest(_ box: Box, cost d: Int) -> (Int, Int) {
        let n = box.x1 - box.x0, m = box.y1 - box.y0
        let delta = n - m
        var best = (progress: -1, x: 0, y: 0)
        for k in stride(from: max(-d, -m + ((m + d) & 1)), through: min(d, n - ((n + d) & 1)), by: 2) {
            let x = forward[k + m + 1]
            if x != Self.unreachedForward, 2 * x - k > best.progress { best = (2 * x - k, x, x - k) }
        }
        for k in stride(from: max(delta - d, -m + ((m + delta + d) & 1)),
                        through: min(delta + d, n - ((n + delta + d) & 1)), by: 2) {
            let x = backward[k + m + 1]
            if x != Self.unreachedBackward, (n + m) - (2 * x - k) > best.progress {
                best = ((n + m) - (2 * x - k), x, x - k)
            }
        }
        return (box.x0 + best.x, box.y0 + best.y)
    }

    /// Moves each run of removals, then each run of additions, to where git's diff puts it,
    /// which among equally short diffs picks the one git picks.
    mutating func slideHunks() {
        var removals = Slider(elements: a, changed: removed, other: added)
        removals.run()
        removed = removals.changed
        var additions = Slider(elements: b, changed: added, other: removed)
        additions.run()
        added = additions.changed
    }

    /// The marks as hunks: each maximal run of removals and additions between two kept elements.
    func hunks() -> [SequenceHunk] {
        var out: [SequenceHunk] = []
        var x = 0, y = 0
        while x < a.count || y < b.count {
            if x < a.count, y < b.count, !removed[x], !added[y] {
                x += 1
                y += 1
                continue
            }
            let x0 = x, y0 = y
            while x < a.count, removed[x] { x += 1 }
            while y < b.count, added[y] { y += 1 }
            if x == x0 && y == y0 {
                // Kept elements on one side only cannot happen; should it, end with one hunk.
                out.append(SequenceHunk(a: x0..<a.count, b: y0..<b.count))
                break
            }
            out.append(SequenceHunk(a: x0..<x, b: y0..<y))
        }
        return out
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
