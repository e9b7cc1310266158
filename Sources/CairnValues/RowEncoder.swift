import CairnStore
/// Encodes the rows of a table straight from typed cells of a record (a CSV line), with no
/// `Value` per cell: text cells stay where they are in the record's bytes.
package struct RowEncoder: Sendable {
    /// A cell already typed. Text is a range of the record's bytes (valid UTF-8, checked by the
    /// caller), so typing and encoding a cell costs no allocation.
    package enum Cell {
        case int(Int64)
        case float(Double)
        case text(Range<Int>)
    }

    /// For each slot of the row, the index of the record's field that fills it.
    private let fieldOfSlot: [Int]
    /// The record's fields that make the key, in key order.
    package let keyFields: [Int]

    /// `slots[i]` is the slot of field `i` of each record (nil for a key field).
    package init(slots: [Int?], keyFields: [Int]) {
        var fieldOfSlot = Array(repeating: -1, count: (slots.compactMap { $0 }.max() ?? -1) + 1)
        for (i, s) in slots.enumerated() { if let s { fieldOfSlot[s] = i } }
        self.fieldOfSlot = fieldOfSlot
        self.keyFields = keyFields
    }

    package init(schema: Schema, fields: [String]) {
        // One lookup table, not a scan of the columns per field: a header of a million
        // columns took hours. Names match by their UTF-8 bytes, as `column(named:)` does.
        var slotOf: [[UInt8]: Int?] = [:]
        for c in schema.columns where slotOf[Array(c.name.utf8)] == nil { slotOf[Array(c.name.utf8)] = .some(c.slot) }
        self.init(slots: fields.map { slotOf[Array($0.utf8)] ?? nil },
                  keyFields: schema.keyColumns.map { c in fields.firstIndex(of: c.name)! })
    }

    static func write(_ cell: Cell, record: UnsafeRawBufferPointer, to w: inout ByteWriter, refs: inout [Hash],
                      store: NodeStore) throws {
        switch cell {
        case .int(let i):
            w.byte(Tag.int.rawValue)
            w.signed(i)
        case .float(let d):
            try w.value(.float(d), refs: &refs, store: store)
        case .text(let range):
            let bytes = UnsafeRawBufferPointer(rebasing: record[range])
            if bytes.count > Format.stringInlineLimit {
                try w.value(.string(String(decoding: bytes, as: UTF8.self)), refs: &refs, store: store)
            } else {
                w.byte(Tag.string.rawValue)
                w.varint(UInt64(bytes.count))
                w.append(bytes)
            }
        }
    }

    /// Appends the row's key (its key field, or the tuple of them) to `out`, and the chunks it
    /// references (a key string stored out of line) to `refs`; the key fields must be present.
    package func encodeKey(_ cells: [Cell?], record: UnsafeRawBufferPointer, store: NodeStore, refs: inout [Hash],
                           appendingTo out: inout [UInt8]) throws {
        try ByteWriter.writing(into: &out) { w in
            if keyFields.count > 1 {
                w.byte(Tag.tuple.rawValue)
                w.varint(UInt64(keyFields.count))
            }
            for f in keyFields { try Self.write(cells[f]!, record: record, to: &w, refs: &refs, store: store) }
        }
    }

    /// Appends the row's encoding (its cells by slot, nil: missing) to `out`, and the chunks
    /// it references to `refs`. A row larger than ``Format/rowInlineLimit`` goes out of line.
    package func encodeRow(_ cells: [Cell?], record: UnsafeRawBufferPointer, store: NodeStore, refs: inout [Hash],
                           appendingTo out: inout [UInt8]) throws {
        var n = fieldOfSlot.count
        while n > 0 && cells[fieldOfSlot[n - 1]] == nil { n -= 1 }
        let start = out.count, mark = refs.count
        try ByteWriter.writing(into: &out) { w in
            w.byte(Tag.row.rawValue)
            w.varint(UInt64(n))
            for slot in 0..<n {
                let f = fieldOfSlot[slot]
                if f >= 0, let c = cells[f] { try Self.write(c, record: record, to: &w, refs: &refs, store: store) } else {
                    w.byte(Tag.missingCell.rawValue)
                }
            }
        }
        if out.count - start > Format.rowInlineLimit {
            let row = Array(out[start...])
            let rowRefs = Array(refs[mark...])
            out.removeSubrange(start...)
            refs.removeSubrange(mark...)
            let (bytes, r) = try Table.outOfLineIfLarge(row, refs: rowRefs, store: store)
            out += bytes
            refs += r
        }
    }
}

extension ByteWriter {
    /// Runs `body` with a writer over `out`'s storage (moved in and back, not copied).
    static func writing<T>(into out: inout [UInt8], _ body: (inout ByteWriter) throws -> T) rethrows -> T {
        var w = ByteWriter()
        swap(&w.bytes, &out)
        defer { swap(&w.bytes, &out) }
        return try body(&w)
    }
}
