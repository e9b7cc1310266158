import ArgumentParser
import CairnStore
import CairnSync
import CairnVersioning
import CairnRemote

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Receive a remote's branches and tags.",
        discussion: """
            Receives only what this store lacks, then sets REMOTE/BRANCH for each of the remote's \
            branches and creates its tags that this store lacks (a tag that differs here is kept). \
            --prune drops REMOTE/BRANCH refs whose branch is gone. REMOTE defaults to origin.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The remote (default: origin).") var remote: String?
    @Flag(help: "Drop remote-tracking refs whose branch the remote no longer has.") var prune = false
    @Flag(help: "Print one JSON document: remote, updated, chunks, bytes.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let remoteName = remote ?? "origin"
        let (session, info) = try ctx.session(remoteName)
        let progress = TransferProgress("Receiving")
        session.progress = progress.callback
        let prune = self.prune
        let report = try runBlocking { try await session.fetch(prune: prune) }
        progress.finish()
        printFetch(report, remote: remoteName, url: info.url, json: json)
    }
}

func printFetch(_ report: SyncSession.FetchReport, remote: String, url: String, json: Bool) {
    if json {
        print(JSONObject().add("remote", remote).add(raw: "updated", updatesJSON(report.updated))
            .add("chunks", report.chunksReceived).add("bytes", report.bytesReceived).text)
        return
    }
    if !report.updated.isEmpty { print("From \(url)") }
    for u in report.updated {
        guard let name = RefName(stored: u.ref) else { continue }
        if name.namespace == .tags {
            print("\(describeMove(old: u.old, new: u.new, kind: "tag"))  \(name.name) -> \(name.name)")
        } else {
            let branch = String(name.name.dropFirst(remote.count + 1))
            print("\(describeMove(old: u.old, new: u.new, kind: "branch"))  \(u.new == nil ? "(none)" : branch) -> \(name.name)")
        }
    }
    for t in report.tagsKept { Terminal.writeStderr("warning: tag \(t) differs on \(remote); kept this store's\n") }
}
