// Writes chunk graphs and moves refs to them, forever, until it is killed. The crash-safety
// tests kill it with SIGKILL at random moments and then check the store it leaves.
//
// Chunk format (test-only): byte 0 is the number of children k, then k 20-byte hashes, then
// payload. The verifier parses it to walk the graph.
import CairnStore
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: cairn-crash-writer STORE.db [SEED]")
    exit(2)
}
let path = arguments[1]
var rng = SplitMix64(seed: arguments.count > 2 ? UInt64(arguments[2]) ?? 1 : 1)
let store = try SQLiteChunkStore.open(at: path)

func chunk(children: [Hash], payload: Int, rng: inout SplitMix64) -> ChunkWrite {
    var data: [UInt8] = [UInt8(children.count)]
    for c in children { c.appendBytes(to: &data) }
    // Compressible but unique payload: runs of a few random letters.
    while data.count < payload {
        let letter = UInt8(97 + rng.next() % 26)
        let run = Int(rng.next() % 16) + 1
        data.append(contentsOf: repeatElement(letter, count: run))
    }
    return ChunkWrite(Chunk(data), refs: children)
}

print("ready")
fflush(nil)
var generation = 0
while true {
    generation += 1
    // A two-level tree: 16 parents of 12 leaves each, under one root; written in batches of
    // 50, children first, then the ref moves by compare-and-swap.
    var pending: [ChunkWrite] = []
    var parents: [Hash] = []
    for _ in 0..<16 {
        var leaves: [Hash] = []
        for _ in 0..<12 {
            let leaf = chunk(children: [], payload: 4096, rng: &rng)
            leaves.append(leaf.chunk.hash)
            pending.append(leaf)
        }
        let parent = chunk(children: leaves, payload: 300, rng: &rng)
        parents.append(parent.chunk.hash)
        pending.append(parent)
        if pending.count >= 50 {
            try store.put(pending)
            pending.removeAll()
        }
    }
    let root = chunk(children: parents, payload: 64, rng: &rng)
    pending.append(root)
    try store.put(pending)
    let name = "heads/w\(generation % 3)"
    let old = try store.ref(name)
    guard try store.compareAndSwapRef(name, expected: old, new: root.chunk.hash) else {
        fatalError("lost a compare-and-swap with no other writer")
    }
}
