import CairnStore
import CairnValues

extension Repository {
    /// The merge rules in the working set's `root[".rules"]`, by pattern.
    public func rules() throws -> [(pattern: String, rule: MergeRule)] {
        guard let v = try workingRoot().get(.string(MergeRules.rootName)) else { return [] }
        guard case .map(let m) = v else { throw MergeRulesError.notAMap }
        var out: [(pattern: String, rule: MergeRule)] = []
        try m.forEach { k, v in
            guard case .string(let p) = k else { throw MergeRulesError.badPattern(try k.segmentText()) }
            guard case .string(let r) = v, let rule = MergeRule(rawValue: r) else {
                throw MergeRulesError.badRule(pattern: p, rule: (try? JSON.string(v)) ?? "?")
            }
            out.append((p, rule))
            return true
        }
        return out
    }

    /// Sets the rule for `pattern` in the working set's `.rules` (nil: removes it). Returns
    /// whether anything changed. Removing a pattern that has no rule throws.
    @discardableResult
    public func setRule(_ pattern: String, to rule: MergeRule?) throws -> Bool {
        try retryingConcurrentUpdates {
            _ = try MergeRules.parse(pattern: pattern)
            let before = try workingRoot()
            let name = Value.string(MergeRules.rootName)
            let existing = try before.get(name)
            var map: ProllyMap
            switch existing {
            case .map(let m)?: map = m
            case nil: map = try ProllyMap.empty(store: store)
            default: throw MergeRulesError.notAMap
            }
            if let rule {
                if try map.get(.string(pattern)) == .string(rule.rawValue) { return false }
                map = try map.setting(.string(pattern), to: .string(rule.rawValue))
            } else {
                guard try map.contains(.string(pattern)) else { throw RepositoryError.noSuchRule(pattern) }
                map = try map.removing(.string(pattern))
            }
            let root = map.isEmpty ? try before.removing(name) : try before.setting(name, to: .map(map))
            try setWorkingRoot(root, expected: before)
            return true
        }
    }
}
