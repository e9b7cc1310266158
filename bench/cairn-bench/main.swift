// The benchmark driver behind `make bench`. Prints one `figure value unit` line per figure, as
// ../shared/bench/doltlite_ref.py does, so bench/run.sh can put them side by side.
//
//   cairn-bench store CSV WORKDIR   chunk store: put and get of 4 KiB chunks cut from CSV
//   cairn-bench get-stages STORE.db where the time of one get goes
//   cairn-bench get-loop STORE.db   random get and getMany over every chunk, 3 passes (to profile)
//   cairn-bench merge DIR disjoint|random [--setup-only]
//                                   1000 + 1000 row edits on two branches of DIR's table
//                                   `rows`, then the merge timed in process (or left to the CLI)
//   cairn-bench merge-base WORKDIR  merge base after 10,000 commits on each side
import CairnStore
import CairnValues
import CZstd
import Foundation

func figure(_ name: String, _ value: Double, _ unit: String) {
    print("\(name) \(String(format: "%.4f", value)) \(unit)")
    fflush(nil)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Hashes pieces into chunks on every core, as a writer that produces many chunks at once can.
func hashInParallel(_ pieces: ArraySlice<[UInt8]>) -> [Chunk] {
    let base = pieces.startIndex
    let out = UnsafeMutableBufferPointer<Chunk>.allocate(capacity: pieces.count)
    defer { out.deallocate() }
    nonisolated(unsafe) let slots = out
    DispatchQueue.concurrentPerform(iterations: 2) { w in
        for i in stride(from: w, to: pieces.count, by: 2) { (slots.baseAddress! + i).initialize(to: Chunk(pieces[base + i])) }
    }
    let result = Array(out)
    _ = out.deinitialize()
    return result
}

func storeBench(csv: String, work: String) throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: csv)))
    let pieceSize = 4096
    let count = min(100_000, bytes.count / pieceSize)
    let pieces: [[UInt8]] = (0..<count).map { Array(bytes[($0 * pieceSize)..<(($0 + 1) * pieceSize)]) }
    let totalMB = Double(count * pieceSize) / 1e6
    print("# \(count) chunks of \(pieceSize) B, \(String(format: "%.1f", totalMB)) MB, \(ProcessInfo.processInfo.activeProcessorCount) cores")

    // Put: hash, compress and write, in batches of 1000, all stages timed.
    let path = work + "/store.db"
    let store = try SQLiteChunkStore.create(at: path)
    let putTime = try seconds {
        var i = 0
        while i < count {
            let end = min(count, i + 1000)
            try store.put(hashInParallel(pieces[i..<end]).map { ChunkWrite($0) })
            i = end
        }
    }
    let stats = try store.stats()
    store.close()
    figure("store_put_mb_s", totalMB / putTime, "MB/s")
    figure("store_put_s", putTime, "s")
    figure("store_ratio", Double(stats.bytesUncompressed) / Double(stats.bytesStored), "x")
    let fileSize = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    figure("store_file_mb", Double(fileSize) / 1e6, "MB")

    // Random get, decompressed and verified, from a fresh handle.
    var hashes = pieces.map { Hash(of: $0) }
    var rng = SystemRandomNumberGenerator()
    hashes.shuffle(using: &rng)
    let reader = try SQLiteChunkStore.open(at: path)
    var got = 0
    let getTime = try seconds {
        for h in hashes { if try reader.get(h) != nil { got += 1 } }
    }
    precondition(got == count)
    figure("store_get_chunks_s", Double(count) / getTime, "chunks/s")
    // The same, one `get` a call, from two threads at once (as a server answers two clients).
    hashes.shuffle(using: &rng)
    let shared = hashes
    let found = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2)
    defer { found.deallocate() }
    nonisolated(unsafe) let counts = found
    let twoTime = seconds {
        DispatchQueue.concurrentPerform(iterations: 2) { w in
            var n = 0
            for i in stride(from: w, to: shared.count, by: 2) where (try? reader.get(shared[i])) != nil { n += 1 }
            counts[w] = n
        }
    }
    precondition(counts[0] + counts[1] == count)
    figure("store_get_2threads_chunks_s", Double(count) / twoTime, "chunks/s")
    hashes.shuffle(using: &rng)
    got = 0
    let manyTime = try seconds {
        var i = 0
        while i < count {
            let end = min(count, i + 256)
            got += try reader.getMany(Array(hashes[i..<end])).count
            i = end
        }
    }
    reader.close()
    precondition(got == count)
    figure("store_getmany256_chunks_s", Double(count) / manyTime, "chunks/s")

    compressionStudy(pieces)
    try durabilityStudy(work: work)
}

/// zstd levels, and a trained dictionary against plain zstd, on a sample of the chunks:
/// ratio, compression speed and decompression time per chunk. `name` prefixes the figures.
func compressionStudy(_ pieces: [[UInt8]], name: String = "zstd") {
    let sample = Array(pieces.prefix(20_000))
    let bound = ZSTD_compressBound(Chunk.maxSize)
    var out = [UInt8](repeating: 0, count: bound)
    var back = [UInt8](repeating: 0, count: Chunk.maxSize)
    /// Compresses every piece with `compress`, then decompresses the frames with `decompress`.
    func measure(_ label: String, _ pieces: [[UInt8]],
                 compress: (UnsafeRawBufferPointer, UnsafeMutableRawPointer) -> Int,
                 decompress: (UnsafeRawBufferPointer, UnsafeMutableRawPointer) -> Int) {
        var frames: [[UInt8]] = []
        frames.reserveCapacity(pieces.count)
        let raw = pieces.reduce(0) { $0 + $1.count }
        let t = seconds {
            for p in pieces {
                let n = p.withUnsafeBytes { src in out.withUnsafeMutableBytes { compress(src, $0.baseAddress!) } }
                frames.append(Array(out[0..<n]))
            }
        }
        let td = seconds {
            for f in frames { _ = f.withUnsafeBytes { src in back.withUnsafeMutableBytes { decompress(src, $0.baseAddress!) } } }
        }
        figure("\(name)_\(label)_ratio", Double(raw) / Double(frames.reduce(0) { $0 + $1.count }), "x")
        figure("\(name)_\(label)_mb_s", Double(raw) / 1e6 / t, "MB/s")
        figure("\(name)_\(label)_decompress_us", td / Double(frames.count) * 1e6, "us")
    }
    let dctx = ZSTD_createDCtx()
    defer { ZSTD_freeDCtx(dctx) }
    for level: Int32 in [-1, 1, 3, 6] {
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        measure("l\(level)", sample,
                compress: { src, dst in ZSTD_compressCCtx(cctx, dst, bound, src.baseAddress, src.count, level) },
                decompress: { src, dst in ZSTD_decompressDCtx(dctx, dst, Chunk.maxSize, src.baseAddress, src.count) })
    }
    // Train on every 10th chunk, test on the others.
    let training = stride(from: 0, to: sample.count, by: 10).map { sample[$0] }
    let testing = sample.enumerated().filter { $0.offset % 10 != 0 }.map(\.element)
    let flat = training.flatMap { $0 }
    let sizes = training.map { $0.count }
    var dict = [UInt8](repeating: 0, count: 112_640)
    let dictSize = ZDICT_trainFromBuffer(&dict, dict.count, flat, sizes, UInt32(sizes.count))
    guard ZDICT_isError(dictSize) == 0 else { print("# \(name): dictionary training failed"); return }
    let ddict = ZSTD_createDDict(dict, dictSize)
    defer { ZSTD_freeDDict(ddict) }
    for level: Int32 in [1, 3] {
        let cdict = ZSTD_createCDict(dict, dictSize, level)
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCDict(cdict); ZSTD_freeCCtx(cctx) }
        measure("dict_l\(level)", testing,
                compress: { src, dst in ZSTD_compress_usingCDict(cctx, dst, bound, src.baseAddress, src.count, cdict) },
                decompress: { src, dst in ZSTD_decompress_usingDDict(dctx, dst, Chunk.maxSize, src.baseAddress, src.count, ddict) })
    }
}

/// Small commits (a chunk and a ref move each) under synchronous NORMAL and FULL.
func durabilityStudy(work: String) throws {
    for mode in [SQLiteChunkStore.Options.Synchronous.normal, .full] {
        var options = SQLiteChunkStore.Options()
        options.synchronous = mode
        let path = work + "/sync-\(mode.rawValue).db"
        let store = try SQLiteChunkStore.create(at: path, options: options)
        var previous: Hash? = nil
        let n = 300
        let t = try seconds {
            for i in 0..<n {
                let c = Chunk(Array("commit \(i)".utf8))
                try store.put([ChunkWrite(c)])
                _ = try store.compareAndSwapRef("heads/main", expected: previous, new: c.hash)
                previous = c.hash
            }
        }
        store.close()
        figure("commit_\(mode.rawValue.lowercased())_ms", t / Double(n) * 1000, "ms")
    }
}

/// Where the time of one random `get` goes: the index lookup alone (`has`), a whole `get`, and
/// SHA-256 and zstd decompression of a 4 KiB chunk on their own.
func getStages(path: String) throws {
    let store = try SQLiteChunkStore.open(at: path)
    defer { store.close() }
    var hashes: [Hash] = []
    try store.forEachHash { hashes.append($0) }
    hashes.shuffle()
    let n = Double(hashes.count)
    let th = try seconds { for h in hashes { _ = try store.has(h) } }
    var chunks: [Chunk] = []
    let tg = try seconds { for h in hashes { chunks.append(try store.get(h)!) } }
    let ts = seconds { for c in chunks { _ = Hash(of: c.data) } }
    let cctx = ZSTD_createCCtx(), dctx = ZSTD_createDCtx()
    defer { ZSTD_freeCCtx(cctx); ZSTD_freeDCtx(dctx) }
    let frames: [[UInt8]] = chunks.map { c in
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(c.data.count))
        let k = c.data.withUnsafeBytes { ZSTD_compressCCtx(cctx, &out, out.count, $0.baseAddress, $0.count, 1) }
        return Array(out.prefix(k))
    }
    var buf = [UInt8](repeating: 0, count: Chunk.maxSize)
    let td = seconds { for z in frames { _ = z.withUnsafeBytes { ZSTD_decompressDCtx(dctx, &buf, buf.count, $0.baseAddress, $0.count) } } }
    figure("stage_has_us", th / n * 1e6, "us")
    figure("stage_get_us", tg / n * 1e6, "us")
    figure("stage_sha256_us", ts / n * 1e6, "us")
    figure("stage_zstd_decompress_us", td / n * 1e6, "us")
}

/// Random `get` and `getMany` over every chunk of a store, three passes each: for profiling.
func getLoop(path: String) throws {
    let store = try SQLiteChunkStore.open(at: path)
    defer { store.close() }
    var hashes: [Hash] = []
    try store.forEachHash { hashes.append($0) }
    hashes.shuffle()
    for _ in 0..<3 {
        let t = try seconds { for h in hashes { _ = try store.get(h) } }
        figure("loop_get_chunks_s", Double(hashes.count) / t, "chunks/s")
    }
    for _ in 0..<3 {
        let t = try seconds {
            var i = 0
            while i < hashes.count {
                let end = min(hashes.count, i + 256)
                _ = try store.getMany(Array(hashes[i..<end]))
                i = end
            }
        }
        figure("loop_getmany256_chunks_s", Double(hashes.count) / t, "chunks/s")
    }
}

/// Encoded rows back to back in one buffer.
struct EncodedRows {
    var bytes: [UInt8] = []
    var spans: [(offset: Int, keyCount: Int32, valueCount: Int32)] = []

    mutating func append(key: [UInt8], value: [UInt8]) {
        spans.append((bytes.count, Int32(key.count), Int32(value.count)))
        bytes += key
        bytes += value
    }

    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { raw in
            for s in spans {
                let k = Int(s.keyCount), v = Int(s.valueCount)
                try body(UnsafeRawBufferPointer(rebasing: raw[s.offset..<(s.offset + k)]),
                         UnsafeRawBufferPointer(rebasing: raw[(s.offset + k)..<(s.offset + k + v)]))
            }
        }
    }

    /// The same rows in a random order, laid out afresh in that order.
    func shuffled(using rng: inout some RandomNumberGenerator) -> EncodedRows {
        var out = EncodedRows()
        out.bytes.reserveCapacity(bytes.count)
        out.spans.reserveCapacity(spans.count)
        for s in spans.shuffled(using: &rng) {
            out.spans.append((out.bytes.count, s.keyCount, s.valueCount))
            out.bytes += bytes[s.offset..<(s.offset + Int(s.keyCount) + Int(s.valueCount))]
        }
        return out
    }
}

/// Reads the workload CSV (id,name,city,score) into row values keyed by id.
func readRows(_ csv: String) throws -> [(key: Value, row: [(String, Value)])] {
    let text = try String(contentsOfFile: csv, encoding: .utf8)
    var rows: [(key: Value, row: [(String, Value)])] = []
    for line in text.split(separator: "\n").dropFirst() {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        rows.append((.string(String(f[0])), [("id", .string(String(f[0]))), ("name", .string(String(f[1]))),
                                              ("city", .string(String(f[2]))), ("score", .int(Int64(f[3])!))]))
    }
    return rows
}

/// Prolly-tree figures of issue 3 on the SQLite store.
func treeBench(csv: String, work: String) throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let rows = try readRows(csv)
    let n = rows.count
    print("# \(n) rows")

    // Sorted build from rows already encoded (what the tree layer does: chunk, hash, compress,
    // write), and, separately, from Values (encoding every row first).
    let schema = try Schema(columns: ["id", "name", "city", "score"], key: ["id"], format: "csv", null: nil, infer: true)
    let scratch = NodeStore(MemoryChunkStore())
    let encoder = try Table.empty(schema: schema, store: scratch)
    // The rows encoded once, back to back in one buffer, as a reader of a file would hand
    // them out: the builds below are timed from there.
    var encodedRows = EncodedRows()
    var scratchRefs: [Hash] = []
    for r in rows {
        let row = try encoder.encodeRow(r.row.dropFirst().map(\.1))
        scratchRefs += row.refs
        encodedRows.append(key: try r.key.encoded(store: scratch), value: row.bytes)
    }
    let chunks = try SQLiteChunkStore.create(at: work + "/tree.db")
    let store = NodeStore(chunks)
    var map: ProllyMap!
    let tSorted = try seconds {
        let builder = MapBuilder(store: store)
        try encodedRows.forEach { k, v in try builder.appendEncoded(key: k, value: v) }
        map = try builder.finish()
        try store.flush()
    }
    figure("tree_build_sorted_s", tSorted, "s")
    let chunksV = try SQLiteChunkStore.create(at: work + "/tree-values.db")
    let storeV = NodeStore(chunksV)
    let tEncodeBuild = try seconds {
        let builder = MapBuilder(store: storeV)
        let table = try Table.empty(schema: schema, store: storeV)
        var refs: [Hash] = []
        for r in rows {
            let row = try table.encodeRow(r.row.dropFirst().map(\.1))
            try builder.appendEncoded(key: builder.encode(r.key, refs: &refs), value: row.bytes, refs: row.refs)
        }
        _ = try builder.finish()
        try storeV.flush()
    }
    chunksV.close()
    figure("tree_encode_and_build_sorted_s", tEncodeBuild, "s")
    let stats = try chunks.stats()
    figure("tree_chunks", Double(stats.chunks), "chunks")
    figure("tree_height", Double(map.height), "levels")

    let shape = try map.root.stats(store: store)
    figure("tree_leaf_mean_b", shape.meanLeafSize, "B")
    figure("tree_leaf_sd_b", shape.leafSizeStdDev, "B")
    figure("tree_leaf_min_b", Double(shape.leafSizes.dropLast().min() ?? 0), "B")
    figure("tree_leaf_max_b", Double(shape.leafSizes.max() ?? 0), "B")
    figure("tree_internal_nodes", Double(shape.internalSizes.count), "nodes")
    // zstd and a trained dictionary on the tree's own nodes, the chunks a store really holds.
    var nodeHashes: [Hash] = []
    try chunks.forEachHash { nodeHashes.append($0) }
    compressionStudy(try chunks.getMany(nodeHashes).values.map(\.data), name: "node_zstd")
    if ProcessInfo.processInfo.environment["CAIRN_BENCH_SORTED_ONLY"] != nil {
        return
    }
    // Shuffled build: the same encoded rows in random order, sorted in runs of 64 MB (what
    // import uses), spilled, and merged.
    var rng = SystemRandomNumberGenerator()
    let shuffledRows = encodedRows.shuffled(using: &rng)
    encodedRows = EncodedRows()
    let chunks2 = try SQLiteChunkStore.create(at: work + "/tree2.db")
    let store2 = NodeStore(chunks2)
    var map2: ProllyMap!
    let tShuffled = try seconds {
        let builder = UnsortedMapBuilder(store: store2, directory: work)
        try shuffledRows.forEach { k, v in try builder.append(key: k, value: v) }
        map2 = try builder.finish()
        try store2.flush()
    }
    figure("tree_build_shuffled_s", tShuffled, "s")
    print("# same root: \(map2.hash == map.hash)")
    chunks2.close()

    // Point reads.
    let keys = (0..<10_000).map { _ in rows[Int.random(in: 0..<n, using: &rng)].key }
    let coldStore = NodeStore(try SQLiteChunkStore.open(at: work + "/tree.db"))
    let cold = ProllyMap(store: coldStore, root: map.root)
    // The values are table rows: read as bytes, as `Table.row(key:)` reads them.
    let tCold = try seconds { for k in keys { _ = try cold.getEncoded(k.encoded(store: coldStore)) } }
    figure("reads10k_cold_ms", tCold * 1000, "ms")
    let tWarm = try seconds { for k in keys { _ = try cold.getEncoded(k.encoded(store: coldStore)) } }
    figure("reads10k_warm_ms", tWarm * 1000, "ms")
    figure("node_cache_nodes", Double(coldStore.cachedNodes), "nodes")

    // Diffs after 1 and 1,000 changes.
    let one = try map.setting(rows[n / 2].key, to: .string("changed"))
    var edits: [(Value, Value?)] = []
    for i in 0..<1000 { edits.append((rows[(i * 997) % n].key, .string("changed-\(i)"))) }
    let thousand = try map.editing(edits)
    try store.flush()
    func diffCount(_ a: ProllyMap, _ b: ProllyMap) throws -> Int {
        var c = 0
        try a.diffEncoded(to: b) { _ in c += 1; return true }
        return c
    }
    let warmStore = NodeStore(chunks)
    _ = try diffCount(ProllyMap(store: warmStore, root: map.root), ProllyMap(store: warmStore, root: one.root))
    var got = 0
    let tOne = try seconds { got = try diffCount(ProllyMap(store: warmStore, root: map.root), ProllyMap(store: warmStore, root: one.root)) }
    precondition(got == 1)
    figure("diff1_ms", tOne * 1000, "ms")
    let coldDiff = NodeStore(try SQLiteChunkStore.open(at: work + "/tree.db"))
    let tThousandCold = try seconds { got = try diffCount(ProllyMap(store: coldDiff, root: map.root), ProllyMap(store: coldDiff, root: thousand.root)) }
    precondition(got == 1000)
    figure("diff1000_cold_ms", tThousandCold * 1000, "ms")
    let tThousandWarm = try seconds { got = try diffCount(ProllyMap(store: coldDiff, root: map.root), ProllyMap(store: coldDiff, root: thousand.root)) }
    figure("diff1000_warm_ms", tThousandWarm * 1000, "ms")
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "get-stages" where args.count == 3:
    try getStages(path: args[2])
case "get-loop" where args.count == 3:
    try getLoop(path: args[2])
case "tree" where args.count == 4:
    try treeBench(csv: args[2], work: args[3])
case "store" where args.count == 4:
    try storeBench(csv: args[2], work: args[3])
case "merge" where args.count == 4 || (args.count == 5 && args[4] == "--setup-only"):
    try mergeBench(storeDir: args[2], pattern: args[3], setupOnly: args.count == 5)
case "merge-base" where args.count == 3:
    try mergeBaseBench(work: args[2])
case "merge-base-again" where args.count == 3:
    try mergeBaseAgain(work: args[2])
case "sync-incr" where args.count == 6 || args.count == 7:
    try runBlocking {
        try await syncIncremental(storeDir: args[2], cloneDir: args[3], url: args[4], table: args[5],
                                  rounds: args.count == 7 ? Int(args[6]) ?? 6 : 6)
    }
case "sync-plan" where args.count == 3:
    try runBlocking { try await syncPlan(storeDir: args[2]) }
default:
    print("usage: cairn-bench store CSV WORKDIR | get-stages STORE.db | get-loop STORE.db | tree CSV WORKDIR | merge CSV WORKDIR [--setup-only] | merge-base STORE | merge-base-again STORE | sync-incr STORE CLONE URL TABLE [ROUNDS] | sync-plan STORE")
    exit(2)
}

/// Runs async work from the top level.
func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    final class Box: @unchecked Sendable { var error: (any Error)? }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await body() } catch { box.error = error }
        done.signal()
    }
    done.wait()
    if let e = box.error { throw e }
}
