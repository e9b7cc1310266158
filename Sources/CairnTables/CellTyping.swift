import CairnStore
import CairnValues

/// Types one CSV cell: an Int when its text is the canonical decimal of an Int64, a Float when
/// it is a finite number that prints back exactly as written, else a String. So `007` stays a
/// String and export gives back the same text.
public func typedCell(_ text: String, infer: Bool) -> Value {
    guard infer, let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) else {
        return .string(text)
    }
    if let i = Int64(text), String(i) == text { return .int(i) }
    if let d = Double(text), d.isFinite, d.description == text { return .float(d) }
    return .string(text)
}

/// ``typedCell(_:infer:)`` on the cell's bytes `f` (found at `offset` in its record), without
/// making a String for text; nil when the bytes are not UTF-8.
package func typedCell(bytes f: UnsafeRawBufferPointer, at offset: Int, infer: Bool) -> RowEncoder.Cell? {
    let range = offset..<(offset + f.count)
    if infer, let first = f.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) {
        if let i = canonicalInt(f) { return .int(i) }
        // Anything else numeric-looking goes the slow, exact way.
        guard let s = String(validating: f.bindMemory(to: UInt8.self), as: UTF8.self) else { return nil }
        switch typedCell(s, infer: true) {
        case .float(let d): return .float(d)
        default: return .text(range)
        }
    }
    var ascii = true
    for b in f where b >= 0x80 { ascii = false; break }
    if !ascii && String(validating: f.bindMemory(to: UInt8.self), as: UTF8.self) == nil { return nil }
    return .text(range)
}

/// The Int64 whose canonical decimal is exactly these bytes: no `+`, no leading zeros, no `-0`.
func canonicalInt(_ f: UnsafeRawBufferPointer) -> Int64? {
    var i = f.startIndex
    let negative = f[i] == UInt8(ascii: "-")
    if negative { i += 1 }
    guard i < f.endIndex, f.endIndex - i <= 19 else { return nil }
    if f[i] == UInt8(ascii: "0") && (f.endIndex - i > 1 || negative) { return nil }
    var v: Int64 = 0
    while i < f.endIndex {
        let d = f[i]
        guard d >= 0x30 && d <= 0x39 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d - 0x30)) : m.addingReportingOverflow(Int64(d - 0x30))
        guard !o1 && !o2 else { return nil }
        v = a
        i += 1
    }
    return v
}

/// The text a cell is written back as: the inverse of ``typedCell(_:infer:)``.
public func cellText(_ v: Value) throws -> String {
    switch v {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .float(let d): return d.isFinite ? d.description : try JSON.string(v)
    case .bool(let b): return b ? "true" : "false"
    case .null: return ""
    default: return try JSON.string(v)
    }
}
