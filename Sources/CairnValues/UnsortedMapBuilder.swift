import CairnStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a map from entries in any key order, in bounded memory: entries gather in memory up
/// to `runBytes`, each full run is sorted and spilled to a temporary file, and `finish` merges
/// the runs (the last one straight from memory) into one sorted build. The result is the same
/// tree a sorted build gives, and the chunk store sees each node once, where batched edits of
/// random keys would rewrite most leaves once per batch.
package final class UnsortedMapBuilder {
    package let store: NodeStore
    private let runBytes: Int
    private let directory: String
    /// The buffered run: keys and values back to back in two arenas, and plain slots pointing
    /// into them, so sorting moves and compares no reference-counted arrays.
    private var keyArena = ByteArena()
    private var valueArena = ByteArena()
    private var slots: [Slot] = []
    private var bytes = 0

    /// One buffered entry. `norm` is the key's first bytes in a form that orders as the key
    /// does (see ``normalizedPrefix(_:)``): most comparisons of a sort end there.
    struct Slot {
        var norm0: UInt64
        var norm1: UInt64
        var keyOffset: Int
        var keyLength: Int32
        var valueLength: Int32
        var valueOffset: Int
        var seq: Int
    }
    /// Spilled runs: open files whose names are already removed, so a killed process leaves
    /// nothing behind. Each is read back from its start in the merge.
    private var runs: [(file: UnsafeMutablePointer<FILE>, name: String)] = []
    private var seq = 0
    /// Whether any entry referenced a chunk (a value stored by Ref, a row out of line).
    private var hadRefs = false

    /// What to do with two entries of one key.
    package enum Duplicates: Sendable {
        /// The later entry wins.
        case lastWins
        /// `finish` throws ``DuplicateKey`` with the key and the positions of both entries.
        case refuse
    }

    package struct DuplicateKey: Error, Sendable {
        package let key: [UInt8]
        /// The 0-based order in which the two entries were appended.
        package let first: Int
        package let second: Int
    }

    private let duplicates: Duplicates
    /// The order on keys, in place.
    private let rawCompare: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Int
    /// True for the default order, which normalized prefixes and the direct stream rely on.
    private let streamsSorted: Bool
    /// While keys arrive in increasing order they stream straight into this builder, with no
    /// sorting or spilling: input already in key order (most exports) costs one pass.
    private var direct: MapBuilder?
    private let directLastKey = ByteArena()
    private var directLastSeq = -1
    /// True until the first key out of order (always false for a custom order).
    private var streaming: Bool
    /// What the direct builder made before the first key out of order; merged at the end.
    private var prefix: ProllyMap?

    /// `directory` holds the spilled runs; it must exist and be writable.
    /// `compare` orders keys (default: the total order of values); with another order the
    /// entries can only come out through ``finish(into:)``.
    package init(store: NodeStore, runBytes: Int = 64 << 20, directory: String, duplicates: Duplicates = .lastWins,
                compare: (([UInt8], [UInt8]) -> Int)? = nil) {
        self.store = store
        self.runBytes = runBytes
        self.directory = directory
        self.duplicates = duplicates
        if let compare {
            rawCompare = { compare(Array($0), Array($1)) }
        } else {
            rawCompare = { KeyOrder.compare($0, $1) }
        }
        streamsSorted = compare == nil
        streaming = compare == nil
    }

    deinit { for r in runs { fclose(r.file) } }

    /// Appends an encoded entry; `entryRefs` are the chunks the value references.
    package func append(key: [UInt8], value: [UInt8], refs entryRefs: [Hash] = []) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try append(key: k, value: v, refs: entryRefs) } }
    }

    /// Appends an encoded entry from bytes the caller keeps; they are copied before this returns.
    package func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, refs entryRefs: [Hash] = []) throws {
        if streaming {
            if direct == nil { direct = MapBuilder(store: store) }
            let order = directLastSeq < 0 ? -1 : KeyOrder.compare(directLastKey.bytes(0, directLastKey.count), key)
            if order < 0 {
                try direct!.appendOrdered(key: key, value: value, refs: entryRefs)
                if !entryRefs.isEmpty { hadRefs = true }
                directLastKey.removeAll()
                directLastKey.append(key)
                directLastSeq = seq
                seq += 1
                return
            }
            if order == 0 && duplicates == .refuse { throw DuplicateKey(key: Array(key), first: directLastSeq, second: seq) }
            // Out of order: what streamed so far becomes a sorted run of its own.
            prefix = try direct!.finish()
            direct = nil
            streaming = false
        }
        let norm = streamsSorted ? normalizedPrefix(key) : (0, 0)
        slots.append(Slot(norm0: norm.0, norm1: norm.1, keyOffset: keyArena.count, keyLength: Int32(key.count),
                          valueLength: Int32(value.count), valueOffset: valueArena.count, seq: seq))
        keyArena.append(key)
        valueArena.append(value)
        seq += 1
        bytes += key.count + value.count + MemoryLayout<Slot>.stride
        if !entryRefs.isEmpty { hadRefs = true }
        if bytes >= runBytes { try spill() }
    }

    /// Sorts the run's slots by key, then by arrival: by the normalized prefixes first, and
    /// only where those tie by the whole keys, compared in place in the arena.
    private func sortRun() {
        let compare = rawCompare
        let keys = keyArena
        slots.sort { a, b in
            if a.norm0 != b.norm0 { return a.norm0 < b.norm0 }
            if a.norm1 != b.norm1 { return a.norm1 < b.norm1 }
            let c = compare(keys.bytes(a.keyOffset, Int(a.keyLength)), keys.bytes(b.keyOffset, Int(b.keyLength)))
            return c != 0 ? c < 0 : a.seq < b.seq
        }
    }

    private func clearRun() {
        slots.removeAll(keepingCapacity: true)
        keyArena.removeAll()
        valueArena.removeAll()
        bytes = 0
    }

    /// Writes the sorted run: per entry, varints of sequence, key length and value length, then
    /// the bytes.
    private func spill() throws {
        sortRun()
        let path = directory + "/run-\(runs.count)-\(getpid()).tmp"
        guard let f = fopen(path, "w+b") else { throw StoreError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        unlink(path)
        var w = ByteWriter(capacity: 1 << 20)
        do {
            for e in slots {
                w.varint(UInt64(e.seq))
                w.varint(UInt64(e.keyLength))
                w.varint(UInt64(e.valueLength))
                w.append(keyArena.bytes(e.keyOffset, Int(e.keyLength)))
                w.append(valueArena.bytes(e.valueOffset, Int(e.valueLength)))
                if w.bytes.count >= 1 << 20 { try write(w.bytes, f, path); w.bytes.removeAll(keepingCapacity: true) }
            }
            try write(w.bytes, f, path)
            guard fflush(f) == 0 else { throw StoreError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
        } catch {
            fclose(f)
            throw error
        }
        runs.append((f, path))
        clearRun()
    }

    private func write(_ b: [UInt8], _ f: UnsafeMutablePointer<FILE>, _ path: String) throws {
        guard b.isEmpty || fwrite(b, 1, b.count, f) == b.count else {
            throw StoreError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Merges everything appended into a map.
    package func finish() throws -> ProllyMap {
        if streaming {
            // Everything arrived in order.
            return try (direct ?? MapBuilder(store: store)).finish()
        }
        let builder = MapBuilder(store: store)
        // The merge hands out keys strictly increasing: no need to check the order again.
        try merge { k, v, refs in try builder.appendOrdered(key: k, value: v, refs: refs) }
        return try builder.finish()
    }

    /// The chunks an entry's key and value reference, read from their encodings.
    static func references(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> [Hash] {
        var refs: [Hash] = []
        try withUnsafeMutablePointer(to: &refs) { (p) throws(DecodeError) in
            var rk = ByteReader(key)
            try rk.skipValue(refs: p)
            var rv = ByteReader(value)
            try rv.skipValue(refs: p)
        }
        return refs
    }

    /// Hands every entry to `sink` in key order, once per key (duplicates as configured), each
    /// with the chunks it references.
    package func finish(into sink: ([UInt8], [UInt8], [Hash]) throws -> Void) throws {
        try merge { k, v, refs in try sink(Array(k), Array(v), refs) }
    }

    /// The k-way merge. Entries are read in place from the runs' buffers; only the entry held
    /// back to look for a later duplicate is copied, into buffers reused for every entry.
    private func merge(_ sink: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, [Hash]) throws -> Void) throws {
        var sources: [RunSource] = []
        // The streamed prefix sorts before every later entry of the same key (it came first).
        if let prefix { sources.append(TreeRun(prefix)) }
        // The file runs own the files from here, and close them.
        let files = runs
        runs.removeAll()
        for r in files { sources.append(FileRun(file: r.file, name: r.name)) }
        if !slots.isEmpty {
            // The last run never touches the disk.
            sortRun()
            sources.append(MemoryRun(slots: slots, keys: keyArena, values: valueArena))
        }
        var live: [RunSource] = []
        for s in sources where try s.advance() { live.append(s) }
        let compare = rawCompare
        let pendingKey = ByteArena(), pendingValue = ByteArena()
        var pendingSeq = -1
        // Each entry declares the chunks it references, read back from its own encoding: the
        // runs keep no references, and most imports have none (then nothing is scanned).
        let scan = hadRefs
        func emitPending() throws {
            guard pendingSeq >= 0 else { return }
            let k = pendingKey.bytes(0, pendingKey.count), v = pendingValue.bytes(0, pendingValue.count)
            try sink(k, v, scan ? try Self.references(k, v) : [])
        }
        while !live.isEmpty {
            // The smallest head (k is small: a linear scan beats a heap).
            var best = 0
            for i in 1..<live.count {
                let c = compare(live[i].key, live[best].key)
                if c < 0 || (c == 0 && live[i].seq < live[best].seq) { best = i }
            }
            let e = live[best]
            if pendingSeq >= 0, compare(pendingKey.bytes(0, pendingKey.count), e.key) == 0 {
                if duplicates == .refuse { throw DuplicateKey(key: Array(e.key), first: pendingSeq, second: e.seq) }
            } else {
                try emitPending()
            }
            pendingKey.removeAll()
            pendingKey.append(e.key)
            pendingValue.removeAll()
            pendingValue.append(e.value)
            pendingSeq = e.seq
            if try !e.advance() { live.remove(at: best) }
        }
        try emitPending()
        clearRun()
    }
}

/// The first 16 bytes of an encoded key under the default order, as two big-endian words that
/// order as the keys do: if `a`'s prefix is below `b`'s, then `a < b`; equal prefixes decide
/// nothing. The first byte ranks the kind (inline strings before out-of-line ones); strings then
/// continue with their UTF-8 bytes, zero-padded, and ints and counters with the value, sign bit
/// flipped. Other kinds stop at the rank, and their ties fall back to the full comparison.
func normalizedPrefix(_ key: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
    guard let tag = key.first else { return (0, 0) }
    let rank = UInt64(KeyOrder.rank(tag)) * 2 + (tag == Tag.stringRef.rawValue ? 1 : 0)
    var reader = ByteReader(key, at: 1)
    switch Tag(rawValue: tag) {
    case .string?:
        guard let n = try? reader.length() else { return (rank << 56, 0) }
        var w0 = rank << 56, w1: UInt64 = 0
        let start = reader.pos
        for i in 0..<min(n, 15) {
            let b = UInt64(key[start + i])
            if i < 7 { w0 |= b << UInt64(48 - 8 * i) } else { w1 |= b << UInt64(56 - 8 * (i - 7)) }
        }
        return (w0, w1)
    case .int?, .counter?:
        guard let v = try? reader.signed() else { return (rank << 56, 0) }
        let flipped = UInt64(bitPattern: v) ^ (1 << 63)
        return (rank << 56 | flipped >> 8, (flipped & 0xff) << 56)
    case .tuple?:
        // The first element's prefix, shifted down a byte under the tuple's rank: shifting
        // keeps the order of prefixes (ties are settled by the whole keys).
        guard let n = try? reader.varint(), n > 0 else { return (rank << 56, 0) }
        let (e0, e1) = normalizedPrefix(UnsafeRawBufferPointer(rebasing: key[reader.pos...]))
        return (rank << 56 | e0 >> 8, (e0 & 0xff) << 56 | e1 >> 8)
    default:
        return (rank << 56, 0)
    }
}

/// Bytes appended back to back in memory the builder owns, so views into it stay put until
/// it grows or is cleared.
final class ByteArena {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 256) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    func append(_ b: UnsafeRawBufferPointer) {
        if count + b.count > capacity {
            var c = capacity * 2
            while c < count + b.count { c *= 2 }
            let grown = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 8)
            grown.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = grown
            capacity = c
        }
        if let src = b.baseAddress { (base + count).copyMemory(from: src, byteCount: b.count) }
        count += b.count
    }

    @inline(__always) func bytes(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    func removeAll() { count = 0 }
}

/// A sorted run read one entry at a time; `key`, `value` and `seq` describe the current entry
/// and stay valid until the next `advance`.
private protocol RunSource: AnyObject {
    /// Moves to the next entry; false when the run is done.
    func advance() throws -> Bool
    var key: UnsafeRawBufferPointer { get }
    var value: UnsafeRawBufferPointer { get }
    var seq: Int { get }
}

/// The entries of the streamed prefix, in order, as a run. They arrived in key order, so an
/// entry's sequence number is its position.
private final class TreeRun: RunSource {
    private let map: ProllyMap
    private let keys = ByteArena(capacity: 1 << 16), values = ByteArena(capacity: 1 << 16)
    private var spans: [(k: Int, kn: Int, v: Int, vn: Int)] = []
    private var i = 0
    private var lastKey: [UInt8]?
    private var done = false
    private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var value = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var seq = -1

    init(_ map: ProllyMap) { self.map = map }

    func advance() throws -> Bool {
        i += 1
        if i >= spans.count {
            if done { return false }
            // Refill a window of entries from where the last one stopped.
            keys.removeAll(); values.removeAll(); spans.removeAll(keepingCapacity: true)
            i = 0
            var skipFirst = lastKey != nil
            try map.forEachEncoded(from: lastKey) { k, v in
                if skipFirst { skipFirst = false; return true }
                spans.append((keys.count, k.count, values.count, v.count))
                k.withUnsafeBytes { keys.append($0) }
                v.withUnsafeBytes { values.append($0) }
                lastKey = k
                return spans.count < 4096
            }
            if spans.count < 4096 { done = true }
            if spans.isEmpty { return false }
        }
        let s = spans[i]
        key = keys.bytes(s.k, s.kn)
        value = values.bytes(s.v, s.vn)
        seq += 1
        return true
    }
}

/// The last run, sorted in memory.
private final class MemoryRun: RunSource {
    private let slots: [UnsortedMapBuilder.Slot]
    private let keys: ByteArena, values: ByteArena
    private var i = -1
    private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var value = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var seq = 0

    init(slots: [UnsortedMapBuilder.Slot], keys: ByteArena, values: ByteArena) {
        self.slots = slots
        self.keys = keys
        self.values = values
    }

    func advance() throws -> Bool {
        i += 1
        guard i < slots.count else { return false }
        let s = slots[i]
        key = keys.bytes(s.keyOffset, Int(s.keyLength))
        value = values.bytes(s.valueOffset, Int(s.valueLength))
        seq = s.seq
        return true
    }
}

/// Reads a spilled run back through a buffer of 1 MiB (larger if one entry needs it).
private final class FileRun: RunSource {
    private let file: UnsafeMutablePointer<FILE>
    private let path: String  // the (removed) file's name, for messages
    private var buffer: UnsafeMutableRawPointer
    private var capacity = 1 << 20
    private var start = 0, end = 0
    private var eof = false
    private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var value = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var seq = 0

    init(file: UnsafeMutablePointer<FILE>, name: String) {
        rewind(file)
        self.file = file
        path = name
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit {
        fclose(file)
        buffer.deallocate()
    }

    /// Makes at least `n` unread bytes available unless the file ends first.
    private func ensure(_ n: Int) -> Bool {
        if end - start >= n { return true }
        // Move what is left to the front, grow if one entry needs more, and read on.
        if start > 0 {
            buffer.copyMemory(from: buffer + start, byteCount: end - start)
            end -= start
            start = 0
        }
        if n > capacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 8)
            grown.copyMemory(from: buffer, byteCount: end)
            buffer.deallocate()
            buffer = grown
            capacity = n
        }
        while end < n && !eof {
            let got = fread(buffer + end, 1, capacity - end, file)
            if got == 0 { eof = true } else { end += got }
        }
        return end - start >= n
    }

    func advance() throws -> Bool {
        guard ensure(1) else { return false }
        _ = ensure(30)
        var r = ByteReader(UnsafeRawBufferPointer(start: buffer + start, count: end - start))
        let header: (UInt64, UInt64, UInt64)
        do { header = (try r.varint(), try r.varint(), try r.varint()) } catch {
            throw StoreError.io("spilled run \(path) is damaged")
        }
        start += r.pos
        guard header.1 < 1 << 31, header.2 < 1 << 31 else {
            throw StoreError.io("spilled run \(path) is damaged")
        }
        let k = Int(header.1), v = Int(header.2)
        guard ensure(k + v) else { throw StoreError.io("spilled run \(path) is truncated") }
        key = UnsafeRawBufferPointer(start: buffer + start, count: k)
        value = UnsafeRawBufferPointer(start: buffer + start + k, count: v)
        seq = Int(header.0)
        start += k + v
        return true
    }
}
