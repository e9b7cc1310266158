import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List or set the merge rules for paths.",
        discussion: """
            Rules live in the working set at /.rules and are committed, diffed and merged like any \
            data. A pattern is a path whose segments may be '*' (any one segment), e.g. \
            '/players/*/score counter'. Rules: \(MergeRule.allCases.map(\.rawValue).joined(separator: ", ")).
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A path pattern, such as /players/*/score.") var pattern: String?
    @Argument(help: "The rule for it.") var rule: String?
    @Option(name: .customLong("rm"), help: "Remove the rule for this pattern.") var remove: String?
    @Flag(help: "Print the rules as one JSON object from pattern to rule.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let repo = ctx.repo
        if let remove {
            guard pattern == nil else { throw CLIError.usage("--rm takes one PATTERN and nothing else") }
            try repo.setRule(remove, to: nil)
            return
        }
        if let pattern {
            guard let rule else { throw CLIError.usage("give a RULE for '\(pattern)' (\(MergeRule.allCases.map(\.rawValue).joined(separator: ", ")))") }
            guard let r = MergeRule(rawValue: rule) else {
                throw CLIError.usage("unknown merge rule '\(rule)' (rules: \(MergeRule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            try repo.setRule(pattern, to: r)
            return
        }
        let rules = try repo.rules()
        if json {
            print("{" + rules.map { jsonQuoted($0.pattern) + ":" + jsonQuoted($0.rule.rawValue) }.joined(separator: ",") + "}")
        } else {
            for r in rules { print("\(r.pattern) \(r.rule.rawValue)") }
        }
    }
}
