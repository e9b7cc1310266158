import CairnStore

/// A Cairn value. Scalars hold their data; collections (Blob, List, Map, Set, and long strings
/// when encoded) are prolly trees that load their nodes from a ``NodeStore`` on demand.
///
/// Values have one total order (see ``Value/compare(_:_:)``) so any value can be a map key or a
/// set element, and one canonical encoding, so equal values have equal hashes.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case blob(Blob)
    case list(ProllyList)
    case map(ProllyMap)
    case set(ProllySet)
    case `struct`(StructValue)
    case ref(ValueRef)
    /// A CRDT counter: merges as base + (ours − base) + (theirs − base).
    case counter(Int64)
    /// An ordered run of values, compared element by element: a table's composite key.
    case tuple([Value])
    /// A table: its schema and its rows, in one prolly tree keyed by the whole key.
    case table(Table)

    /// The kind's rank in the total order: values of different kinds sort by it.
    public var kind: Kind {
        switch self {
        case .null: .null
        case .bool: .bool
        case .int: .int
        case .float: .float
        case .string: .string
        case .blob: .blob
        case .list: .list
        case .map: .map
        case .set: .set
        case .struct: .struct
        case .ref: .ref
        case .counter: .counter
        case .tuple: .tuple
        case .table: .table
        }
    }

    public enum Kind: Int, Sendable, Comparable, CaseIterable {
        case null, bool, int, float, string, blob, list, map, set, `struct`, ref, counter, tuple, table
        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        public var name: String { String(describing: self) }
    }

    /// One canonical NaN: every NaN is this bit pattern once encoded.
    public static let canonicalNaNBits: UInt64 = 0x7FF8_0000_0000_0000
}

/// A named record with fields sorted by name (UTF-8 bytes), each name once.
public struct StructValue: Sendable {
    public let name: String
    public let fields: [(name: String, value: Value)]

    /// Sorts the fields; a repeated field name keeps the last value given.
    public init(name: String, fields: [(String, Value)]) {
        var byName: [String: Value] = [:]
        for (k, v) in fields { byName[k] = v }
        self.name = name
        self.fields = byName.sorted { utf8Less($0.key, $1.key) }.map { (name: $0.key, value: $0.value) }
    }

    /// Fields already sorted by name and unique, as the decoder has checked them.
    init(name: String, sortedFields: [(name: String, value: Value)]) {
        self.name = name
        fields = sortedFields
    }

    public subscript(field: String) -> Value? {
        for f in fields where f.name.utf8.elementsEqual(field.utf8) { return f.value }
        return nil
    }
}

/// A typed pointer to a chunk that holds one value of `targetKind`.
public struct ValueRef: Sendable, Hashable {
    public let target: Hash
    public let targetKind: Value.Kind
    public init(target: Hash, targetKind: Value.Kind) {
        self.target = target
        self.targetKind = targetKind
    }
}

/// Strings compare by their UTF-8 bytes, so every machine and locale agrees.
@inline(__always) func utf8Less(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

extension Value {
    public static func float(canonical d: Double) -> Value { .float(d.isNaN ? .nan : d) }
    public var isNull: Bool { if case .null = self { true } else { false } }
}

extension Value {
    /// The text of a key as a path segment or a JSON object key: a String as itself, an Int in
    /// canonical decimal, a Float as it prints (`0.5`), anything else as its JSON text.
    public func segmentText() throws -> String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d) where d.isFinite: return d.description
        default: return try JSON.string(self)
        }
    }
}
