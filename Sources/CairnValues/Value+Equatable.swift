import CairnStore
/// Equality agrees with the canonical encoding: two values are equal exactly when they encode
/// to the same bytes. Floats compare by bit pattern (with one NaN), so -0.0 ≠ 0.0 and NaN == NaN;
/// collections compare by root hash.
extension Value: Hashable {
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.counter(x), .counter(y)): return x == y
        case let (.float(x), .float(y)): return x.isNaN ? y.isNaN : x.bitPattern == y.bitPattern
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.blob(x), .blob(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.map(x), .map(y)): return x == y
        case let (.set(x), .set(y)): return x == y
        case let (.ref(x), .ref(y)): return x == y
        case let (.tuple(x), .tuple(y)): return x == y
        case let (.table(x), .table(y)): return x == y
        case let (.struct(x), .struct(y)):
            return x.name == y.name && x.fields.count == y.fields.count
                && zip(x.fields, y.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        h.combine(kind)
        switch self {
        case .null: break
        case .bool(let b): h.combine(b)
        case .int(let i), .counter(let i): h.combine(i)
        case .float(let d): h.combine(d.isNaN ? Value.canonicalNaNBits : d.bitPattern)
        case .string(let s): h.combine(s.utf8.count); for b in s.utf8 { h.combine(b) }
        case .blob(let x): h.combine(x)
        case .list(let x): h.combine(x)
        case .map(let x): h.combine(x)
        case .set(let x): h.combine(x)
        case .ref(let r): h.combine(r)
        case .tuple(let xs): h.combine(xs)
        case .table(let t): h.combine(t)
        case .struct(let s):
            h.combine(s.name)
            for f in s.fields { h.combine(f.name); h.combine(f.value) }
        }
    }
}
