import ArgumentParser
import CairnStore
import CairnSync
import CairnRemote

struct RemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "List, add or remove remotes.",
        discussion: """
            A remote is an http(s):// URL as 'cairn serve' gives it, or a path to a folder holding \
            a store. Remotes and their tokens are local settings: they never sync. The client sends \
            the remote's token, else CAIRN_TOKEN, as a bearer token.
            """,
        subcommands: [List.self, Add.self, Remove.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the remotes and their URLs.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print one JSON document: an array of {name, url}.") var json = false

        func run() throws {
            let ctx = try Context(global)
            defer { ctx.close() }
            let remotes = try Remotes(ctx.chunks).list()
            if json {
                print("[" + remotes.map { JSONObject().add("name", $0.name).add("url", $0.url).text }.joined(separator: ",") + "]")
            } else {
                for r in remotes { print("\(r.name)\t\(r.url)") }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a remote.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The remote's name, such as origin.") var name: String
        @Argument(help: "An http(s):// URL, or a path to a folder holding a store.") var url: String
        @Option(help: "The bearer token to send to this remote.") var token: String?

        func run() throws {
            let ctx = try Context(global)
            defer { ctx.close() }
            try Remotes(ctx.chunks).add(name, url: try RemoteOpener.normalize(url), token: token)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a remote and its remote-tracking refs.",
                                                        aliases: ["rm"])
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The remote's name.") var name: String

        func run() throws {
            let ctx = try Context(global)
            defer { ctx.close() }
            try Remotes(ctx.chunks).remove(name, store: ctx.chunks)
        }
    }
}

extension Context {
    /// A session with the remote called `name`.
    func session(_ name: String) throws -> (SyncSession, Remotes.Remote) {
        let r = try Remotes(chunks).require(name)
        return (SyncSession(repo: repo, remoteName: name, remote: try RemoteOpener.open(url: r.url, token: r.token)), r)
    }
}

/// `abc1234..def5678`, `[new branch]`, `[deleted]`: how git prints a ref's move.
func describeMove(old: Hash?, new: Hash?, kind: String) -> String {
    switch (old, new) {
    case (nil, .some): return " * [new \(kind)]"
    case (.some, nil): return " - [deleted]"
    case (.some(let o), .some(let n)): return "   \(o.description.prefix(10))..\(n.description.prefix(10))"
    default: return "   "
    }
}

/// The `updated` array of the sync commands' JSON.
func updatesJSON(_ updated: [(ref: String, old: Hash?, new: Hash?)]) -> String {
    "[" + updated.map { u in
        JSONObject().add("ref", u.ref).add(raw: "old", u.old.map { jsonQuoted($0.description) } ?? "null")
            .add(raw: "new", u.new.map { jsonQuoted($0.description) } ?? "null").text
    }.joined(separator: ",") + "]"
}
