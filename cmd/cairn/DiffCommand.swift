import ArgumentParser
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
        for a in arguments {
            if a.hasPrefix("/") { path = try ValuePath(parsing: a) } else { revs.append(a) }
        }
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
            var totals = ChangeCounts()
            for (name, c) in try RootDiff.stat(from, to, tableKeyDepth: repo.tableKeyDepths(from, to)) where path.segments.isEmpty || path.segments[0] == name {
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
            let a = try path.resolve(in: .map(from)), b = try path.resolve(in: .map(to))
            let color = Terminal.colorsStdout
            try RootDiff.diff(a, b, path: path, keyDepth: repo.keyDepths(from, to)) { c in
                changed = true
                if json {
                    var o = JSONObject().add("path", c.path.description).add("op", c.op.rawValue)
                    if let old = c.old { o = o.add(raw: "old", try JSON.string(old)) }
                    if let new = c.new { o = o.add(raw: "new", try JSON.string(new)) }
                    out.line(o.text)
                } else {
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

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the current branch and what its working set changes against HEAD.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON document: branch, head, changes, conflicts.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let repo = ctx.repo
        let branch = try repo.currentBranch()
        let head = try repo.head()
        let from = try head.map { try repo.root(of: $0) } ?? ProllyMap.empty(store: repo.store)
        let working = try repo.workingRoot()
        let changes = try RootDiff.stat(from, working, tableKeyDepth: repo.tableKeyDepths(from, working))
        if json {
            var ch = "{"
            for (i, (name, c)) in changes.enumerated() {
                ch += (i > 0 ? "," : "") + jsonQuoted(name) + ":" + JSONObject().add("added", c.added).add("removed", c.removed).add("modified", c.modified).text
            }
            ch += "}"
            print(JSONObject().add("branch", branch).add(raw: "head", head.map { jsonQuoted($0.hash.description) } ?? "null")
                .add(raw: "changes", ch).add("conflicts", 0).text)
            return
        }
        print("On branch \(branch)" + (head == nil ? " (no commits yet)" : ""))
        if changes.isEmpty {
            print("nothing to commit, working set matches HEAD")
        } else {
            print("Changes not committed:")
            for (name, c) in changes { print("  \(name): \(c.added) added, \(c.removed) removed, \(c.modified) modified") }
        }
    }
}
