import CairnStore
/// A table's columns: each named once, with a stable id, in display order; which of them form
/// the key, in key order; and the options the table was imported with, so export gives back
/// what was imported.
///
/// A column id is a function of content: derived from the column's name when the column was
/// made (``Schema/columnID(for:taken:)``), never a counter or a random number, so the same file
/// imported into any store gives the same hash, and a column added under one name on two
/// branches is one column. The id survives renames and moves.
///
/// Non-key columns also have a *slot*: where their cells sit in a row. Slots are given out in
/// order as columns are made and never move, so adding, renaming, moving or dropping a column
/// re-encodes no row that has no value in it. Key columns have no slot: their values are the
/// row's key, never copied into the row.
public struct Schema: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var id: UInt64
        /// Where the column's cells sit in a row; nil for a key column.
        public var slot: Int?

        public init(name: String, id: UInt64, slot: Int?) {
            self.name = name
            self.id = id
            self.slot = slot
        }

        public var isKey: Bool { slot == nil }
    }

    /// In display order (the order export writes them).
    public private(set) var columns: [Column]
    /// The key columns' ids, in key order.
    public private(set) var key: [UInt64]
    /// The format the table was imported from (`csv`, `ndjson`, `json`).
    public var format: String
    /// The cell text that meant a missing cell on import (`--null`); export writes it back.
    public var null: String?
    /// Whether cells were typed on import (false with `--no-infer`).
    public var infer: Bool

    /// A fresh schema: the columns in this order, ids from their names, slots in order.
    public init(columns names: [String], key keyNames: [String], format: String, null: String?, infer: Bool) throws {
        guard !keyNames.isEmpty else { throw SchemaError.noKey }
        var columns: [Column] = []
        var taken = Set<UInt64>()
        // A set, not a scan of `columns`: a CSV header of a million columns took hours.
        var seen = Set<String>()
        let keySet = Set(keyNames)
        var slot = 0
        for n in names {
            guard seen.insert(n).inserted else { throw SchemaError.duplicateColumn(n) }
            let id = Self.columnID(for: n, taken: taken)
            taken.insert(id)
            if keySet.contains(n) {
                columns.append(Column(name: n, id: id, slot: nil))
            } else {
                columns.append(Column(name: n, id: id, slot: slot))
                slot += 1
            }
        }
        var key: [UInt64] = []
        for k in keyNames {
            guard let c = columns.first(where: { $0.name == k }) else { throw SchemaError.noSuchColumn(k) }
            guard !key.contains(c.id) else { throw SchemaError.duplicateColumn(k) }
            key.append(c.id)
        }
        self.init(columns: columns, key: key, format: format, null: null, infer: infer)
    }

    /// The id a column named `name` gets when it is made: the first 8 bytes of
    /// SHA-256("cairn.column\0" ‖ name), or of SHA-256("cairn.column\0" ‖ name ‖ "\0" ‖ n)
    /// for the smallest n ≥ 1 that is not `taken` (a column renamed away from `name` keeps the
    /// id it had).
    public static func columnID(for name: String, taken: Set<UInt64>) -> UInt64 {
        var n = 0
        while true {
            var bytes = Array("cairn.column\0".utf8) + Array(name.utf8)
            if n > 0 { bytes += [0] + Array(String(n).utf8) }
            let h = Hash(of: bytes).bytes
            var id: UInt64 = 0
            for b in h.prefix(8) { id = id << 8 | UInt64(b) }
            if !taken.contains(id) { return id }
            n += 1
        }
    }

    public var keyColumns: [Column] { key.map { id in columns.first { $0.id == id }! } }
    /// How many slots a row may have: one past the largest slot in use. Kept as the columns
    /// change, since rows are read by it.
    public private(set) var slotCount: Int = 0

    private static func slots(_ columns: [Column]) -> Int { (columns.compactMap(\.slot).max() ?? -1) + 1 }

    /// Names compare by their UTF-8 bytes, as keys do (no Unicode normalisation).
    public func column(named name: String) -> Column? { columns.first { $0.name.utf8.elementsEqual(name.utf8) } }
    public func column(id: UInt64) -> Column? { columns.first { $0.id == id } }

    /// Adds a non-key column at the end of the display order, in the next free slot.
    @discardableResult
    public mutating func addColumn(_ name: String) throws -> Column {
        guard column(named: name) == nil else { throw SchemaError.duplicateColumn(name) }
        let c = Column(name: name, id: Self.columnID(for: name, taken: Set(columns.map(\.id))), slot: slotCount)
        columns.append(c)
        slotCount = Self.slots(columns)
        return c
    }

    public mutating func renameColumn(_ old: String, to new: String) throws {
        guard let i = columns.firstIndex(where: { $0.name == old }) else { throw SchemaError.noSuchColumn(old) }
        guard old == new || column(named: new) == nil else { throw SchemaError.duplicateColumn(new) }
        columns[i].name = new
    }

    /// Removes a non-key column from the schema; its slot is left unused. The caller clears
    /// the cells rows held in it.
    @discardableResult
    public mutating func dropColumn(_ name: String) throws -> Column {
        guard let i = columns.firstIndex(where: { $0.name == name }) else { throw SchemaError.noSuchColumn(name) }
        guard !columns[i].isKey else { throw SchemaError.keyColumn(name) }
        let c = columns.remove(at: i)
        slotCount = Self.slots(columns)
        return c
    }

    /// Moves a column to position `index` of the display order.
    public mutating func moveColumn(_ name: String, to index: Int) throws {
        guard let i = columns.firstIndex(where: { $0.name == name }) else { throw SchemaError.noSuchColumn(name) }
        let c = columns.remove(at: i)
        columns.insert(c, at: max(0, min(index, columns.count)))
    }

    // MARK: Encoding (docs/format.md, "Tables")

    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(columns.count))
        for c in columns {
            w.string(c.name)
            w.uint64BigEndian(c.id)
            w.varint(c.slot.map { UInt64($0) + 1 } ?? 0)
        }
        w.varint(UInt64(key.count))
        for id in key { w.varint(UInt64(columns.firstIndex { $0.id == id }!)) }
        w.string(format)
        w.byte((infer ? 1 : 0) | (null == nil ? 0 : 2))
        if let null { w.string(null) }
    }

    static func decode(_ r: inout ByteReader) throws(DecodeError) -> Schema {
        let at = r.pos
        let n = try r.count(minItemSize: 10)
        var columns: [Column] = []
        columns.reserveCapacity(n)
        var names = Set<String>(), ids = Set<UInt64>(), slots = Set<Int>()
        for _ in 0..<n {
            let name = try r.utf8String()
            let id = try r.uint64BigEndian()
            let s = try r.varint()
            guard s <= UInt64(Int32.max) else { throw DecodeError("column slot out of range", at: r.pos) }
            let slot = s == 0 ? nil : Int(s - 1)
            guard names.insert(name).inserted, ids.insert(id).inserted, slot.map({ slots.insert($0).inserted }) ?? true else {
                throw DecodeError("a schema names a column, id or slot twice", at: at)
            }
            columns.append(Column(name: name, id: id, slot: slot))
        }
        let k = try r.count(minItemSize: 1)
        var key: [UInt64] = []
        for _ in 0..<k {
            let i = try r.varint()
            guard i < UInt64(columns.count), columns[Int(i)].isKey, !key.contains(columns[Int(i)].id) else {
                throw DecodeError("a schema's key names a column that is not a key column", at: r.pos)
            }
            key.append(columns[Int(i)].id)
        }
        guard !key.isEmpty, key.count == columns.filter(\.isKey).count else {
            throw DecodeError("a schema's key columns do not match its key", at: at)
        }
        let format = try r.utf8String()
        let flags = try r.byte()
        guard flags & ~3 == 0 else { throw DecodeError("unknown schema flags \(flags)", at: r.pos - 1) }
        let null = flags & 2 != 0 ? try r.utf8String() : nil
        return Schema(columns: columns, key: key, format: format, null: null, infer: flags & 1 != 0)
    }

    /// A schema from its parts as they are (a merge builds one): columns in display order with
    /// their ids and slots, and the key columns' ids.
    package init(columns: [Column], key: [UInt64], format: String, null: String?, infer: Bool) {
        self.columns = columns
        self.key = key
        self.format = format
        self.null = null
        self.infer = infer
        slotCount = Self.slots(columns)
    }
}

public enum SchemaError: Error, CustomStringConvertible, Sendable, Equatable {
    case noKey
    case duplicateColumn(String)
    case noSuchColumn(String)
    case keyColumn(String)

    public var description: String {
        switch self {
        case .noKey: "a table needs at least one key column"
        case .duplicateColumn(let c): "column '\(c)' appears twice"
        case .noSuchColumn(let c): "no column named '\(c)'"
        case .keyColumn(let c): "'\(c)' is a key column: it cannot be dropped or changed"
        }
    }
}
