/// The `text` merge rule: a three-way merge of a string as a sequence of lines, with the result
/// `git merge-file` gives under its default settings.
///
/// A line ends at LF and includes it; a CR before the LF is part of the line, and a last line
/// without LF differs from the same text with one. Lines compare byte for byte (UTF-8), with no
/// Unicode normalisation.
///
/// The hunks base→ours and base→theirs are gathered into groups: a hunk joins a group when its
/// base lines overlap or touch (are adjacent to) those of a hunk already in it. A group changed
/// on one side only takes that side's lines. A group changed on both sides merges only when both
/// turn its base lines into the same lines (identical edits, applied once); otherwise the merge
/// is a conflict. So an edit is never dropped or applied elsewhere: a clean result holds every
/// edit of both sides, exactly.
///
/// This is git's rule: it also conflicts on touching hunks and on two different insertions at
/// the same point, and its zealous refinement of a conflict clears it exactly when the two
/// sides' lines over the conflict are equal. The line diffs come from SequenceDiff, which makes
/// the choices git's diff makes where lines repeat, so the hunks themselves agree too.
enum TextMerge {
    /// Merges the edits base→ours and base→theirs. nil means a conflict.
    static func merge(base: String, ours: String, theirs: String) -> String? {
        // Byte comparisons: String's == counts canonically equivalent strings as equal.
        if ours.utf8.elementsEqual(theirs.utf8) || theirs.utf8.elementsEqual(base.utf8) { return ours }
        if ours.utf8.elementsEqual(base.utf8) { return theirs }
        // Every line of the result is a whole line of one of the three, so it is valid UTF-8.
        return merge(base: Array(base.utf8), ours: Array(ours.utf8), theirs: Array(theirs.utf8))
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// Merges the edits base→ours and base→theirs of byte strings. nil means a conflict.
    static func merge(base: [UInt8], ours: [UInt8], theirs: [UInt8]) -> [UInt8]? {
        if ours == theirs || theirs == base { return ours }
        if ours == base { return theirs }

        var numbers: [ArraySlice<UInt8>: Int] = [:]
        let b = Lines(base, numbers: &numbers)
        let o = Lines(ours, numbers: &numbers)
        let t = Lines(theirs, numbers: &numbers)
        let toOurs = SequenceDiff.hunks(b.ids, o.ids)
        let toTheirs = SequenceDiff.hunks(b.ids, t.ids)

        var out: [UInt8] = []
        out.reserveCapacity(max(ours.count, theirs.count))
        var copied = 0  // base lines before this one are in `out` or replaced there
        var i = 0, j = 0
        while i < toOurs.count || j < toTheirs.count {
            // A group starts at the side's hunk that starts first in base...
            let i0 = i, j0 = j
            var lo: Int, hi: Int
            if j == toTheirs.count || (i < toOurs.count && toOurs[i].a.lowerBound <= toTheirs[j].a.lowerBound) {
                (lo, hi) = (toOurs[i].a.lowerBound, toOurs[i].a.upperBound)
                i += 1
            } else {
                (lo, hi) = (toTheirs[j].a.lowerBound, toTheirs[j].a.upperBound)
                j += 1
            }
            // ...and takes in every hunk of either side that overlaps or touches base[lo..<hi].
            // (Hunks of one side never touch each other, so only the other side's can bridge.)
            var grew = true
            while grew {
                grew = false
                while i < toOurs.count, toOurs[i].a.lowerBound <= hi {
                    hi = max(hi, toOurs[i].a.upperBound)
                    i += 1
                    grew = true
                }
                while j < toTheirs.count, toTheirs[j].a.lowerBound <= hi {
                    hi = max(hi, toTheirs[j].a.upperBound)
                    j += 1
                    grew = true
                }
            }

            out += b.bytes(lines: copied..<lo)
            switch (i > i0, j > j0) {
            case (true, false):
                out += o.bytes(lines: span(toOurs[i0..<i], base: lo..<hi))
            case (false, true):
                out += t.bytes(lines: span(toTheirs[j0..<j], base: lo..<hi))
            default:
                let oursLines = span(toOurs[i0..<i], base: lo..<hi)
                let theirsLines = span(toTheirs[j0..<j], base: lo..<hi)
                guard o.ids[oursLines] == t.ids[theirsLines] else { return nil }
                out += o.bytes(lines: oursLines)
            }
            copied = hi
        }
        out += b.bytes(lines: copied..<b.ids.count)
        return out
    }

    /// The lines of one side that stand for base lines `base`, given that side's hunks among
    /// them: outside the hunks its lines are the base's, one for one.
    private static func span(_ hunks: ArraySlice<SequenceHunk>, base: Range<Int>) -> Range<Int> {
        guard let first = hunks.first, let last = hunks.last else { return base }
        let lower = first.b.lowerBound - (first.a.lowerBound - base.lowerBound)
        let upper = last.b.upperBound + (base.upperBound - last.a.upperBound)
        return lower..<upper
    }

    /// A byte string cut into lines, each also as a number that equal lines share.
    private struct Lines {
        let text: [UInt8]
        /// Where each line starts; one more entry, the end of the text, closes the last line.
        var starts: [Int] = [0]
        var ids: [Int] = []

        init(_ text: [UInt8], numbers: inout [ArraySlice<UInt8>: Int]) {
            self.text = text
            var start = 0
            for (at, byte) in text.enumerated() where byte == UInt8(ascii: "\n") || at == text.count - 1 {
                let line = text[start...at]
                if let id = numbers[line] {
                    ids.append(id)
                } else {
                    ids.append(numbers.count)
                    numbers[line] = numbers.count
                }
                start = at + 1
                starts.append(start)
            }
        }

        /// The bytes of a run of lines, which lie together in the text.
        func bytes(lines: Range<Int>) -> ArraySlice<UInt8> {
            text[starts[lines.lowerBound]..<starts[lines.upperBound]]
        }
    }
}
