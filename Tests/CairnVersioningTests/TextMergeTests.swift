import Foundation
import Testing
@testable import CairnVersioning

/// The `text` merge rule: hand cases, then agreement with `git merge-file` on generated cases,
/// then the diff beneath it.
@Suite struct TextMergeTests {
    func merge(_ base: String, _ ours: String, _ theirs: String) -> String? {
        TextMerge.merge(base: base, ours: ours, theirs: theirs)
    }

    @Test func nonOverlappingEditsBothApply() {
        #expect(merge("a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n") == "A\nb\nc\nd\nE\n")
        // One untouched line between the two edits is enough.
        #expect(merge("a\nb\nc\nd\ne\n", "a\nB\nc\nd\ne\n", "a\nb\nc\nD\ne\n") == "a\nB\nc\nD\ne\n")
        // Insertions on both sides, apart.
        #expect(merge("a\nb\nc\n", "x\na\nb\nc\n", "a\nb\nc\ny\n") == "x\na\nb\nc\ny\n")
    }

    @Test func sameLineChangedDifferentlyConflicts() {
        #expect(merge("a\nb\nc\n", "a\nX\nc\n", "a\nY\nc\n") == nil)
        // A change overlapping part of the other side's change.
        #expect(merge("a\nb\nc\nd\n", "a\nX\nY\nd\n", "a\nb\nZ\nd\n") == nil)
    }

    @Test func touchingLinesConflict() {
        #expect(merge("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n") == nil)
        // An insertion right after a line the other side changed touches it too.
        #expect(merge("a\nb\nc\n", "a\nB\nc\n", "a\nb\nnew\nc\n") == nil)
        #expect(merge("a\nb\nc\n", "a\nnew\nb\nc\n", "a\nB\nc\n") == nil)
    }

    @Test func identicalEditsMergeOnce() {
        #expect(merge("a\nb\nc\n", "a\nX\nc\n", "a\nX\nc\n") == "a\nX\nc\n")
        // The same change on both sides, and one more change on ours only.
        #expect(merge("a\nb\nc\nd\ne\n", "a\nX\nc\nd\nE\n", "a\nX\nc\nd\ne\n") == "a\nX\nc\nd\nE\n")
        #expect(merge("a\nb\n", "a\nnew\nb\n", "a\nnew\nb\n") == "a\nnew\nb\n")
    }

    @Test func insertionsAtTheSamePoint() {
        #expect(merge("a\nb\n", "a\nX\nb\n", "a\nY\nb\n") == nil)
        #expect(merge("a\nb\n", "a\nb\nX\n", "a\nb\nY\n") == nil)
        #expect(merge("a\nb\n", "X\na\nb\n", "X\na\nb\nY\n") == "X\na\nb\nY\n")
    }

    @Test func crlfLinesCompareByteForByte() {
        let base = "a\r\nb\r\nc\r\nd\r\n"
        // A CR is part of its line: dropping it is an edit, which merges with one elsewhere...
        #expect(merge(base, "a\r\nb\r\nc\r\nd\n", "A\r\nb\r\nc\r\nd\r\n") == "A\r\nb\r\nc\r\nd\n")
        // ...and conflicts with a different edit of the same line.
        #expect(merge(base, "a\r\nb\nc\r\nd\r\n", "a\r\nB\r\nc\r\nd\r\n") == nil)
        #expect(merge(base, "a\r\nB\r\nc\r\nd\r\n", "a\r\nb\r\nc\r\nD\r\n") == "a\r\nB\r\nc\r\nD\r\n")
    }

    @Test func missingFinalNewline() {
        // A last line without LF is another line than the same text with LF.
        #expect(merge("a\nb\nc", "A\nb\nc", "a\nb\nc\n") == "A\nb\nc\n")
        #expect(merge("a\nb\nc", "a\nb\nc\n", "a\nb\nC") == nil)
        // Appending to a text without a final LF changes its last line: it touches an edit of
        // the line before, as in git.
        #expect(merge("a\nb\nc", "a\nb\nc\nd", "A\nb\nc") == "A\nb\nc\nd")
        #expect(merge("a\nb\nc", "a\nb\nc\nd", "a\nB\nc") == nil)
        #expect(merge("a\nb\n", "a\nb", "A\nb\n") == nil)
        #expect(merge("a\nb\nc\n", "a\nb\nc", "A\nb\nc\n") == "A\nb\nc")
    }

    @Test func emptyBase() {
        #expect(merge("", "a\n", "") == "a\n")
        #expect(merge("", "", "b\n") == "b\n")
        #expect(merge("", "a\n", "a\n") == "a\n")
        #expect(merge("", "a\n", "b\n") == nil)
        #expect(merge("", "a\nb\n", "a\n") == nil)
    }

    @Test func deletions() {
        let base = "a\nb\nc\nd\ne\n"
        #expect(merge(base, "a\nc\nd\ne\n", "a\nb\nc\ne\n") == "a\nc\ne\n")
        #expect(merge(base, "a\nc\nd\ne\n", "a\nc\nd\ne\n") == "a\nc\nd\ne\n")
        #expect(merge(base, "a\nc\nd\ne\n", "a\nB\nc\nd\ne\n") == nil)
        // Deleting neighbouring lines on the two sides touches.
        #expect(merge(base, "a\nc\nd\ne\n", "a\nb\nd\ne\n") == nil)
        #expect(merge(base, "", "a\nb\nc\nd\nE\n") == nil)
        #expect(merge(base, "", base) == "")
        #expect(merge(base, "a\nb\nc\nd\nE\n", "") == nil)
    }

    /// Strings compare as bytes: a canonically equivalent spelling is still an edit.
    @Test func noUnicodeNormalisation() throws {
        let base = "caf\u{E9}\nx\ny\n", ours = "cafe\u{301}\nx\ny\n"
        let merged = try #require(merge(base, ours, base))
        #expect(Array(merged.utf8) == Array(ours.utf8))
        let both = try #require(merge(base, ours, "caf\u{E9}\nx\nY\n"))
        #expect(Array(both.utf8) == Array("cafe\u{301}\nx\nY\n".utf8))
        #expect(merge(base, ours, "caf\u{E8}\nx\ny\n") == nil)
    }

    @Test func bytesVariant() {
        let m = TextMerge.merge(base: Array("a\nb\nc\n".utf8), ours: Array("A\nb\nc\n".utf8),
                                theirs: Array("a\nb\nC\n".utf8))
        #expect(m == Array("A\nb\nC\n".utf8))
        #expect(TextMerge.merge(base: [0x61, 0x0A], ours: [0x62, 0x0A], theirs: [0x63, 0x0A]) == nil)
    }

    // MARK: Agreement with git merge-file

    /// For each seeded case, `git merge-file -p ours base theirs` and TextMerge agree: where git
    /// merges cleanly (exit 0), the same text; where it reports conflicts (exit > 0), nil.
    ///
    /// The base has distinct lines, and every line either side adds is new (though theirs may
    /// repeat one of ours' edits exactly, for identical edits). Then each diff has only one
    /// shortest form, so this checks the merge rule itself.
    @Test(.enabled(if: GitMergeFile.isAvailable)) func agreesWithGitMergeFile() throws {
        try expectAgreementWithGit((UInt64(0)..<300).map { MergeCase(seed: $0) })
    }

    /// Lines that repeat, as blank lines and braces do, let equally short diffs put a hunk in
    /// different places, which can decide between a clean merge and a conflict. SequenceDiff
    /// makes git's choices (xdiff's search order, set-aside elements and hunk sliding), so the
    /// agreement is exact here too.
    @Test(.enabled(if: GitMergeFile.isAvailable)) func agreesWithGitMergeFileOnRepeatedLines() throws {
        try expectAgreementWithGit((UInt64(0)..<120).map { MergeCase(repeatedLinesSeed: $0) })
    }

    private func expectAgreementWithGit(_ cases: [MergeCase]) throws {
        let git = try GitMergeFile()
        defer { git.remove() }
        var clean = 0, conflicts = 0
        for (i, c) in cases.enumerated() {
            let (status, output) = try git.merge(base: c.base, ours: c.ours, theirs: c.theirs)
            let mine = TextMerge.merge(base: c.base, ours: c.ours, theirs: c.theirs)
            if status == 0 {
                clean += 1
                #expect(mine.map { Array($0.utf8) } == Array(output), "case \(i): \(c)")
            } else {
                conflicts += 1
                #expect(status > 0 && status < 128, "case \(i): git failed")
                #expect(mine == nil, "case \(i): \(c)")
            }
        }
        // The generator must exercise both outcomes.
        #expect(clean > cases.count / 6 && conflicts > cases.count / 6)
    }

    // MARK: SequenceDiff

    /// Applying the hunks to a gives b, and the hunks are ordered and apart. Without Hashable
    /// the diff is as short as can be (checked against the longest common subsequence); with
    /// it, like git's, it may be longer where it sets very common elements aside.
    @Test func sequenceDiffHunksRebuildTheTarget() {
        var rng = MergeRandom(seed: 99)
        for round in 0..<2000 {
            let alphabet = 1 + rng.below(round % 3 == 0 ? 3 : 10)
            let a = (0..<rng.below(30)).map { _ in rng.below(alphabet) }
            var b = a
            if round % 2 == 0 {
                b = (0..<rng.below(30)).map { _ in rng.below(alphabet) }
            } else {
                for _ in 0..<rng.below(6) {
                    switch rng.below(3) {
                    case 0 where !b.isEmpty: b.remove(at: rng.below(b.count))
                    case 1: b.insert(rng.below(alphabet + 2), at: rng.below(b.count + 1))
                    default: if !b.isEmpty { b[rng.below(b.count)] = rng.below(alphabet + 2) }
                    }
                }
            }
            let plain = SequenceDiff.hunks(a.map(Plain.init), b.map(Plain.init))
            for hunks in [plain, SequenceDiff.hunks(a, b)] {
                #expect(apply(hunks, a, b) == b, "\(a) → \(b): \(hunks)")
                #expect(zip(hunks, hunks.dropFirst()).allSatisfy {
                    $0.a.upperBound < $1.a.lowerBound && $0.b.upperBound < $1.b.lowerBound
                })
                #expect(hunks.allSatisfy { !$0.a.isEmpty || !$0.b.isEmpty })
            }
            let cost = plain.reduce(0) { $0 + $1.a.count + $1.b.count }
            #expect(cost == a.count + b.count - 2 * longestCommonSubsequence(a, b), "\(a) → \(b): \(plain)")
        }
    }

    /// An element that is Equatable only.
    struct Plain: Equatable {
        var value: Int
    }

    /// It works on lines as slices of a text, as TextMerge's callers may use it.
    @Test func sequenceDiffOfLineSlices() {
        let a = Array("a\nb\nc\n".utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let b = Array("a\nB\nc\nd\n".utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(SequenceDiff.hunks(a, b) == [SequenceHunk(a: 1..<2, b: 1..<2), SequenceHunk(a: 3..<3, b: 3..<4)])
        #expect(SequenceDiff.hunks([[UInt8]](), [[1], [2]]) == [SequenceHunk(a: 0..<0, b: 0..<2)])
        #expect(SequenceDiff.hunks([[UInt8(1)]], [[1]]).isEmpty)
    }

    /// 10,000 elements with 3 changes spread over them: O(ND) makes it quick.
    @Test func sequenceDiffOfLargeInputsWithFewChanges() {
        let a = Array(0..<10_000)
        var b = a
        b[10] = -1
        b.insert(-2, at: 5_000)
        b.remove(at: 9_990)
        let expected = [SequenceHunk(a: 10..<11, b: 10..<11), SequenceHunk(a: 5_000..<5_000, b: 5_000..<5_001),
                        SequenceHunk(a: 9_989..<9_990, b: 9_990..<9_990)]
        let clock = ContinuousClock()
        var hunks: [SequenceHunk] = [], plain: [SequenceHunk] = []
        let elapsed = clock.measure {
            hunks = SequenceDiff.hunks(a, b)
            plain = SequenceDiff.hunks(a.map(Plain.init), b.map(Plain.init))
        }
        #expect(hunks == expected)
        #expect(plain == expected)
        #expect(elapsed < .seconds(1))
        // Inputs that differ everywhere stay bounded too, by the cost cut-off.
        let other = (0..<10_000).map { $0 * 7 % 13 }
        #expect(apply(SequenceDiff.hunks(a, other), a, other) == other)
        #expect(apply(SequenceDiff.hunks(a.map(Plain.init), other.map(Plain.init)), a, other) == other)
    }

    func apply(_ hunks: [SequenceHunk], _ a: [Int], _ b: [Int]) -> [Int]? {
        var out: [Int] = []
        var at = 0
        for h in hunks {
            guard h.a.lowerBound >= at, h.a.upperBound <= a.count, h.b.upperBound <= b.count else { return nil }
            out += a[at..<h.a.lowerBound]
            guard out.count == h.b.lowerBound else { return nil }
            out += b[h.b]
            at = h.a.upperBound
        }
        return out + a[at...]
    }

    func longestCommonSubsequence(_ a: [Int], _ b: [Int]) -> Int {
        var previous = [Int](repeating: 0, count: b.count + 1)
        for x in a {
            var current = [Int](repeating: 0, count: b.count + 1)
            for (j, y) in b.enumerated() {
                current[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], current[j])
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// SplitMix64 (Steele, Lea, Flood): a tiny seeded generator, so a failing case replays from its
/// seed on any machine.
private struct MergeRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// True with probability percent/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// A generated three-way case.
private struct MergeCase: CustomStringConvertible {
    var base = "", ours = "", theirs = ""

    /// What one side does at a base line: before line i (or, at i == count, at the end).
    enum Edit: Equatable {
        case keep, delete, replace([String]), insert([String])
    }

    /// A base of 5–30 distinct lines (some ending CRLF, some not ASCII, perhaps no LF at the
    /// very end) and two sides made from it by random replacements, insertions and deletions of
    /// lines, all new lines distinct, theirs sometimes repeating one of ours' edits exactly.
    init(seed: UInt64) {
        var rng = MergeRandom(seed: seed)
        let baseLines = (0..<5 + rng.below(26)).map { i in
            "b\(i)\(rng.chance(15) ? " caf\u{E9}" : "")\(rng.chance(20) ? "\r\n" : "\n")"
        }
        var made = 0
        func newLines(_ side: String, _ rng: inout MergeRandom) -> [String] {
            (0..<1 + rng.below(2)).map { _ in
                made += 1
                return "\(side)\(made)\n"
            }
        }
        func randomEdit(at i: Int, _ side: String, _ rng: inout MergeRandom) -> Edit {
            if i == baseLines.count { return rng.chance(15) ? .insert(newLines(side, &rng)) : .keep }
            switch rng.below(100) {
            case ..<8: return .replace(newLines(side, &rng))
            case ..<14: return .delete
            case ..<19: return .insert(newLines(side, &rng))
            default: return .keep
            }
        }
        let oursEdits = (0...baseLines.count).map { randomEdit(at: $0, "o", &rng) }
        let theirsEdits = (0...baseLines.count).map { i in
            oursEdits[i] != .keep && rng.chance(25) ? oursEdits[i] : randomEdit(at: i, "t", &rng)
        }
        // Whether each text ends with LF: usually as the base does.
        let baseLF = !rng.chance(15)
        let oursLF = rng.chance(90) ? baseLF : !baseLF
        let theirsLF = rng.chance(90) ? baseLF : !baseLF
        base = Self.text(baseLines, finalLF: baseLF)
        ours = Self.text(Self.apply(oursEdits, to: baseLines), finalLF: oursLF)
        theirs = Self.text(Self.apply(theirsEdits, to: baseLines), finalLF: theirsLF)
    }

    /// A case whose lines often repeat (blank lines, braces and the like, beside unique ones),
    /// with up to a dozen random replacements, insertions and deletions on each side.
    init(repeatedLinesSeed seed: UInt64) {
        var rng = MergeRandom(seed: seed)
        let common = ["\n", "}\n", "{\n", "x\n", "  return\n"]
        var made = 0
        func line(_ rng: inout MergeRandom) -> String {
            if rng.chance(50) { return common[rng.below(common.count)] }
            made += 1
            return "u\(made)\n"
        }
        let baseLines = (0..<20 + rng.below(100)).map { _ in line(&rng) }
        func side(_ rng: inout MergeRandom) -> String {
            var lines = baseLines
            for _ in 0..<rng.below(12) {
                let at = rng.below(lines.count + 1)
                switch rng.below(4) {
                case 0 where at < lines.count: lines.removeSubrange(at..<min(lines.count, at + 1 + rng.below(3)))
                case 1: lines.insert(contentsOf: (0..<1 + rng.below(3)).map { _ in line(&rng) }, at: at)
                default: if at < lines.count { lines[at] = line(&rng) }
                }
            }
            return lines.joined()
        }
        base = baseLines.joined()
        ours = side(&rng)
        theirs = side(&rng)
    }

    static func apply(_ edits: [Edit], to lines: [String]) -> [String] {
        var out: [String] = []
        for (i, edit) in edits.enumerated() {
            let line = i < lines.count ? [lines[i]] : []
            switch edit {
            case .keep: out += line
            case .delete: break
            case .replace(let new): out += new
            case .insert(let new): out += new + line
            }
        }
        return out
    }

    static func text(_ lines: [String], finalLF: Bool) -> String {
        var s = lines.joined()
        if !finalLF, s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    var description: String { "base \(base.debugDescription) ours \(ours.debugDescription) theirs \(theirs.debugDescription)" }
}

/// Runs `git merge-file` on files in a temporary directory, isolated from any git
/// configuration (a `merge.conflictStyle` of diff3 would change its merging).
private struct GitMergeFile {
    let directory: URL

    static let isAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "--version"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-textmerge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// git's exit status (0 clean, the number of conflicts otherwise) and its merged text.
    func merge(base: String, ours: String, theirs: String) throws -> (Int32, Data) {
        let files = ["base": base, "ours": ours, "theirs": theirs]
        for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "merge-file", "-p", "ours", "base", "theirs"]
        p.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        env["HOME"] = directory.path
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }
}
