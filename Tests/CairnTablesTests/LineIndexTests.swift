import Testing
@testable import CairnTables
import CairnStore

@Suite struct LineIndexTests {
    /// Every record's line comes back, whatever the gaps between records (blank lines, quoted
    /// newlines), against a plain array of them.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func linesComeBack(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var index = LineIndex()
        var model: [Int] = []
        var line = 2
        for _ in 0..<5_000 {
            index.append(line: line)
            model.append(line)
            line += rng.next() % 7 == 0 ? Int(rng.next() % 4) + 2 : 1
        }
        #expect(index.count == model.count)
        for (i, l) in model.enumerated() { #expect(index[i] == l) }
    }
}
