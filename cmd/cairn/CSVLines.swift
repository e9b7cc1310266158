import CairnVersioning

/// Turns table rows into CSV lines in a fixed column order. A row stored inline (the common
/// case) is read straight from its encoding: Ints, Floats and ASCII Strings become text without
/// a `Value` in between; anything else goes through `Value` and `cellText`, as before.
struct CSVLines {
    let columns: [String]
    private let missing: [UInt8]
    private let store: NodeStore
    /// Each column's name encoded as a Map key.
    private let keys: [[UInt8]]
    /// Column indexes in the order of their keys in a row (the Map's key order).
    private let keyOrder: [Int]
    private let place: [String: Int]
    /// The text of each column's cell in this row, as a range of `cellBytes`.
    private var cells: [Range<Int>?]
    private var cellBytes: [UInt8] = []
    private(set) var line: [UInt8] = []

    init(columns: [String], missing: String, store: NodeStore) throws {
        self.columns = columns
        var m: [UInt8] = []
        appendCSVField(missing.utf8, to: &m)
        self.missing = m
        self.store = store
        let keys = try columns.map { try Value.string($0).encoded(store: store) }
        self.keys = keys
        keyOrder = columns.indices.sorted { EncodedOrder.compare(keys[$0], keys[$1]) < 0 }
        place = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        cells = Array(repeating: nil, count: columns.count)
    }

    /// The header line.
    var header: [UInt8] {
        var h: [UInt8] = []
        for (n, c) in columns.enumerated() {
            if n > 0 { h.append(0x2C) }
            appendCSVField(c.utf8, to: &h)
        }
        h.append(0x0A)
        return h
    }

    /// Builds `line` for a row given by its encoding (a Map). Throws when it is not a Map.
    mutating func row(encoded e: UnsafeRawBufferPointer) throws {
        startRow()
        var next = 0  // where in keyOrder the next key most likely is
        let inline = try EncodedView.forEachMapEntry(e) { k, v in
            guard let i = column(ofKey: k, expected: &next) else { return }
            try cell(i, encoded: v)
        }
        if !inline {
            guard case .map(let m) = try Value.decode(Array(e), store: store) else { throw CLIError.usage("a row is not a map") }
            try row(m)
            return
        }
        finishRow()
    }

    /// Builds `line` for a row given as a Map value.
    mutating func row(_ m: ProllyMap) throws {
        startRow()
        try m.forEach { k, v in
            if case .string(let name) = k, let i = place[name] { try cell(i, text: cellText(v)) }
            return true
        }
        finishRow()
    }

    private mutating func startRow() {
        for i in cells.indices { cells[i] = nil }
        cellBytes.removeAll(keepingCapacity: true)
    }

    private mutating func finishRow() {
        line.removeAll(keepingCapacity: true)
        for (n, c) in cells.enumerated() {
            if n > 0 { line.append(0x2C) }
            if let c { line.append(contentsOf: cellBytes[c]) } else { line.append(contentsOf: missing) }
        }
        line.append(0x0A)
    }

    /// The column whose key these bytes are; `expected` is where in the key order to look
    /// first, and moves past the match.
    private func column(ofKey k: UnsafeRawBufferPointer, expected: inout Int) -> Int? {
        func same(_ i: Int) -> Bool { keys[i].withUnsafeBytes { $0.elementsEqual(k) } }
        if expected < keyOrder.count, same(keyOrder[expected]) {
            expected += 1
            return keyOrder[expected - 1]
        }
        for (n, i) in keyOrder.enumerated() where same(i) {
            expected = n + 1
            return i
        }
        return nil  // a field that is not a column
    }

    private mutating func cell(_ i: Int, encoded v: UnsafeRawBufferPointer) throws {
        switch try EncodedView.scalar(v) {
        case .asciiString(let s):
            cell(i, bytes: s)
        case .int(let n):
            cell(i, bytes: String(n).utf8)  // a small String: no allocation
        case .float(let d) where d.isFinite:
            cell(i, text: d.description)
        default:
            try cell(i, text: cellText(Value.decode(Array(v), store: store)))
        }
    }

    private mutating func cell(_ i: Int, text: String) {
        cell(i, bytes: text.utf8)
    }

    private mutating func cell(_ i: Int, bytes: some Collection<UInt8>) {
        let start = cellBytes.count
        appendCSVField(bytes, to: &cellBytes)
        cells[i] = start..<cellBytes.count
    }
}

/// Appends a CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180), a quote
/// inside written twice.
func appendCSVField(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
    guard bytes.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
        return out.append(contentsOf: bytes)
    }
    out.append(0x22)
    for b in bytes {
        if b == 0x22 { out.append(0x22) }
        out.append(b)
    }
    out.append(0x22)
}
