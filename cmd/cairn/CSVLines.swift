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
        self.missing = Array(csvField(missing).utf8)
        self.store = store
        let keys = try columns.map { try Value.string($0).encoded(store: store) }
        self.keys = keys
        keyOrder = columns.indices.sorted { EncodedOrder.compare(keys[$0], keys[$1]) < 0 }
        place = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        cells = Array(repeating: nil, count: columns.count)
    }

    /// The header line.
    var header: [UInt8] { Array((columns.map(csvField).joined(separator: ",") + "\n").utf8) }

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
            let start = cellBytes.count
            if s.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                cellBytes.append(0x22)
                for b in s {
                    if b == 0x22 { cellBytes.append(0x22) }
                    cellBytes.append(b)
                }
                cellBytes.append(0x22)
            } else {
                cellBytes.append(contentsOf: s)
            }
            cells[i] = start..<cellBytes.count
        case .int(let n):
            let start = cellBytes.count
            appendDecimal(n)
            cells[i] = start..<cellBytes.count
        case .float(let d) where d.isFinite:
            try cell(i, text: d.description)
        default:
            try cell(i, text: cellText(Value.decode(Array(v), store: store)))
        }
    }

    private mutating func cell(_ i: Int, text: String) throws {
        let start = cellBytes.count
        cellBytes.append(contentsOf: csvField(text).utf8)
        cells[i] = start..<cellBytes.count
    }

    private mutating func appendDecimal(_ n: Int64) {
        if n < 0 { cellBytes.append(0x2D) }
        var m = n.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, reversed
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(m % 10) + 0x30
                m /= 10
                count += 1
            } while m > 0
            for j in stride(from: count - 1, through: 0, by: -1) { cellBytes.append(d[j]) }
        }
    }
}
