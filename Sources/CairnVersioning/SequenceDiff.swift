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

        var search = MyersSearch(a: a[start..<endA], b: b[start..<endB])
        search.run()
        return search.hunks().map { SequenceHunk(a: $0.a.lowerBound + start..<$0.a.upperBound + start,
                                                 b: $0.b.lowerBound + start..<$0.b.upperBound + start) }
    }
}

/// The state of one diff: the two sequences (indexed from 0), which elements are removed from a
/// and added in b, and the two diagonal vectors the searches reuse from box to box.
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

    init(a: ArraySlice<T>, b: ArraySlice<T>) {
        self.a = Array(a)
        self.b = Array(b)
        removed = Array(repeating: false, count: a.count)
        added = Array(repeating: false, count: b.count)
        // Diagonals of any box run from -m - 1 to n + 1, counting the two sentinels.
        forward = Array(repeating: Self.unreachedForward, count: a.count + b.count + 3)
        backward = Array(repeating: Self.unreachedBackward, count: a.count + b.count + 3)
        // At least 256 edits, more for very long inputs: about the square root of their length.
        var root = 0
        while (root + 1) * (root + 1) <= a.count + b.count { root += 1 }
        maxCost = max(256, root)
    }

    /// A box of the edit graph: a[x0..<x1] against b[y0..<y1].
    struct Box { var x0, x1, y0, y1: Int }

    /// Marks every removed and added element. A stack of boxes instead of recursion keeps deep
    /// splits (possible after the cost cut-off) off the call stack.
    mutating func run() {
        var boxes = [Box(x0: 0, x1: a.count, y0: 0, y1: b.count)]
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
            for k in stride(from: max(-d, -m + ((m + d) & 1)), through: min(d, n - ((n + d) & 1)), by: 2) {
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
            for k in stride(from: max(delta - d, -m + ((m + delta + d) & 1)),
                            through: min(delta + d, n - ((n + delta + d) & 1)), by: 2) {
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
