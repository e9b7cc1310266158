import CairnStore
/// Tables in JSON: as if each row were a Map from column name to value, nested one object
/// level per key column by the key's text, `{"EWR": {"2013-01-01T06:00:00Z": {row}}}`; or, for
/// export, an array of row objects (``writeRows(_:under:)``).
extension JSONWriter {
    /// The rows under `prefix` as nested objects, one level per key column after the prefix.
    public mutating func writeTable(_ t: Table, under prefix: [Value] = []) throws {
        let keyColumns = t.schema.key.count
        let levels = keyColumns - prefix.count
        // The key elements (encoded) of the objects open below the outermost one.
        var open: [[UInt8]] = []
        var firstAt = [true]
        out.append(UInt8(ascii: "{"))
        indent += 1
        func member(_ w: inout JSONWriter, _ level: Int, key: UnsafeRawBufferPointer) throws {
            if !firstAt[level] { w.out.append(UInt8(ascii: ",")) }
            firstAt[level] = false
            w.newline()
            try w.writeKeyText(key, store: t.store)
            w.out.append(UInt8(ascii: ":"))
            if w.pretty { w.out.append(0x20) }
        }
        func close(_ w: inout JSONWriter) {
            w.indent -= 1
            w.newline()
            w.out.append(UInt8(ascii: "}"))
        }
        let layout = Table.RowLayout(t)
        try t.forEachRow(under: prefix) { k, row in
            let parts = Array(Table.keyElements(k, columns: keyColumns).dropFirst(prefix.count))
            guard parts.count == levels else { throw StoreError.corruptChunk(t.rows.hash, reason: "a row key does not match the key columns") }
            var same = 0
            while same < open.count && same < levels - 1 && open[same].withUnsafeBytes({ $0.elementsEqual(parts[same]) }) { same += 1 }
            while open.count > same {
                open.removeLast()
                firstAt.removeLast()
                close(&self)
            }
            while open.count < levels - 1 {
                try member(&self, open.count, key: parts[open.count])
                out.append(UInt8(ascii: "{"))
                indent += 1
                open.append(Array(parts[open.count]))
                firstAt.append(true)
            }
            try member(&self, open.count, key: parts[levels - 1])
            try writeRow(layout, key: k, row: row)
            drainIfFull()
            return true
        }
        while !open.isEmpty {
            open.removeLast()
            close(&self)
        }
        indent -= 1
        if !(firstAt.first ?? true) { newline() }
        out.append(UInt8(ascii: "}"))
    }

    /// The rows under `prefix` as an array of row objects, key columns included.
    public mutating func writeRows(_ t: Table, under prefix: [Value] = []) throws {
        let layout = Table.RowLayout(t)
        try writeArray { w in
            try t.forEachRow(under: prefix) { k, row in
                try w.element { try $0.writeRow(layout, key: k, row: row) }
                return true
            }
        }
    }

    /// One row as an object: its columns in display order, key columns included, missing
    /// cells left out. Scalars are written from their bytes.
    public mutating func writeRow(_ t: Table, key: UnsafeRawBufferPointer, row: UnsafeRawBufferPointer) throws {
        try writeRow(Table.RowLayout(t), key: key, row: row)
    }

    /// Like ``writeRow(_:key:row:)`` with the table's layout worked out once, for a scan.
    /// Written without closures or copies: this runs once per row of an export.
    public mutating func writeRow(_ layout: Table.RowLayout, key: UnsafeRawBufferPointer, row: UnsafeRawBufferPointer) throws {
        if row.first == Tag.rowRef.rawValue {
            let chunk = try Table.outOfLineRow(row, store: layout.store)
            return try chunk.withUnsafeBytes { try writeRow(layout, key: key, row: UnsafeRawBufferPointer(rebasing: $0[1...])) }
        }
        // Where each slot's cell is in `row`.
        var cellStart = [Int](repeating: -1, count: layout.slotCount)
        var cellEnd = [Int](repeating: 0, count: layout.slotCount)
        try Table.forEachCellRange(row) { slot, range in
            if let range, slot < cellStart.count {
                cellStart[slot] = range.lowerBound
                cellEnd[slot] = range.upperBound
            }
        }
        let keyParts = Table.keyElements(key, columns: layout.keyColumns)
        out.append(UInt8(ascii: "{"))
        indent += 1
        var first = true
        for n in 0..<layout.sources.count {
            let value: UnsafeRawBufferPointer
            switch layout.sources[n] {
            case .slot(let s):
                guard s < cellStart.count, cellStart[s] >= 0 else { continue }
                value = UnsafeRawBufferPointer(rebasing: row[cellStart[s]..<cellEnd[s]])
            case .key(let k):
                guard k < keyParts.count else { continue }
                value = keyParts[k]
            }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            newline()
            let name = layout.nameRanges[n]
            layout.quotedNames.withUnsafeBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[name])) }
            out.append(UInt8(ascii: ":"))
            if pretty { out.append(0x20) }
            try writeCell(value, store: layout.store)
        }
        indent -= 1
        if !first { newline() }
        out.append(UInt8(ascii: "}"))
    }

    /// A cell or key element from its encoding: scalars in place, anything else as a Value.
    mutating func writeCell(_ e: UnsafeRawBufferPointer, store: NodeStore) throws {
        switch try EncodedView.scalar(e) {
        case .asciiString(let s): writeStringBytes(s)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .float(let d) where d.isFinite: out.append(contentsOf: d.description.utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        default: try write(Value.decode(Array(e), store: store))
        }
    }

    /// A key element as an object key: its segment text (``Value/segmentText()``).
    mutating func writeKeyText(_ e: UnsafeRawBufferPointer, store: NodeStore) throws {
        if case .asciiString(let s) = try EncodedView.scalar(e) { return writeStringBytes(s) }
        writeString(try Value.decode(Array(e), store: store).segmentText())
    }
}
