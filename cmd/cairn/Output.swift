import CairnValues
/// A JSON object written field by field, in order. Enough for the CLI's fixed-shape outputs.
struct JSONObject {
    private var fields: [String] = []

    func add(_ key: String, _ value: Int) -> JSONObject { add(raw: key, String(value)) }
    func add(_ key: String, _ value: Double) -> JSONObject { add(raw: key, value.isFinite ? "\(value)" : "null") }
    func add(_ key: String, _ value: String) -> JSONObject { add(raw: key, jsonQuoted(value)) }
    func add(raw key: String, _ json: String) -> JSONObject {
        var copy = self
        copy.fields.append(jsonQuoted(key) + ":" + json)
        return copy
    }

    var text: String { "{" + fields.joined(separator: ",") + "}" }
}

/// A JSON string literal, escaped by the one rule the library writes strings with.
func jsonQuoted(_ s: String) -> String { JSON.quoted(s) }

/// A byte count for people: 1.5 MB.
struct ByteCount: CustomStringConvertible {
    let bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
    var description: String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(bytes), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(bytes) B" : "\(formatFixed(v, 1)) \(units[i])"
    }
}

/// `value` with `digits` decimals, without Foundation's String(format:).
func formatFixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    let frac = Int(abs(scaled) - abs(Double(whole)) * scale)
    guard digits > 0 else { return String(whole) }
    let f = String(frac)
    return "\(value < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: max(0, digits - f.count)))\(f)"
}
