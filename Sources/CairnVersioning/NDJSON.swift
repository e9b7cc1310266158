import CairnValues

extension Repository {
    /// Imports NDJSON: one JSON object a line, keyed by the field `key`. Streams the file.
    @discardableResult
    public func importNDJSON(path: String, table name: String, key: String, tempDirectory: String) throws -> UInt64 {
        try Self.validateTableName(name)
        let file = try FileReader(path: path, text: true)
        var lineNumber = 0
        var lines = LineIndex()
        let builder = UnsortedMapBuilder(store: store, directory: tempDirectory, duplicates: .refuse)
        let keyField = try Value.string(key).encoded(store: store)
        var pending: [UInt8] = []
        var start = 0   // where the unread part of `pending` begins
        var finished = false
        // Splits the stream into lines. Lines are taken from `pending` by position; only the
        // partial last line is carried over when the next piece is read.
        func nextLine() throws -> [UInt8]? {
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
                let piece = try file.read()
                if piece.isEmpty { finished = true } else { pending.append(contentsOf: piece) }
            }
        }
        let tableMap: ProllyMap
        do {
        while var line = try nextLine() {
            lineNumber += 1
            if line.last == 0x0D { line.removeLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            // Each line goes straight to its encoding, with no Value for the object.
            let bytes: [UInt8], refs: [Hash]
            do {
                var parser = JSONParser(source: ByteSource(bytes: line), store: store)
                (bytes, refs) = try parser.encodedDocument()
            } catch let e as JSONError {
                throw ImportError("line \(lineNumber): invalid JSON: \(e)")
            }
            // The key field's encoding, read in place from a small object; a large one (stored
            // by Ref) is looked up.
            var keyBytes: [UInt8]?
            let inline = try bytes.withUnsafeBytes { raw in
                try EncodedView.forEachMapEntry(raw) { k, v in
                    if keyBytes == nil, k.elementsEqual(keyField) { keyBytes = Array(v) }
                }
            }
            if !inline {
                guard case .map(let object) = try Value.decode(bytes, store: store) else {
                    throw ImportError("line \(lineNumber): expected a JSON object")
                }
                keyBytes = try object.get(.string(key))?.encoded(store: store)
            }
            guard let keyBytes else { throw ImportError("line \(lineNumber): no key field '\(key)'") }
            lines.append(line: lineNumber)
            try builder.append(key: keyBytes, value: bytes, refs: refs)
        }
        tableMap = try builder.finish()
        } catch let e as UnsortedMapBuilder.DuplicateKey {
            throw ImportError("line \(lines[e.second]): duplicate key (first at line \(lines[e.first]))")
        }
        try replaceTable(name, with: .map(tableMap), schema: TableSchema(columns: [], key: [key], format: "ndjson", null: nil, infer: true))
        return tableMap.count
    }
}
