import CairnValues

/// A JSON Pointer (RFC 6901) into the root value: `/people/k00000001/name`. `""` is the whole
/// root; `/` is the key that is the empty string.
public struct ValuePath: Sendable, Equatable, CustomStringConvertible {
    public let segments: [String]

    public init(segments: [String]) { self.segments = segments }

    /// Parses a pointer: `~1` is `/`, `~0` is `~`, any other `~` is malformed.
    public init(parsing text: String) throws {
        if text.isEmpty {
            segments = []
            return
        }
        guard text.hasPrefix("/") else { throw RepositoryError.badPath(text, reason: "a path starts with '/'") }
        var out: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var seg = ""
            var it = raw.makeIterator()
            while let c = it.next() {
                if c == "~" {
                    switch it.next() {
                    case "0": seg.append("~")
                    case "1": seg.append("/")
                    default: throw RepositoryError.badPath(text, reason: "'~' must be followed by 0 or 1")
                    }
                } else {
                    seg.append(c)
                }
            }
            out.append(seg)
        }
        segments = out
    }

    public var description: String {
        segments.map { "/" + Self.escape($0) }.joined()
    }

    /// A segment as written in a pointer: `~` as `~0`, `/` as `~1`.
    public static func escape(_ segment: String) -> String {
        var out = ""
        for c in segment {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.append(c)
            }
        }
        return out
    }

    public func appending(_ segment: String) -> ValuePath { ValuePath(segments: segments + [segment]) }

    /// The key a segment names in a map: the String key if present, else an Int key written
    /// in canonical decimal.
    static func mapKey(_ segment: String, in map: ProllyMap) throws -> Value? {
        if try map.contains(.string(segment)) { return .string(segment) }
        if let i = Int64(segment), String(i) == segment, try map.contains(.int(i)) { return .int(i) }
        return nil
    }

    /// The value at this path under `root`, or nil when a segment does not exist.
    public func resolve(in root: Value) throws -> Value? {
        var current = root
        for seg in segments {
            switch current {
            case .map(let m):
                guard let k = try Self.mapKey(seg, in: m), let v = try m.get(k) else { return nil }
                current = v
            case .list(let l):
                guard let i = UInt64(seg), String(i) == seg, i < l.count else { return nil }
                current = try l.element(at: i)
            case .struct(let s):
                guard let v = s[seg] else { return nil }
                current = v
            default:
                return nil
            }
        }
        return current
    }
}

