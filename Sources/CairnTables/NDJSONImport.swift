import CairnStore
import CairnValues

extension TableImport {
    /// Reads NDJSON (one JSON object a line) into a table keyed by the fields `key`. Rows may
    /// hold nested values and fields that vary from row to row: the columns are the fields in
    /// the order first seen; an absent field is a missing cell, `null` the Null value.
    public static func ndjson(path: String, key: [String], store: NodeStore, tempDirectory: String,
                              progress: ((Int, Int) -> Void)? = nil) throws -> ImportedTable {
        let file = try FileReader(path: path, text: true)
        file.progress = progress
        let rows = ObjectRows(key: key, format: "ndjson", unit: "line", store: store, tempDirectory: tempDirectory)
        var lines = LineReader(file: file)
        var lineNumber = 0
        while var line = try lines.next() {
            lineNumber += 1
            if line.last == 0x0D { line.removeLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            var parser = JSONParser(source: ByteSource(bytes: line), store: store)
            do {
                try rows.add(&parser, at: "line \(lineNumber)", position: lineNumber)
                try parser.expectEnd()
            } catch let e as JSONError {
                throw ImportError("line \(lineNumber): invalid JSON: \(e)")
            }
        }
        return try rows.finish()
    }

    /// Reads a JSON document that is an array of objects into a table keyed by `key`, as
    /// ``ndjson(path:key:store:tempDirectory:progress:)`` does for lines.
    public static func jsonRows(path: String, key: [String], store: NodeStore, tempDirectory: String,
                                progress: ((Int, Int) -> Void)? = nil) throws -> ImportedTable {
        let file = try FileReader(path: path, text: true)
        file.progress = progress
        let rows = ObjectRows(key: key, format: "json", unit: "element", store: store, tempDirectory: tempDirectory)
        var parser = JSONParser(source: ByteSource(refill: file.read), store: store)
        var n = 0
        do {
            try parser.forEachElementOfDocument { p in
                n += 1
                try rows.add(&p, at: "element \(n)", position: n)
            }
        } catch let e as JSONError {
            throw ImportError("invalid JSON: \(e)")
        }
        return try rows.finish()
    }
}

/// Rows of a table built from JSON objects, one object at a time.
final class ObjectRows {
    private let key: [String]
    private let format: String
    private let store: NodeStore
    private let builder: UnsortedMapBuilder
    /// Column names in the order first seen, with their UTF-8 and where their cells go: a
    /// slot, or for a key column its place in the key.
    private var names: [String] = []
    private var nameBytes: [[UInt8]] = []
    private var place: [Place] = []
    private var byName: [[UInt8]: Int] = [:]
    private var slots = 0
    private enum Place { case slot(Int), key(Int) }
    /// The columns of the last object, in its order: the next one most likely has the same.
    private var lastOrder: [Int] = []
    private var positions = LineIndex()
    private var count: UInt64 = 0

    /// What a position counts: `line` (NDJSON) or `element` (a JSON array).
    private let unit: String

    init(key: [String], format: String, unit: String, store: NodeStore, tempDirectory: String) {
        self.key = key
        self.unit = unit
        self.format = format
        self.store = store
        builder = UnsortedMapBuilder(store: store, directory: tempDirectory, duplicates: .refuse)
    }

    /// The column of field `name`, made when it is new. Past ``TableImport/maxColumns`` a new
    /// field is refused, as a CSV header that wide is: every row holds a cell (at least a byte)
    /// for each column before its last, so rows each naming one more field would cost time
    /// and space that grow with the square of the lines.
    private func column(_ name: UnsafeRawBufferPointer, expected: Int, lastOrder: [Int], at what: String) throws -> Int {
        if expected < lastOrder.count, nameBytes[lastOrder[expected]].withUnsafeBytes({ $0.elementsEqual(name) }) {
            return lastOrder[expected]
        }
        let bytes = Array(name)
        if let c = byName[bytes] { return c }
        let c = names.count
        guard c < TableImport.maxColumns else {
            throw ImportError("\(what): a field beyond the \(TableImport.maxColumns) distinct fields a table may have")
        }
        let s = String(decoding: bytes, as: UTF8.self)
        names.append(s)
        nameBytes.append(bytes)
        if let k = key.firstIndex(of: s) { place.append(.key(k)) } else { place.append(.slot(slots)); slots += 1 }
        byName[bytes] = c
        return c
    }

    // Reused for every object: a row costs no allocation once they have grown.
    private var values: [UInt8] = []
    private var refs: [Hash] = []
    private var cells: [Range<Int>?] = []
    private var keyParts: [Range<Int>?] = []
    private var order: [Int] = []
    private var keyBytes: [UInt8] = []
    private var rowBytes: [UInt8] = []

    /// Reads one object from `parser` as a row. The reused buffers are moved into locals for
    /// the call: a class's stored properties touched in a closure pay for a dynamic
    /// exclusivity check on every access.
    func add(_ parser: inout JSONParser, at what: String, position: Int) throws {
        var values: [UInt8] = [], refs: [Hash] = [], cells: [Range<Int>?] = [], keyParts: [Range<Int>?] = []
        var order: [Int] = []
        swap(&values, &self.values); swap(&refs, &self.refs); swap(&cells, &self.cells)
        swap(&keyParts, &self.keyParts); swap(&order, &self.order)
        defer {
            swap(&values, &self.values); swap(&refs, &self.refs); swap(&cells, &self.cells)
            swap(&keyParts, &self.keyParts); swap(&order, &self.order)
        }
        values.removeAll(keepingCapacity: true)
        refs.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        for i in cells.indices { cells[i] = nil }
        if keyParts.isEmpty { keyParts = Array(repeating: nil, count: key.count) }
        for i in keyParts.indices { keyParts[i] = nil }
        var last: [Int] = []
        swap(&last, &lastOrder)
        defer { swap(&last, &lastOrder) }
        // The refs of the key fields stay with the leaf; the cells' go with the row.
        var keyRefs: [Range<Int>] = []
        var cellRefs: [Range<Int>] = []
        try parser.forEachField(appendingTo: &values, refs: &refs) { name, value, valueRefs in
            let c = try column(name, expected: order.count, lastOrder: last, at: what)
            order.append(c)
            switch place[c] {
            case .key(let k):
                keyParts[k] = value
                if !valueRefs.isEmpty { keyRefs.append(valueRefs) }
            case .slot(let s):
                if s >= cells.count { cells += Array(repeating: nil, count: s + 1 - cells.count) }
                cells[s] = value  // a repeated field: the last one wins
                if !valueRefs.isEmpty { cellRefs.append(valueRefs) }
            }
        }
        swap(&last, &order)
        var parts: [Range<Int>] = []
        parts.reserveCapacity(keyParts.count)
        for (k, part) in keyParts.enumerated() {
            guard let part else { throw ImportError("\(what): no key field '\(key[k])'") }
            // A key is what a path segment can name: a string or a number.
            guard let tag = values[part].first, [0x03, 0x04, 0x05, 0x06].contains(tag) else {
                throw ImportError("\(what): the key field '\(key[k])' is not a string or a number")
            }
            parts.append(part)
        }
        var keyBytes: [UInt8] = [], rowBytes: [UInt8] = []
        swap(&keyBytes, &self.keyBytes); swap(&rowBytes, &self.rowBytes)
        defer { swap(&keyBytes, &self.keyBytes); swap(&rowBytes, &self.rowBytes) }
        keyBytes.removeAll(keepingCapacity: true)
        Table.appendKeyEncoding(parts: parts, values: values, to: &keyBytes)
        rowBytes.removeAll(keepingCapacity: true)
        Table.appendRowEncoding(cells: cells, values: values, to: &rowBytes)
        positions.append(line: position)
        do {
            if rowBytes.count > Format.rowInlineLimit || !keyRefs.isEmpty {
                let rowRefs = cellRefs.flatMap { refs[$0] }
                let (bytes, leafRefs) = try Table.outOfLineIfLarge(rowBytes, refs: rowRefs, store: store)
                try builder.append(key: keyBytes, value: bytes, refs: keyRefs.flatMap { refs[$0] } + leafRefs)
            } else {
                try keyBytes.withUnsafeBytes { k in try rowBytes.withUnsafeBytes { v in try builder.append(key: k, value: v, refs: refs) } }
            }
        } catch let e as UnsortedMapBuilder.DuplicateKey {
            throw duplicate(e)
        }
        count += 1
    }

    /// A duplicate key, with where both rows are.
    private func duplicate(_ e: UnsortedMapBuilder.DuplicateKey) -> ImportError {
        ImportError("\(unit) \(positions[e.second]): duplicate key \(TableImport.keyText(e.key, store: store)) (first at \(unit) \(positions[e.first]))")
    }

    func finish() throws -> ImportedTable {
        let rows: ProllyMap
        do { rows = try builder.finish() } catch let e as UnsortedMapBuilder.DuplicateKey { throw duplicate(e) }
        // Every row has the key fields, so only a table with no rows can lack them.
        for k in key where !names.contains(k) { names.append(k) }
        let schema = try Schema(columns: names, key: key, format: format, null: nil, infer: true)
        return ImportedTable(table: Table(schema: schema, rows: rows), rows: count)
    }
}

/// Splits a file into lines, taking them from a buffer by position; only the partial last
/// line is carried over when the next piece is read.
struct LineReader {
    let file: FileReader
    private var pending: [UInt8] = []
    private var start = 0
    private var finished = false

    init(file: FileReader) { self.file = file }

    mutating func next() throws -> [UInt8]? {
        var searchFrom = start
        while true {
            if let nl = pending[searchFrom...].firstIndex(of: 0x0A) {
                let line = Array(pending[start..<nl])
                start = nl + 1
                return line
            }
            if finished {
                guard start < pending.count else { return nil }
                defer { start = pending.count }
                return Array(pending[start...])
            }
            pending.removeSubrange(..<start)
            start = 0
            searchFrom = pending.count
            if pending.count > Format.maxImportedTextBytes {
                throw ImportError("a line longer than \(Format.maxImportedTextBytes >> 20) MiB (import long text as a blob)")
            }
            let piece = try file.read()
            if piece.isEmpty { finished = true } else { pending.append(contentsOf: piece) }
        }
    }
}
