import CairnStore
import CairnValues
import CairnTables

/// What an import did.
public struct ImportSummary: Sendable {
    public let table: String
    public let rows: UInt64
    public let columns: [String]
}

extension Repository {
    /// Top-level names starting with `.` are reserved (`.rules`); names are non-empty and hold
    /// no `/`.
    public static func validateTableName(_ name: String) throws {
        if name.hasPrefix(".") { throw RepositoryError.reservedName(name) }
        if name.isEmpty || name.contains("/") { throw RepositoryError.badName(name, kind: "table") }
    }

    /// Imports a CSV file into the working set as table `name`, replacing any value of that
    /// name. Streams the file; either applies whole or not at all.
    @discardableResult
    public func importCSV(path: String, table name: String, options: TableImport.Options, tempDirectory: String,
                          progress: ((Int, Int) -> Void)? = nil) throws -> ImportSummary {
        try Self.validateTableName(name)
        let imported = try TableImport.csv(path: path, options: options, store: store, tempDirectory: tempDirectory,
                                           progress: progress)
        return try replaceTable(name, with: imported)
    }

    /// Imports NDJSON (one object a line) as table `name`, keyed by `key`.
    @discardableResult
    public func importNDJSON(path: String, table name: String, key: [String], tempDirectory: String,
                             progress: ((Int, Int) -> Void)? = nil) throws -> ImportSummary {
        try Self.validateTableName(name)
        let imported = try TableImport.ndjson(path: path, key: key, store: store, tempDirectory: tempDirectory, progress: progress)
        return try replaceTable(name, with: imported)
    }

    /// Imports a JSON document: with `key`, an array of objects as a table; without, the value
    /// it spells. `tagged` reads Cairn's tagged forms.
    @discardableResult
    public func importJSON(path: String, table name: String, key: [String]?, tagged: Bool, tempDirectory: String,
                           progress: ((Int, Int) -> Void)? = nil) throws -> ImportSummary {
        try Self.validateTableName(name)
        if let key {
            let imported = try TableImport.jsonRows(path: path, key: key, store: store, tempDirectory: tempDirectory,
                                                    progress: progress)
            return try replaceTable(name, with: imported)
        }
        let reader = try FileReader(path: path, text: true)
        reader.progress = progress
        var parser = JSONParser(source: ByteSource(refill: reader.read), store: store, tagged: tagged)
        let value: Value
        do { value = try parser.document() } catch let e as JSONError { throw ImportError("\(path): invalid JSON: \(e)") }
        try replaceValue(name, with: value)
        return ImportSummary(table: name, rows: 1, columns: [])
    }

    /// Imports a file's bytes as a Blob named `name`.
    @discardableResult
    public func importBlob(path: String, name: String) throws -> UInt64 {
        try Self.validateTableName(name)
        let reader = try FileReader(path: path)
        // A read error ends the pieces and is thrown after, so a failed read never imports a
        // truncated Blob.
        var readError: Error?
        let pieces = AnyIterator<[UInt8]> {
            do {
                let b = try reader.read()
                return b.isEmpty ? nil : b
            } catch {
                readError = error
                return nil
            }
        }
        let blob = try Blob.build(streaming: pieces.lazy, store: store)
        if let readError { throw readError }
        try replaceValue(name, with: .blob(blob))
        return blob.count
    }

    private func replaceTable(_ name: String, with imported: ImportedTable) throws -> ImportSummary {
        try replaceValue(name, with: .table(imported.table))
        return ImportSummary(table: name, rows: imported.rows, columns: imported.table.schema.columns.map(\.name))
    }

    /// Sets `root[name]` in the working set, in one move of the working ref.
    public func replaceValue(_ name: String, with value: Value) throws {
        try retryingConcurrentUpdates {
            let before = try workingRoot()
            try setWorkingRoot(try before.setting(.string(name), to: value), expected: before)
        }
    }

    // MARK: Schemas

    /// The table `name` in the working set.
    public func table(_ name: String, in root: ProllyMap) throws -> Table {
        guard let v = try root.get(.string(name)) else { throw RepositoryError.noSuchPath("/" + ValuePath.escape(name)) }
        guard case .table(let t) = v else { throw RepositoryError.notATable("/" + ValuePath.escape(name)) }
        return t
    }

    /// Renames a column of table `name` in the working set. No row is re-encoded.
    public func renameColumn(table name: String, from old: String, to new: String) throws {
        try retryingConcurrentUpdates {
            guard !new.isEmpty else { throw SchemaError.noSuchColumn(new) }
            let before = try workingRoot()
            let t = try table(name, in: before)
            var schema = t.schema
            try schema.renameColumn(old, to: new)
            try setWorkingRoot(try before.setting(.string(name), to: .table(t.withSchema(schema))), expected: before)
        }
    }

    /// Drops a column of table `name` in the working set: the rows that held a value in it
    /// lose it; no other row is re-encoded.
    public func dropColumn(table name: String, column: String) throws {
        try retryingConcurrentUpdates {
            let before = try workingRoot()
            let t = try table(name, in: before)
            var schema = t.schema
            let dropped = try schema.dropColumn(column)
            let slot = dropped.slot!
            var edits: [(key: [Value], cells: [Value?]?)] = []
            try t.forEachRow { k, r in
                var has = false
                try Table.forEachCell(r, store: store) { s, cell in if s == slot && cell != nil { has = true } }
                if has {
                    var cells = try t.decodeRow(r)
                    cells[slot] = nil
                    edits.append((try t.decodeKey(Array(k)), cells))
                }
                return true
            }
            let edited = try Table(schema: schema, rows: t.rows).editing(edits)
            try setWorkingRoot(try before.setting(.string(name), to: .table(edited)), expected: before)
        }
    }
}
