import Foundation
import Testing
@testable import CairnStore

/// Kills a writer process with SIGKILL at random moments, then checks the store it leaves:
/// it opens, every chunk in it reads back and hashes right, every chunk's children are present
/// (the completeness invariant), and every ref points at a complete graph.
@Suite struct CrashSafetyTests {
    @Test func sigkillDuringBatchedWritesLeavesACompleteStore() throws {
        let writer = builtProductsDirectory() + "/cairn-crash-writer"
        try #require(FileManager.default.isExecutableFile(atPath: writer), "build cairn-crash-writer first")
        let dir = TemporaryDirectory()
        let path = dir.file("store.db")
        try SQLiteChunkStore.create(at: path).close()
        var rng = SplitMix(seed: UInt64(ProcessInfo.processInfo.processIdentifier))
        var runs = 0
        for round in 0..<12 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: writer)
            process.arguments = [path, String(round + 1)]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Wait for "ready" so the kill lands inside the write loop, then a random while.
            _ = out.fileHandleForReading.availableData
            // The last writer gets long enough to finish a tree and move a ref even on a loaded
            // machine (a debug build writing 200 chunks beside the rest of the test suite).
            usleep(round == 11 ? 2_500_000 : UInt32.random(in: 20_000...400_000, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            try verify(path)
            runs += 1
        }
        let store = try SQLiteChunkStore.open(at: path)
        defer { store.close() }
        // The writers got somewhere: refs exist and chunks were written.
        #expect(try !store.refs(prefix: "heads/").isEmpty)
        #expect(try store.stats().chunks > 100)
        #expect(runs == 12)
    }

    private func children(of chunk: Chunk) -> [Hash] {
        let k = Int(chunk.data[0])
        return chunk.data.withUnsafeBytes { raw in
            (0..<k).map { Hash(prefixOf: UnsafeRawBufferPointer(rebasing: raw[(1 + $0 * 20)...])) }
        }
    }

    private func verify(_ path: String) throws {
        let store = try SQLiteChunkStore.open(at: path)
        defer { store.close() }
        var count = 0
        try store.forEachHash { h in
            let chunk = try #require(try store.get(h))
            for child in children(of: chunk) { #expect(try store.has(child), "chunk \(h) lacks child \(child)") }
            count += 1
        }
        #expect(try store.stats().chunks == count)
        for (name, root) in try store.refs(prefix: "") {
            var stack = [root]
            while let h = stack.popLast() {
                let chunk = try #require(try store.get(h), "\(name) reaches missing \(h)")
                stack.append(contentsOf: children(of: chunk))
            }
        }
    }
}
