import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

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
        let changes = try RootDiff.stat(from, working)
        let merge = try repo.workingSet().merge
        if json {
            var ch = "{"
            for (i, (name, c)) in changes.enumerated() {
                ch += (i > 0 ? "," : "") + jsonQuoted(name) + ":" + JSONObject().add("added", c.added).add("removed", c.removed).add("modified", c.modified).text
            }
            ch += "}"
            print(JSONObject().add("branch", branch).add(raw: "head", head.map { jsonQuoted($0.hash.description) } ?? "null")
                .add(raw: "changes", ch).add("conflicts", Int(merge?.conflicts.count ?? 0))
                .add(raw: "merging", merge.map { jsonQuoted($0.theirs.description) } ?? "null").text)
            return
        }
        print("On branch \(branch)" + (head == nil ? " (no commits yet)" : ""))
        if let merge {
            let n = Int(merge.conflicts.count)
            print("You are merging \(String(merge.theirs.description.prefix(10))): "
                + (n == 0 ? "all conflicts resolved (run 'cairn merge --continue' to commit it)"
                    : "\(n) conflict\(n == 1 ? "" : "s") left (see 'cairn conflicts'; 'cairn merge --abort' to stop)"))
        }
        if changes.isEmpty {
            print("nothing to commit, working set matches HEAD")
        } else {
            print("Changes not committed:")
            for (name, c) in changes { print("  \(name): \(c.added) added, \(c.removed) removed, \(c.modified) modified") }
        }
    }
}
