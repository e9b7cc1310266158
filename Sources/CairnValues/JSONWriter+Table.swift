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
            try writeRow(t, key: k, row: row)
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
        try writeArray { w in
            try t.forEachRow(under: prefix) { k, row in
                try w.element { try $0.writeRow(t, key: k, row: row) }
                return true
            }
        }
    }

    /// One row as an object: its columns in display order, key columns included, missing
    /// cells left out. Scalars are written from their bytes.
    public mutating func writeRow(_ t: Table, key: UnsafeRawBufferPointer, row: UnsafeRawBufferPointer) throws {
        let keyParts = Table.keyElements(key, columns: t.schema.key.count)
        // Cells are gathered by slot (a row is small), then written in display order.
        var bySlot: [[UInt8]?] = Array(repeating: nil, count: t.schema.slotCount)
        try Table.forEachCell(row, store: t.store) { slot, cell in
            if slot < bySlot.count, let cell { bySlot[slot] = Array(cell) }
        }
        out.append(UInt8(ascii: "{"))
        indent += 1
        var first = true
        for c in t.schema.columns {
            var value: [UInt8]?
            if let slot = c.slot { value = bySlot[slot] } else if let i = t.schema.key.firstIndex(of: c.id), i < keyParts.count {
                value = Array(keyParts[i])
            }
            guard let value else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            newline()
            writeString(c.name)
            out.append(UInt8(ascii: ":"))
            if pretty { out.append(0x20) }
            try value.withUnsafeBytes { try writeCell($0, store: t.store) }
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
