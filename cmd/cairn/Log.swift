import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show history, newest first.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Where to start (default: HEAD).") var rev: String?
    @Option(name: .short, help: "Show at most N commits.") var n: Int?
    @Flag(help: "One line per commit: short hash and message.") var oneline = false
    @Flag(help: "Draw the commit graph beside the history.") var graph = false
    @Flag(help: "One JSON object per line: hash, parents, author, date, message.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        if let n, n < 0 { throw CLIError.usage("-n must not be negative") }
        let start: Commit
        if let rev { start = try ctx.repo.resolveCommit(rev) } else {
            guard let h = try ctx.repo.head() else {
                throw CLIError.usage("branch '\(try ctx.repo.currentBranch())' has no commits yet")
            }
            start = h
        }
        let commits = try ctx.repo.log(from: start.hash, limit: n ?? .max)
        var out = Output()
        let lanes = graph ? GraphLanes() : nil
        for c in commits {
            let prefix = lanes?.prefix(for: c) ?? ""
            if json {
                out.line(commitJSON(c).text)
            } else if oneline {
                out.line(prefix + String(c.hash.description.prefix(10)) + " " + firstLine(c.message))
            } else {
                out.line(prefix + Color.wrap("commit \(c.hash)", "33", enabled: Terminal.colorsStdout))
                if c.parents.count > 1 { out.line((lanes?.continuation() ?? "") + "Merge: " + c.parents.map { String($0.description.prefix(10)) }.joined(separator: " ")) }
                out.line((lanes?.continuation() ?? "") + "Author: \(c.author)")
                out.line((lanes?.continuation() ?? "") + "Date:   \(rfc3339(c.date))")
                out.line(lanes?.continuation() ?? "")
                for l in c.message.split(separator: "\n", omittingEmptySubsequences: false) { out.line((lanes?.continuation() ?? "") + "    " + l) }
                out.line(lanes?.continuation() ?? "")
            }
        }
        out.flush()
    }
}

func firstLine(_ s: String) -> String { String(s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }

func commitJSON(_ c: Commit) -> JSONObject {
    JSONObject()
        .add("hash", c.hash.description)
        .add(raw: "parents", "[" + c.parents.map { jsonQuoted($0.description) }.joined(separator: ",") + "]")
        .add("author", c.author)
        .add("date", rfc3339(c.date))
        .add("message", c.message)
}

/// A text graph of the history, git-style: one column per line of descent still open.
final class GraphLanes {
    private var lanes: [Hash] = []

    func prefix(for c: Commit) -> String {
        let col = lanes.firstIndex(of: c.hash) ?? { lanes.append(c.hash); return lanes.count - 1 }()
        var row = ""
        for i in 0..<lanes.count { row += i == col ? "* " : "| " }
        // The commit's lane continues with its first parent; others open lanes of their own.
        var next = lanes
        if let first = c.parents.first {
            if let existing = next.firstIndex(of: first), existing != col { next.remove(at: col) } else { next[col] = first }
        } else {
            next.remove(at: col)
        }
        for p in c.parents.dropFirst() where !next.contains(p) { next.append(p) }
        lanes = next
        return row
    }

    /// The lines under a commit: a bar for each lane still open, blank under the last commit.
    func continuation() -> String { lanes.isEmpty ? "  " : String(repeating: "| ", count: lanes.count) }
}
