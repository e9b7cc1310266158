import CairnStore
import Foundation
import Testing

/// Mutations of valid inputs, the way a coverage-blind fuzzer makes them: bit flips, byte
/// inserts and deletes, truncations, splices, repeated runs, and interesting integers written
/// as bytes, big-endian words and LEB128 varints. Deterministic for a seed.
struct Mutator {
    var rng: SplitMix64
    /// Tokens of the format under test (`{`, `\u`, a tag byte …), inserted whole.
    let dictionary: [[UInt8]]

    init(seed: UInt64, dictionary: [[UInt8]] = []) {
        rng = SplitMix64(seed: seed)
        self.dictionary = dictionary
    }

    static let interesting: [UInt64] = [
        0, 1, 2, 7, 8, 19, 20, 21, 31, 32, 63, 64, 65, 127, 128, 255, 256, 1023, 1024, 1025,
        4095, 4096, 4097, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 1 << 40, UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max,
    ]

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }
    mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: rng.next()) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }

    mutating func interestingValue() -> UInt64 {
        let v = Self.interesting[below(Self.interesting.count)]
        return chance(4) ? v &- 1 : v
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    /// One to four stacked mutations of `input`; `corpus` supplies the other half of splices.
    mutating func mutate(_ input: [UInt8], corpus: [[UInt8]]) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + below(4)) { mutateOnce(&b, corpus: corpus) }
        return b
    }

    private mutating func mutateOnce(_ b: inout [UInt8], corpus: [[UInt8]]) {
        let pos = below(b.count + 1)
        switch below(dictionary.isEmpty ? 13 : 15) {
        case 0, 1:  // flip one bit
            guard !b.isEmpty else { fallthrough }
            b[below(b.count)] ^= 1 << UInt8(below(8))
        case 2:  // a random byte
            guard !b.isEmpty else { b.append(byte()); return }
            b[below(b.count)] = byte()
        case 3:  // an interesting byte: the edges and the encoding's tags
            let v: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x0D, 0x22, 0x2C, 0x5C, UInt8(below(0x24))]
            if b.isEmpty || chance(2) { b.insert(v[below(v.count)], at: pos) } else { b[below(b.count)] = v[below(v.count)] }
        case 4:  // insert random bytes
            b.insert(contentsOf: bytes(1 + below(8)), at: pos)
        case 5:  // delete a run
            guard !b.isEmpty else { return }
            let s = below(b.count), n = 1 + below(min(16, b.count - s))
            b.removeSubrange(s..<s + n)
        case 6:  // truncate
            b.removeSubrange(below(b.count + 1)...)
        case 7:  // repeat a run
            guard !b.isEmpty else { return }
            let s = below(b.count), n = 1 + below(min(64, b.count - s))
            let run = Array(b[s..<s + n])
            for _ in 0..<(1 + below(chance(8) ? 64 : 3)) { b.insert(contentsOf: run, at: min(pos, b.count)) }
        case 8:  // splice with another input
            guard let other = corpus.isEmpty ? nil : corpus[below(corpus.count)] else { return }
            let cut = below(other.count + 1)
            b = Array(b[..<pos]) + Array(other[cut...])
        case 9:  // an interesting varint, inserted or written over
            let v = Self.varint(interestingValue())
            if chance(2) || pos + v.count > b.count { b.insert(contentsOf: v, at: pos) } else { b.replaceSubrange(pos..<pos + v.count, with: v) }
        case 10:  // an interesting big-endian u16/u32/u64 written over
            let width = [2, 4, 8][below(3)]
            let v = interestingValue()
            let word = (0..<width).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * (width - 1 - $0))) }
            if pos + width > b.count { b.insert(contentsOf: word, at: pos) } else { b.replaceSubrange(pos..<pos + width, with: word) }
        case 11:  // nudge a byte
            guard !b.isEmpty else { return }
            let i = below(b.count)
            b[i] = chance(2) ? b[i] &+ UInt8(1 + below(4)) : b[i] &- UInt8(1 + below(4))
        case 12:  // a non-minimal or overlong varint
            let over: [[UInt8]] = [[0x80, 0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                                   [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], [0x80, 0x80, 0x80]]
            b.insert(contentsOf: over[below(over.count)], at: pos)
        default:  // a dictionary token
            let t = dictionary[below(dictionary.count)]
            for _ in 0..<(chance(6) ? 1 + below(200) : 1) { b.insert(contentsOf: t, at: min(pos, b.count)) }
        }
    }
}

/// The loop every fuzz test runs, and where its inputs and findings live (docs/fuzzing.md).
///
/// - `make test`: `iterations` per target, from a fixed seed, so every run is the same.
/// - `CAIRN_FUZZ_ITERATIONS=N` runs N per target instead; `CAIRN_FUZZ_SECONDS=S` runs each
///   target for S seconds; `CAIRN_FUZZ_SEED=X` changes the seed (`make fuzz` sets all three).
/// - An input that fails the property is saved under `.build/fuzz-findings/TARGET/`; copy it to
///   `testdata/fuzz/TARGET/`, where ``regressions(_:)`` replays it on every `make test`. The
///   input being tried is also written to `.build/fuzz-findings/TARGET.last` before each run,
///   so an input that kills the process (a trap, a stack overflow) is not lost.
enum Fuzz {
    static let environment = ProcessInfo.processInfo.environment
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var findings: String { packageRoot + "/.build/fuzz-findings" }
    static var longRun: Bool { environment["CAIRN_FUZZ_ITERATIONS"] != nil || environment["CAIRN_FUZZ_SECONDS"] != nil }

    static func seed(_ target: String) -> UInt64 {
        if let s = environment["CAIRN_FUZZ_SEED"], let v = UInt64(s) ?? UInt64(s.replacingOccurrences(of: "0x", with: ""), radix: 16) {
            return v
        }
        // Fixed per target: a run of `make test` is the same every time.
        return target.utf8.reduce(0xCB_F2_9C_E4_84_22_23_25) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// Runs `body` on mutations of `seeds` (and on some purely random inputs). `acceptable`
    /// says which thrown errors are the decoder's own refusals; anything else thrown, and any
    /// `#expect` that fails inside `body`, is a finding.
    static func run(_ target: String, seeds: [[UInt8]], iterations: Int, dictionary: [[UInt8]] = [],
                    acceptable: (any Error) -> Bool, _ body: ([UInt8]) async throws -> Void) async {
        let seed = seed(target)
        let count = environment["CAIRN_FUZZ_ITERATIONS"].flatMap(Int.init) ?? iterations
        let seconds = environment["CAIRN_FUZZ_SECONDS"].flatMap(Double.init)
        var m = Mutator(seed: seed, dictionary: dictionary)
        var corpus = seeds.isEmpty ? [[]] : seeds
        try? FileManager.default.createDirectory(atPath: findings + "/" + target, withIntermediateDirectories: true)
        let last = findings + "/" + target + ".last"
        let started = Date()
        var i = 0, accepted = 0, refused = 0, failures = 0
        while seconds.map({ Date().timeIntervalSince(started) < $0 }) ?? (i < count) {
            let input: [UInt8]
            switch i {
            case ..<corpus.count where i < seeds.count: input = corpus[i]  // every seed as it is, first
            default: input = m.chance(16) ? m.bytes(m.below(256)) : m.mutate(corpus[m.below(corpus.count)], corpus: corpus)
            }
            if longRun { FileManager.default.createFile(atPath: last, contents: Data(input)) }
            let issuesBefore = Finding.count
            do {
                try await body(input)
                accepted += 1
                // Inputs that decode are the best parents for deeper mutations.
                if input.count <= 1 << 16 {
                    if corpus.count < 512 { corpus.append(input) } else { corpus[m.below(corpus.count)] = input }
                }
            } catch where acceptable(error) {
                refused += 1
            } catch {
                failures += 1
                Issue.record("fuzz \(target): seed \(seed) iteration \(i): unexpected \(type(of: error)): \(error)")
                save(target, input)
            }
            if Finding.count > issuesBefore {
                failures += 1
                save(target, input)
            }
            i += 1
        }
        print("fuzz \(target): seed \(seed), \(i) inputs (\(accepted) accepted, \(refused) refused, \(failures) findings) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        if failures > 0 { print("fuzz \(target): findings saved under \(findings)/\(target)/ (CAIRN_FUZZ_SEED=\(seed) reproduces)") }
    }

    static func save(_ target: String, _ input: [UInt8]) {
        let name = String(describing: Hash(of: input)).prefix(16)
        FileManager.default.createFile(atPath: "\(findings)/\(target)/\(name)", contents: Data(input))
    }

    /// The regression inputs of a target: every file in `testdata/fuzz/TARGET/`.
    static func regressions(_ target: String) -> [(name: String, bytes: [UInt8])] {
        let dir = packageRoot + "/testdata/fuzz/" + target
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { n in FileManager.default.contents(atPath: dir + "/" + n).map { (n, Array($0)) } }
    }

    /// Replays the regression inputs of `target` through `body` with the same property.
    static func replay(_ target: String, acceptable: (any Error) -> Bool, _ body: ([UInt8]) async throws -> Void) async {
        for (name, bytes) in regressions(target) {
            do {
                try await body(bytes)
            } catch where acceptable(error) {
            } catch {
                Issue.record("regression testdata/fuzz/\(target)/\(name): unexpected \(type(of: error)): \(error)")
            }
        }
    }
}

/// Counts the property checks that failed inside a fuzz body (``check(_:_:)``), so the loop
/// can save the input that broke them.
enum Finding {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var n = 0
    static var count: Int { lock.lock(); defer { lock.unlock() }; return n }

    /// `#expect` that also marks the current input as a finding.
    static func check(_ ok: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !ok else { return }
        lock.lock(); n += 1; lock.unlock()
        Issue.record(Comment(rawValue: message()), sourceLocation: sourceLocation)
    }
}
