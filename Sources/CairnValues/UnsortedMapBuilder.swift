#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a map from entries in any key order, in bounded memory: entries gather in memory up
/// to `runBytes`, each full run is sorted and spilled to a temporary file, and `finish` merges
/// the runs into one sorted build. The result is the same tree a sorted build gives, and the
/// chunk store sees each node once, where batched edits of random keys would rewrite most
/// leaves once per batch.
public final class UnsortedMapBuilder {
    public let store: NodeStore
    private let runBytes: Int
    private let directory: String
    /// The buffered run: keys and values back to back in two arenas, and plain slots pointing
    /// into them, so sorting moves and compares no reference-counted arrays.
    private var keyArena: [UInt8] = []
    private var valueArena: [UInt8] = []
    private var slots: [Slot] = []
    private var bytes = 0

    private struct Slot {
        var keyOffset: Int
        var keyLength: Int32
        var valueOffset: Int
        var valueLength: Int32
        var seq: Int
        var keyRange: Range<Int> { keyOffset..<(keyOffset + Int(keyLength)) }
        var valueRange: Range<Int> { valueOffset..<(valueOffset + Int(valueLength)) }
    }
    private var runs: [String] = []
    private var seq = 0
    private var refs: [Hash] = []

    /// What to do with two entries of one key.
    public enum Duplicates: Sendable {
        /// The later entry wins.
        case lastWins
        /// `finish` throws ``DuplicateKey`` with the key and the positions of both entries.
        case refuse
    }

    public struct DuplicateKey: Error, Sendable {
        public let key: [UInt8]
        /// The 0-based order in which the two entries were appended.
        public let first: Int
        public let second: Int
    }

    private let duplicates: Duplicates
    private let compare: ([UInt8], [UInt8]) -> Int
    /// The same order on bytes in place (for sorting a run).
    private let rawCompare: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Int
    private let streamsSorted: Bool
    /// While keys arrive in increasing order they stream straight into this builder, with no
    /// sorting or spilling: input already in key order (most exports) costs one pass.
    private var direct: MapBuilder?
    private var directLastKey: [UInt8]?
    private var directLastSeq = 0
    /// What the direct builder made before the first key out of order; merged at the end.
    private var prefix: ProllyMap?

    /// `directory` holds the spilled runs; it must exist and be writable.
    /// `compare` orders keys (default: the total order of values); with another order the
    /// entries can only come out through ``finish(into:)``.
    public init(store: NodeStore, runBytes: Int = 64 << 20, directory: String, duplicates: Duplicates = .lastWins,
                compare: (([UInt8], [UInt8]) -> Int)? = nil) {
        self.store = store
        self.runBytes = runBytes
        self.directory = directory
        self.duplicates = duplicates
        self.compare = compare ?? { KeyOrder.compare($0, $1) }
        if let compare {
            rawCompare = { compare(Array($0), Array($1)) }
        } else {
            rawCompare = { KeyOrder.compare($0, $1) }
        }
        streamsSorted = compare == nil
    }

    deinit { for r in runs { unlink(r) } }

    /// Appends an encoded entry; `entryRefs` are the chunks the value references.
    public func append(key: [UInt8], value: [UInt8], refs entryRefs: [Hash] = []) throws {
        if prefix == nil && streamsSorted {
            if direct == nil { direct = MapBuilder(store: store) }
            let order = directLastKey.map { KeyOrder.compare($0, key) } ?? -1
            if order < 0 {
                try direct!.appendOrdered(key: key, value: value, refs: entryRefs)
                directLastKey = key
                directLastSeq = seq
                seq += 1
                return
            }
            if order == 0 && duplicates == .refuse { throw DuplicateKey(key: key, first: directLastSeq, second: seq) }
            // Out of order: what streamed so far becomes a sorted run of its own.
            prefix = try direct!.finish()
            direct = nil
        }
        slots.append(Slot(keyOffset: keyArena.count, keyLength: Int32(key.count), valueOffset: valueArena.count,
                          valueLength: Int32(value.count), seq: seq))
        keyArena.append(contentsOf: key)
        valueArena.append(contentsOf: value)
        seq += 1
        bytes += key.count + value.count + MemoryLayout<Slot>.stride
        refs.append(contentsOf: entryRefs)
        if bytes >= runBytes { try spill() }
    }

    /// Sorts the run's slots by key, then by arrival, comparing keys in place in the arena.
    private func sortRun() {
        let compare = rawCompare
        keyArena.withUnsafeBytes { keys in
            slots.sort { a, b in
                let c = compare(UnsafeRawBufferPointer(rebasing: keys[a.keyRange]), UnsafeRawBufferPointer(rebasing: keys[b.keyRange]))
                return c != 0 ? c < 0 : a.seq < b.seq
            }
        }
    }

    /// The sorted run's entries, as arrays, and empties the buffer.
    private func takeRun() -> [(key: [UInt8], value: [UInt8], seq: Int)] {
        sortRun()
        let run = slots.map { (Array(keyArena[$0.keyRange]), Array(valueArena[$0.valueRange]), $0.seq) }
        clearRun()
        return run
    }

    private func clearRun() {
        slots.removeAll(keepingCapacity: true)
        keyArena.removeAll(keepingCapacity: true)
        valueArena.removeAll(keepingCapacity: true)
        bytes = 0
    }

    /// Writes the sorted run: per entry, varints of sequence, key length and value length, then
    /// the bytes.
    private func spill() throws {
        sortRun()
        let path = directory + "/run-\(runs.count)-\(getpid()).tmp"
        guard let f = fopen(path, "wb") else { throw StoreError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        runs.append(path)
        var w = ByteWriter(capacity: 1 << 20)
        try keyArena.withUnsafeBytes { keys in
            try valueArena.withUnsafeBytes { values in
                for e in slots {
                    w.varint(UInt64(e.seq))
                    w.varint(UInt64(e.keyLength))
                    w.varint(UInt64(e.valueLength))
                    w.append(UnsafeRawBufferPointer(rebasing: keys[e.keyRange]))
                    w.append(UnsafeRawBufferPointer(rebasing: values[e.valueRange]))
                    if w.bytes.count >= 1 << 20 { try write(w.bytes, f, path); w.bytes.removeAll(keepingCapacity: true) }
                }
            }
        }
        try write(w.bytes, f, path)
        guard fclose(f) == 0 else { throw StoreError.io("cannot write \(path)") }
        clearRun()
    }

    private func write(_ b: [UInt8], _ f: UnsafeMutablePointer<FILE>, _ path: String) throws {
        guard b.isEmpty || fwrite(b, 1, b.count, f) == b.count else {
            throw StoreError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Merges everything appended into a map.
    public func finish() throws -> ProllyMap {
        if prefix == nil && streamsSorted {
            // Everything arrived in order.
            return try (direct ?? MapBuilder(store: store)).finish()
        }
        let builder = MapBuilder(store: store)
        // The merge hands out keys strictly increasing: no need to check the order again.
        try merge { k, v, refs in try builder.appendOrdered(key: k, value: v, refs: refs) }
        return try builder.finish()
    }

    /// Hands every entry to `sink` in key order, once per key (duplicates as configured).
    /// The first entry carries the references of all the values.
    public func finish(into sink: ([UInt8], [UInt8], [Hash]) throws -> Void) throws {
        try merge(sink)
    }

    private func merge(_ sink: ([UInt8], [UInt8], [Hash]) throws -> Void) throws {
        var sources: [RunSource] = []
        // The streamed prefix sorts before every later entry of the same key (it came first).
        if let prefix { sources.append(try TreeRun(prefix)) }
        if runs.isEmpty {
            sources.append(MemoryRun(takeRun()))
        } else {
            if !slots.isEmpty { try spill() }
            for r in runs { sources.append(try FileRun(path: r)) }
        }
        var heads: [(key: [UInt8], value: [UInt8], seq: Int)?] = try sources.map { try $0.next() }
        var pending: (key: [UInt8], value: [UInt8], seq: Int)?
        var first = true
        while true {
            // The smallest head (k is small: a linear scan beats a heap).
            var best = -1
            for (i, h) in heads.enumerated() {
                guard let h else { continue }
                if best < 0 { best = i; continue }
                let c = compare(h.key, heads[best]!.key)
                if c < 0 || (c == 0 && h.seq < heads[best]!.seq) { best = i }
            }
            guard best >= 0 else { break }
            let e = heads[best]!
            heads[best] = try sources[best].next()
            if let p = pending, compare(p.key, e.key) == 0 {
                if duplicates == .refuse { throw DuplicateKey(key: e.key, first: p.seq, second: e.seq) }
                pending = e
                continue
            }
            if let p = pending {
                try sink(p.key, p.value, first ? refs : [])
                first = false
            }
            pending = e
        }
        if let p = pending { try sink(p.key, p.value, first ? refs : []) }
        for r in runs { unlink(r) }
        runs.removeAll()
    }
}

private protocol RunSource {
    func next() throws -> (key: [UInt8], value: [UInt8], seq: Int)?
}

/// The entries of the streamed prefix, in order, as a run. They arrived in key order, so an
/// entry's sequence number is its position.
private final class TreeRun: RunSource {
    var entries: [(key: [UInt8], value: [UInt8])] = []
    var i = 0
    var emitted = 0
    let map: ProllyMap
    var nextKey: [UInt8]?
    var done = false

    init(_ map: ProllyMap) throws { self.map = map }

    func next() throws -> (key: [UInt8], value: [UInt8], seq: Int)? {
        if i >= entries.count {
            if done { return nil }
            // Refill a window of entries from where the last one stopped.
            entries.removeAll(keepingCapacity: true)
            i = 0
            var skipFirst = nextKey != nil
            try map.forEachEncoded(from: nextKey) { k, v in
                if skipFirst { skipFirst = false; return true }
                entries.append((k, v))
                return entries.count < 4096
            }
            if entries.count < 4096 { done = true }
            nextKey = entries.last?.key
            if entries.isEmpty { return nil }
        }
        defer { i += 1; emitted += 1 }
        return (entries[i].key, entries[i].value, emitted)
    }
}

private final class MemoryRun: RunSource {
    let entries: [(key: [UInt8], value: [UInt8], seq: Int)]
    var i = 0
    init(_ e: [(key: [UInt8], value: [UInt8], seq: Int)]) { entries = e }
    func next() throws -> (key: [UInt8], value: [UInt8], seq: Int)? {
        guard i < entries.count else { return nil }
        defer { i += 1 }
        return entries[i]
    }
}

/// Reads a spilled run back in pieces of 1 MiB.
private final class FileRun: RunSource {
    let file: UnsafeMutablePointer<FILE>
    let path: String
    var buffer: [UInt8] = []
    var pos = 0
    var eof = false

    init(path: String) throws {
        guard let f = fopen(path, "rb") else { throw StoreError.io("cannot read \(path)") }
        file = f
        self.path = path
    }

    deinit { fclose(file) }

    private func ensure(_ n: Int) throws -> Bool {
        while buffer.count - pos < n && !eof {
            buffer.removeFirst(pos)
            pos = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let got = fread(&chunk, 1, chunk.count, file)
            if got == 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<got]) }
        }
        return buffer.count - pos >= n
    }

    func next() throws -> (key: [UInt8], value: [UInt8], seq: Int)? {
        guard try ensure(1) else { return nil }
        _ = try ensure(30)
        var header: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var used = 0
        try buffer.withUnsafeBytes { raw in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[pos...]))
            header = (try r.varint(), try r.varint(), try r.varint())
            used = r.pos
        }
        pos += used
        let k = Int(header.1), v = Int(header.2)
        guard try ensure(k + v) else { throw StoreError.io("spilled run \(path) is truncated") }
        let key = Array(buffer[pos..<(pos + k)])
        let value = Array(buffer[(pos + k)..<(pos + k + v)])
        pos += k + v
        return (key, value, Int(header.0))
    }
}
