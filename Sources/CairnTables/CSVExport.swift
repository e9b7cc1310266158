import CairnStore
import CairnValues

/// Turns a table's rows into CSV lines, its columns in display order. Ints, Floats and ASCII
/// Strings become text straight from their encoding; anything else goes through `Value` and
/// ``cellText(_:)``.
struct CSVLines {
    private let table: Table
    private let missing: [UInt8]
    /// For each column in display order: its slot, or its place in the key.
    private let sources: [Table.RowLayout.Source]
    private var cells: [Range<Int>?]
    private var slotCells: [Range<Int>?]
    private var cellBytes: [UInt8] = []
    private(set) var line: [UInt8] = []

    init(table: Table, missing: String) {
        self.table = table
        var m: [UInt8] = []
        appendCSVField(missing.utf8, to: &m)
        self.missing = m
        sources = Table.RowLayout(table).sources
        cells = Array(repeating: nil, count: sources.count)
        slotCells = Array(repeating: nil, count: table.schema.slotCount)
    }

    /// The header line.
    var header: [UInt8] {
        var h: [UInt8] = []
        for (n, c) in table.schema.columns.enumerated() {
            if n > 0 { h.append(0x2C) }
            appendCSVField(c.name.utf8, to: &h)
        }
        h.append(0x0A)
        return h
    }

    /// Builds `line` for the row with this encoded key and row.
    mutating func row(key: UnsafeRawBufferPointer, row: UnsafeRawBufferPointer) throws {
        cellBytes.removeAll(keepingCapacity: true)
        for i in slotCells.indices { slotCells[i] = nil }
        let keyParts = Table.keyElements(key, columns: table.schema.key.count)
        try Table.forEachCell(row, store: table.store) { slot, cell in
            guard slot < slotCells.count, let cell else { return }
            slotCells[slot] = try text(cell)
        }
        var keyCells: [Range<Int>] = []
        for p in keyParts { keyCells.append(try text(p)) }
        line.removeAll(keepingCapacity: true)
        for (n, s) in sources.enumerated() {
            if n > 0 { line.append(0x2C) }
            let r: Range<Int>?
            switch s {
            case .slot(let i): r = slotCells[i]
            case .key(let i): r = i < keyCells.count ? keyCells[i] : nil
            }
            if let r { line.append(contentsOf: cellBytes[r]) } else { line.append(contentsOf: missing) }
        }
        line.append(0x0A)
    }

    /// Appends a cell's CSV text to `cellBytes`; returns where it is.
    private mutating func text(_ v: UnsafeRawBufferPointer) throws -> Range<Int> {
        let start = cellBytes.count
        switch try EncodedView.scalar(v) {
        case .asciiString(let s): appendCSVField(s, to: &cellBytes)
        case .int(let n): appendCSVField(String(n).utf8, to: &cellBytes)
        case .float(let d) where d.isFinite: appendCSVField(d.description.utf8, to: &cellBytes)
        default: appendCSVField(try cellText(Value.decode(Array(v), store: table.store)).utf8, to: &cellBytes)
        }
        return start..<cellBytes.count
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
