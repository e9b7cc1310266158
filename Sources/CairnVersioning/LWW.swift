import CairnStore
import CairnValues

/// A last-writer-wins register: a value stored with the stamp of the write that made it, so
/// that merging any number of replicas in any order gives the same value (the one with the
/// largest stamp). Under a path whose rule is `lww`, `set` and ``Repository/edit(at:value:)``
/// store values this way; `show`, `export` and `diff` present the plain value.
///
/// Stored as a Struct named `cairn.lww` with fields `replica` (String), `stamp` (Int,
/// nanoseconds since 1970) and `value` (docs/format.md).
public enum LWW {
    public static let structName = "cairn.lww"

    /// The stamp of a write: the time, then the replica that wrote it, to break ties.
    public struct Stamp: Sendable, Comparable {
        public let time: Int64
        public let replica: String
        public init(time: Int64, replica: String) {
            self.time = time
            self.replica = replica
        }
        public static func < (a: Stamp, b: Stamp) -> Bool {
            a.time != b.time ? a.time < b.time : a.replica.utf8.lexicographicallyPrecedes(b.replica.utf8)
        }
    }

    /// `value` wrapped with its stamp.
    public static func stamped(_ value: Value, _ stamp: Stamp) -> Value {
        .struct(StructValue(name: structName, fields: [
            ("replica", .string(stamp.replica)), ("stamp", .int(stamp.time)), ("value", plain(value)),
        ]))
    }

    /// The stamp a value carries; nil for a value written without one.
    public static func stamp(of value: Value) -> Stamp? {
        guard case .struct(let s) = value, s.name == structName, case .int(let t)? = s["stamp"],
              case .string(let r)? = s["replica"], s["value"] != nil else { return nil }
        return Stamp(time: t, replica: r)
    }

    /// The value without its stamp.
    public static func plain(_ value: Value) -> Value {
        if stamp(of: value) != nil, case .struct(let s) = value, let v = s["value"] { return v }
        return value
    }

    /// Which of two values wins: the later stamp; a stamped value beats an unstamped one; and
    /// between equal stamps (or none), the larger in the total order, so the choice never
    /// depends on which side is ours.
    static func winner(_ a: Value, _ b: Value, store: NodeStore) throws -> Value {
        switch (stamp(of: a), stamp(of: b)) {
        case let (x?, y?) where x < y: return b
        case let (x?, y?) where y < x: return a
        case (_?, nil): return a
        case (nil, _?): return b
        default: return try Value.compare(a, b, store: store) >= 0 ? a : b
        }
    }
}
