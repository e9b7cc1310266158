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
    @Flag(help: "Draw the commit graph beside the history, as git log --graph does, in its topological order.") var graph = false
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
        // The graph draws history in git's --topo-order, which needs the whole of it before -n cuts.
        let drawGraph = graph && !json
        let walked = try ctx.repo.log(from: start.hash, limit: drawGraph ? .max : n ?? .max)
        let commits = drawGraph
            ? Array(graphTopoOrder(walked, id: { $0.hash }, parents: { $0.parents }).prefix(n ?? .max)) : walked
        var out = Output()
        if drawGraph {
            var g = LogGraph<Hash>()
            for (i, c) in commits.enumerated() {
                let text = oneline ? [String(c.hash.description.prefix(10)) + " " + firstLine(c.message)] : fullText(c)
                // In the full format a blank line parts two commits; under the graph, git's padding row.
                for l in g.lines(c.hash, parents: c.parents, text: text, separated: !oneline && i > 0) { out.line(l) }
            }
            if !oneline && !commits.isEmpty { out.line(g.padding()) }
            out.flush()
            return
        }
        for c in commits {
            if json {
                out.line(commitJSON(c).text)
            } else if oneline {
                out.line(String(c.hash.description.prefix(10)) + " " + firstLine(c.message))
            } else {
                for l in fullText(c) { out.line(l) }
                out.line("")
            }
        }
        out.flush()
    }
}

/// A commit in the full format, without the blank line that ends it.
private func fullText(_ c: Commit) -> [String] {
    var lines = [Color.wrap("commit \(c.hash)", "33", enabled: Terminal.colorsStdout)]
    if c.parents.count > 1 { lines.append("Merge: " + c.parents.map { String($0.description.prefix(10)) }.joined(separator: " ")) }
    lines.append("Author: \(c.author)")
    lines.append("Date:   \(rfc3339(c.date))")
    lines.append("")
    for l in c.message.split(separator: "\n", omittingEmptySubsequences: false) { lines.append("    " + l) }
    return lines
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
