@testable import CairnStore
@testable import CairnValues

typealias SplitMix = SplitMix64

func memoryNodeStore() -> NodeStore { NodeStore(MemoryChunkStore()) }

/// A row like the benchmark's: id, name, city, score.
func row(_ i: Int) -> (Value, Value) {
    (.string("k\(String(repeating: "0", count: max(0, 8 - String(i).count)))\(i)"),
     .string("name-\(i) city-\(i % 1000) \(i * 7919 % 100000)"))
}

/// A random scalar value of any kind that can be a key.
func randomScalar(_ rng: inout SplitMix) -> Value {
    switch Int.random(in: 0..<7, using: &rng) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int64.random(in: -1_000_000...1_000_000, using: &rng))
    case 3: return .float(Double(Int.random(in: -1000...1000, using: &rng)) / 7)
    case 4: return .counter(Int64.random(in: -5...5, using: &rng))
    default: return .string(String((0..<Int.random(in: 0...12, using: &rng)).map { _ in "abcdefghé∂z".randomElement(using: &rng)! }))
    }
}
