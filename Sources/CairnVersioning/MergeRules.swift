import CairnStore
import CairnValues

/// How a three-way merge settles a value that both sides changed differently (docs/merging.md).
public enum MergeRule: String, Sendable, CaseIterable {
    /// The default: the change is a conflict for the user to settle.
    case conflict
    /// That side wins.
    case ours, theirs
    /// The value with the later stamp wins (a last-writer-wins register: ``LWW``).
    case lww
    /// Plain integers merge as counters: base + (ours − base) + (theirs − base).
    case counter
    /// The larger or smaller value, in the total order, wins.
    case max, min
    /// A list merges as a set: both sides' additions and removals, each element once, in the
    /// total order.
    case union
    /// A three-way line merge of strings (``TextMerge``).
    case text
}

/// The merge rules in force: the map `root[".rules"]` from path pattern to rule.
///
/// A pattern is a path (a JSON Pointer) whose segments may be `*`, matching any one segment.
/// It matches a path with the same number of segments. Where several match, they are compared
/// segment by segment from the left, and a literal beats `*`.
public struct MergeRules: Sendable {
    /// The reserved top-level name that holds the rules.
    public static let rootName = ".rules"

    public private(set) var entries: [(pattern: [String], rule: MergeRule)] = []

    public init() {}

    /// The rules a `.rules` value holds. Entries that are not a pattern string mapped to a
    /// rule name are refused, naming the entry.
    public init(_ value: Value?) throws {
        guard let value else { return }
        guard case .map(let m) = value else { throw MergeRulesError.notAMap }
        try m.forEach { k, v in
            guard case .string(let pattern) = k else { throw MergeRulesError.badPattern(try k.segmentText()) }
            guard case .string(let name) = v, let rule = MergeRule(rawValue: name) else {
                throw MergeRulesError.badRule(pattern: pattern, rule: (try? JSON.string(v)) ?? "?")
            }
            entries.append((try Self.parse(pattern: pattern), rule))
            return true
        }
    }

    /// A pattern's segments. The pattern is a path; `""` (the whole root) is refused.
    public static func parse(pattern: String) throws -> [String] {
        let segments: [String]
        do { segments = try ValuePath(parsing: pattern).segments } catch {
            throw MergeRulesError.badPattern(pattern)
        }
        guard !segments.isEmpty else { throw MergeRulesError.badPattern(pattern) }
        return segments
    }

    /// The rule for the value at `path`, if a pattern matches it.
    public func rule(for path: [String]) -> MergeRule? {
        var best: (pattern: [String], rule: MergeRule)?
        for e in entries where e.pattern.count == path.count {
            guard zip(e.pattern, path).allSatisfy({ $0 == "*" || $0 == $1 }) else { continue }
            if let b = best {
                // Left to right, the first segment where they differ decides: a literal wins.
                for (x, y) in zip(e.pattern, b.pattern) where x != y {
                    if y == "*" { best = e }
                    break
                }
            } else {
                best = e
            }
        }
        return best?.rule
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// Whether `rule` is set for some path below `path` (a pattern longer than it that matches
    /// it segment by segment so far).
    func mayApply(_ rule: MergeRule, under path: [String]) -> Bool {
        entries.contains { e in
            e.rule == rule && e.pattern.count > path.count && zip(e.pattern, path).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }

    /// These rules without the patterns named (their rule is in conflict: the default applies).
    func removing(_ patterns: Set<[String]>) -> MergeRules {
        var r = self
        r.entries.removeAll { patterns.contains($0.pattern) }
        return r
    }
}

public enum MergeRulesError: Error, CustomStringConvertible, Sendable, Equatable {
    case notAMap
    case badPattern(String)
    case badRule(pattern: String, rule: String)

    public var description: String {
        switch self {
        case .notAMap: "'/.rules' is not a map from path pattern to rule"
        case .badPattern(let p): "malformed rule pattern '\(p)': a pattern is a path such as /players/*/score"
        case let .badRule(p, r):
            "unknown merge rule \(r) for '\(p)' (rules: " + MergeRule.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        }
    }
}
