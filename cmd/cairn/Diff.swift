import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two revisions, structurally.",
        discussion: """
            With no REV: HEAD against the working set. With one: REV against the working set. \
            An added or removed row is one line at the row's path; a modified row is one line for \
            each field that changed. It reads only what changed, not the whole data.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Revisions, then an optional PATH (starting with '/').", valueName: "REV [REV] [PATH]"))
    var arguments: [String] = []
    @Flag(help: "Count rows added, removed and modified per table (1 for any other value).") var stat = false
    @Flag(help: "One JSON object per line: path, op, old, new.") var json = false
    @Flag(help: "Exit 1 when there are differences.") var exitCode = false

    func run() throws {
        var revs: [String] = []
        var path = ValuePath(segments: [])
        var paths = 0
        for a in arguments {
            if a.hasPrefix("/") {
                path = try ValuePath(parsing: a)
                paths += 1
            } else {
                revs.append(a)
            }
        }
        guard paths <= 1 else { throw CLIError.usage("diff takes at most one PATH") }
        guard revs.count <= 2 else { throw CLIError.usage("diff takes at most two revisions") }
        let ctx = try Context(global)
        defer { ctx.close() }
        let repo = ctx.repo
        let from: ProllyMap, to: ProllyMap
        switch revs.count {
        case 0:
            from = try repo.head().map { try repo.root(of: $0) } ?? ProllyMap.empty(store: repo.store)
            to = try repo.workingRoot()
        case 1:
            from = try repo.rootValue(revs[0])
            to = try repo.workingRoot()
        default:
            from = try repo.rootValue(revs[0])
            to = try repo.rootValue(revs[1])
        }
        var out = Output()
        var changed = false
        if stat {
            if !path.segments.isEmpty, try path.target(in: .map(from)) == nil && path.target(in: .map(to)) == nil {
                throw RepositoryError.noSuchPath(path.description)
            }
            var totals = ChangeCounts()
            var stats = try RootDiff.stat(from, to).filter { path.segments.isEmpty || path.segments[0] == $0.name }
            if path.segments.count > 1 {
                // Below a name: the rows under a key prefix, one row, or one value.
                let c = try RootDiff.stat(path.target(in: .map(from)), path.target(in: .map(to)))
                stats = c.isEmpty ? [] : [(path.description, c)]
            }
            for (name, c) in stats {
                changed = true
                totals.added += c.added; totals.removed += c.removed; totals.modified += c.modified
                if json {
                    out.line(JSONObject().add("name", name).add("added", c.added).add("removed", c.removed).add("modified", c.modified).text)
                } else {
                    out.line(" \(name) | +\(c.added) -\(c.removed) ~\(c.modified)")
                }
            }
            if !json && changed { out.line(" total: \(totals.added) added, \(totals.removed) removed, \(totals.modified) modified") }
        } else {
            let a = try path.target(in: .map(from)), b = try path.target(in: .map(to))
            if a == nil && b == nil && !path.segments.isEmpty { throw RepositoryError.noSuchPath(path.description) }
            let color = Terminal.colorsStdout
            try RootDiff.diff(a, b, path: path) { c in
                changed = true
                if json {
                    var o = JSONObject().add("path", c.path.description).add("op", c.op.rawValue)
                    if let old = c.old { o = o.add(raw: "old", try JSON.string(old)) }
                    if let new = c.new { o = o.add(raw: "new", try JSON.string(new)) }
                    if c.isSchema { o = o.add(raw: "schema", "true").add("summary", c.summary ?? "") }
                    out.line(o.text)
                } else {
                    if c.isSchema {
                        out.line(Color.wrap("~ \(c.path) (schema): \(c.summary ?? "changed")", "33", enabled: color))
                        return true
                    }
                    switch c.op {
                    case .add: out.line(Color.wrap("+ \(c.path): \(try JSON.string(c.new!))", "32", enabled: color))
                    case .remove: out.line(Color.wrap("- \(c.path): \(try JSON.string(c.old!))", "31", enabled: color))
                    case .modify: out.line(Color.wrap("~ \(c.path): \(try JSON.string(c.old!)) -> \(try JSON.string(c.new!))", "33", enabled: color))
                    }
                }
                return true
            }
        }
        out.flush()
        if exitCode && changed { throw ExitCode(CLIExit.failed) }
    }
}
