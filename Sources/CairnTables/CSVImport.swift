import CairnStore
import CairnValues
import Dispatch

/// What an import made: the table, and how many rows it read.
public struct ImportedTable: Sendable {
    public let table: Table
    public let rows: UInt64
}

/// Reading files into tables: CSV here, NDJSON and JSON arrays of objects in
/// `NDJSONImport.swift`. Each streams its file and builds the rows tree in bounded memory.
public enum TableImport {
    /// The most columns a CSV header may name. A row of more could not fit in a chunk (each
    /// cell takes a byte at least, and a schema of that many names more), so a wider file is
    /// refused at its header instead of after the whole file has been read.
    public static let maxColumns = 65_536

    /// Options recorded in the schema, so export gives back what was imported.
    public struct Options: Sendable {
        /// The key columns, in key order (default: the first column).
        public var key: [String]?
        /// Type cells (Int, Float, else String); false keeps every cell a String.
        public var infer: Bool
        /// A cell with this text is a missing cell, as an empty one is.
        public var null: String?
        public init(key: [String]? = nil, infer: Bool = true, null: String? = nil) {
            self.key = key
            self.infer = infer
            self.null = null
        }
    }

    /// Reads a CSV file (RFC 4180; the first row is the header) into a table. `path` `-` reads
    /// standard input. Spilled sort runs go to `tempDirectory`.
    public static func csv(path: String, options: Options, store: NodeStore, tempDirectory: String,
                           progress: ((Int, Int) -> Void)? = nil) throws -> ImportedTable {
        let file = try FileReader(path: path, text: true)
        file.progress = progress
        var csv = CSVReader(refill: file.read)
        guard let header = try csv.next() else { throw ImportError("\(path) is empty: no header row") }
        let columns = header.fields
        guard columns.count <= maxColumns else {
            throw ImportError("line 1: \(columns.count) columns, over the \(maxColumns) a table may have")
        }
        if let dup = firstDuplicate(columns) { throw ImportError("line 1: column '\(dup)' appears twice") }
        if columns.contains(where: \.isEmpty) { throw ImportError("line 1: a column has no name") }
        let key = options.key ?? [columns[0]]
        if let dup = firstDuplicate(key) { throw ImportError("key column '\(dup)' is named twice") }
        for k in key where !columns.contains(k) {
            throw ImportError("key column '\(k)' is not in the header (\(columns.joined(separator: ",")))")
        }
        let schema = try Schema(columns: columns, key: key, format: "csv", null: options.null, infer: options.infer)
        let encoder = RowEncoder(schema: schema, fields: columns)
        let builder = UnsortedMapBuilder(store: store, directory: tempDirectory, duplicates: .refuse)
        // Reading and encoding rows runs here; building the tree from them runs on the other
        // core, fed in batches.
        let pipe = EntryPipe(builder: builder)
        var batch = EntryPipe.Batch()
        var lines = LineIndex()
        let nullBytes = options.null.map { Array($0.utf8) }
        var record = CSVRecord()
        // Reused for every row: encoding a row allocates nothing.
        var cells: [RowEncoder.Cell?] = Array(repeating: nil, count: columns.count)
        let rows: ProllyMap
        defer { pipe.abandon() }
        do {
            while let line = try csv.next(into: &record) {
                if record.count == 1 && record.bytes.isEmpty { continue }  // a blank line
                guard record.count == columns.count else {
                    throw ImportError("line \(line): \(record.count) fields, the header has \(columns.count)")
                }
                try record.bytes.withUnsafeBytes { raw in
                    for i in 0..<record.count {
                        let range = record.range(i)
                        let f = UnsafeRawBufferPointer(rebasing: raw[range])
                        if f.isEmpty || (nullBytes.map { f.elementsEqual($0) } ?? false) {
                            cells[i] = nil
                        } else {
                            guard let cell = typedCell(bytes: f, at: range.lowerBound, infer: options.infer) else {
                                throw ImportError("line \(line): not valid UTF-8")
                            }
                            cells[i] = cell
                        }
                    }
                    for (n, i) in encoder.keyFields.enumerated() where cells[i] == nil {
                        throw ImportError("line \(line): the key column '\(key[n])' is empty")
                    }
                    // Straight into the batch: no copy per row.
                    try encoder.encodeKey(cells, record: raw, store: store, refs: &batch.refs, appendingTo: &batch.bytes)
                    let keyEnd = batch.bytes.count
                    try encoder.encodeRow(cells, record: raw, store: store, refs: &batch.refs, appendingTo: &batch.bytes)
                    batch.ends.append((keyEnd, batch.bytes.count, batch.refs.count))
                }
                lines.append(line: line)  // a duplicate is reported by it
                if batch.bytes.count >= EntryPipe.batchBytes {
                    try pipe.send(batch)
                    batch = EntryPipe.Batch()
                }
            }
            try pipe.send(batch)
            try pipe.finish()
            rows = try builder.finish()
        } catch let e as UnsortedMapBuilder.DuplicateKey {
            throw ImportError("line \(lines[e.second]): duplicate key \(keyText(e.key, store: store)) (first at line \(lines[e.first]))")
        }
        return ImportedTable(table: Table(schema: schema, rows: rows), rows: UInt64(lines.count))
    }

    /// A key as a user writes it: its columns' texts joined by commas.
    static func keyText(_ key: [UInt8], store: NodeStore) -> String {
        guard let v = try? Value.decode(key, store: store) else { return "?" }
        let parts: [Value]
        if case .tuple(let xs) = v { parts = xs } else { parts = [v] }
        return "'" + parts.map { (try? $0.segmentText()) ?? "?" }.joined(separator: ",") + "'"
    }
}

func firstDuplicate(_ xs: [String]) -> String? {
    var seen = Set<String>()
    for x in xs where !seen.insert(x).inserted { return x }
    return nil
}

/// Hands encoded entries to an `UnsortedMapBuilder` on another thread, in batches, so that
/// reading rows and building the tree overlap. At most two batches wait at a time, so memory
/// stays bounded. The builder's first error stops the consumer and comes back from the next
/// `send` or from `finish`.
final class EntryPipe: @unchecked Sendable {
    static let batchBytes = 1 << 20

    /// Entries encoded back to back. Per entry: where its key ends and its value ends in
    /// `bytes`, and where its refs end in `refs` (each starts where the one before ended).
    struct Batch {
        var bytes: [UInt8]
        var ends: [(key: Int, value: Int, refs: Int)] = []
        var refs: [Hash] = []

        init() {
            bytes = []
            bytes.reserveCapacity(EntryPipe.batchBytes + (1 << 16))
        }
    }

    private let builder: UnsortedMapBuilder
    private let lock = Lock()
    private var queue: [Batch] = []
    private var closed = false
    private var error: (any Error)?
    private let ready = DispatchSemaphore(value: 0)
    private let room = DispatchSemaphore(value: 2)
    private let done = DispatchSemaphore(value: 0)

    init(builder: UnsortedMapBuilder) {
        self.builder = builder
        DispatchQueue.global().async { self.consume() }
    }

    private func consume() {
        while true {
            ready.wait()
            let next: Batch? = lock.withLock { queue.isEmpty ? nil : queue.removeFirst() }
            guard let batch = next else { break }  // closed
            room.signal()
            if lock.withLock({ error != nil }) { continue }
            do {
                try batch.bytes.withUnsafeBytes { raw in
                    var start = 0, refStart = 0
                    for e in batch.ends {
                        try builder.append(key: UnsafeRawBufferPointer(rebasing: raw[start..<e.key]),
                                           value: UnsafeRawBufferPointer(rebasing: raw[e.key..<e.value]),
                                           refs: e.refs > refStart ? Array(batch.refs[refStart..<e.refs]) : [])
                        start = e.value
                        refStart = e.refs
                    }
                }
            } catch {
                lock.withLock { self.error = error }
            }
        }
        done.signal()
    }

    func send(_ batch: Batch) throws {
        if let e = lock.withLock({ error }) { throw e }
        room.wait()
        lock.withLock { queue.append(batch) }
        ready.signal()
    }

    /// Waits until every batch is in the builder; throws the builder's error, if any.
    func finish() throws {
        close()
        done.wait()
        if let e = lock.withLock({ error }) { throw e }
    }

    private func close() {
        let first: Bool = lock.withLock {
            defer { closed = true }
            return !closed
        }
        if first { ready.signal() }
    }

    /// Stops the consumer after an error on this side (no-op after `finish`).
    func abandon() {
        let wasClosed = lock.withLock { closed }
        if wasClosed { return }
        lock.withLock { if error == nil { error = ImportError("import abandoned") } }
        close()
        done.wait()
    }
}
