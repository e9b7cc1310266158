import ArgumentParser
import CairnStore
import CairnSync
import CairnVersioning
import CairnRemote

struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Send a branch to a remote and move the remote's branch.",
        discussion: """
            Sends only the chunks the remote lacks, then moves the remote's branch by compare-and-swap. \
            A push that is not a fast-forward is refused (exit 1): fetch or pull first, or use --force. \
            A push to a branch whose working set on the remote holds uncommitted changes is refused. \
            --tags also sends every tag; moving a tag that exists on the remote needs --force. \
            REMOTE defaults to origin and BRANCH to the current branch; BRANCH may be SRC:DST.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The remote (default: origin).") var remote: String?
    @Argument(help: "The branch to push, or LOCAL:REMOTE (default: the current branch).") var branch: String?
    @Flag(name: .shortAndLong, help: "Move the remote's refs even when that is not a fast-forward.") var force = false
    @Flag(help: "Also send every tag.") var tags = false
    @Flag(help: "Delete the branch on the remote.") var delete = false
    @Flag(help: "Print one JSON document: remote, updated, chunks, bytes.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let remoteName = remote ?? "origin"
        let (session, info) = try ctx.session(remoteName)
        var local = try branch ?? ctx.repo.currentBranch()
        var target = local
        if let colon = local.firstIndex(of: ":") {
            target = String(local[local.index(after: colon)...])
            local = String(local[..<colon])
        }
        let progress = TransferProgress("Pushing")
        session.progress = progress.callback
        let (force, tags, delete) = (self.force, self.tags, self.delete)
        let (l, t) = (local, target)
        let report = try runBlocking { try await session.push(branch: l, remoteBranch: t, force: force, tags: tags, delete: delete) }
        progress.finish()
        if json {
            print(JSONObject().add("remote", remoteName).add(raw: "updated", updatesJSON(report.updated))
                .add("chunks", report.chunksSent).add("bytes", report.bytesSent).text)
            return
        }
        if report.upToDate {
            print("Everything up-to-date")
            return
        }
        print("To \(info.url)")
        for u in report.updated {
            let name = RefName(stored: u.ref)
            let shown = name?.name ?? u.ref
            let kind = name?.namespace == .tags ? "tag" : "branch"
            let what = u.new == nil ? "\(shown)" : (kind == "branch" && shown == target ? "\(local) -> \(target)" : "\(shown) -> \(shown)")
            print("\(describeMove(old: u.old, new: u.new, kind: kind))  \(what)")
        }
    }
}
