import ArgumentParser
import CairnStore
import CairnSync
import CairnVersioning
import CairnRemote

struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch from a remote, then merge its branch into the current branch.",
        discussion: """
            Fetches (see 'cairn fetch'), then fast-forwards to REMOTE/BRANCH or merges it, with the \
            merge rules in the data (see 'cairn merge'). On conflicts, exits 1 and keeps them for \
            'cairn conflicts' and 'cairn resolve'. REMOTE defaults to origin and BRANCH to the \
            current branch's name.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The remote (default: origin).") var remote: String?
    @Argument(help: "The remote's branch (default: the current branch's name).") var branch: String?
    @Option(help: "The author of a merge commit (default: CAIRN_AUTHOR, the user.name setting, or your user name).") var author: String?
    @Flag(help: "Print one JSON document: remote, updated, chunks, bytes, result, commit, conflicts.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let remoteName = remote ?? "origin"
        let (session, info) = try ctx.session(remoteName)
        let progress = TransferProgress("Receiving")
        session.progress = progress.callback
        let author = try defaultAuthor(self.author, ctx.repo)
        let branch = self.branch
        let report = try runBlocking { try await session.pull(branch: branch, author: author) }
        progress.finish()
        let m = report.merge
        if json {
            print(JSONObject().add("remote", remoteName).add(raw: "updated", updatesJSON(report.fetch.updated))
                .add("chunks", report.fetch.chunksReceived).add("bytes", report.fetch.bytesReceived)
                .add("result", m.kind.rawValue).add(raw: "commit", m.commit.map { jsonQuoted($0.description) } ?? "null")
                .add("conflicts", m.conflicts.count).text)
        } else {
            printFetch(report.fetch, remote: remoteName, url: info.url, json: false)
            switch m.kind {
            case .upToDate: print("Already up to date.")
            case .fastForward: print("Fast-forward to \(m.commit!.description.prefix(10))")
            case .merged: print("Merge made: \(m.commit!)")
            default:
                for c in m.conflicts { print("CONFLICT \(c.path)") }
            }
        }
        if m.kind == .conflicted {
            throw CLIError.failed("pull stopped with \(m.conflicts.count) conflict\(m.conflicts.count == 1 ? "" : "s"): "
                + "settle them with 'cairn resolve PATH --ours|--theirs|--value JSON', then run 'cairn merge --continue'")
        }
    }
}
