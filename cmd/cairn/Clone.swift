import ArgumentParser
import CairnStore
import CairnSync
import CairnVersioning
import CairnRemote

struct CloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Copy a store with all its branches and tags.",
        discussion: """
            Creates DIR (default: the last part of URL) with every branch and tag of the remote, sets \
            'origin' to URL, and checks out the remote's main (or its only branch). A clone that fails \
            or is killed leaves DIR with what it had received; run the same command again to resume \
            it, moving only what is missing. A DIR that holds anything else is refused (exit 2).
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "An http(s):// URL as 'cairn serve' gives it, or a path to a folder holding a store.") var url: String
    @Argument(help: "Where to create the clone.") var directory: String?
    @Option(help: "The bearer token to send to the remote (kept as origin's token).") var token: String?
    @Flag(help: "Print one JSON document: directory, head, updated, chunks, bytes.") var json = false

    func run() throws {
        try global.apply()
        let normalized = try RemoteOpener.normalize(url)
        let dir = directory ?? Self.defaultDirectory(normalized)
        let remote = try RemoteOpener.open(url: normalized, token: token)
        let (store, resuming) = try Clone.prepare(directory: dir, url: normalized, token: token)
        defer { store.close() }
        if !json { Terminal.writeStderr(resuming ? "Resuming the clone into '\(dir)'...\n" : "Cloning into '\(dir)'...\n") }
        let session = SyncSession(repo: Repository(chunks: store), remoteName: "origin", remote: remote)
        let progress = TransferProgress("Receiving")
        session.progress = progress.callback
        let report = try runBlocking { try await Clone.run(session, resuming: resuming) }
        progress.finish()
        let head = try session.repo.currentBranch()
        if json {
            print(JSONObject().add("directory", dir).add("head", head).add(raw: "updated", updatesJSON(report.updated))
                .add("chunks", report.chunksReceived).add("bytes", report.bytesReceived).text)
        } else {
            Terminal.writeStderr("Received \(report.chunksReceived) chunks (\(ByteCount(report.bytesReceived))); on branch \(head)\n")
        }
    }

    /// `http://host:7070/team` → `team`; `../data/store` → `store`; a bare server URL → `store`.
    static func defaultDirectory(_ url: String) -> String {
        var rest = Substring(url)
        if HTTPRemote.isHTTP(url) {
            rest = rest.drop { $0 != ":" }.dropFirst(3)
            guard let slash = rest.firstIndex(of: "/") else { return "store" }
            rest = rest[rest.index(after: slash)...]
        }
        let last = rest.split(separator: "/").last.map(String.init) ?? ""
        return last.isEmpty || last == "." || last == ".." ? "store" : last
    }
}
