import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
#if canImport(Glibc)
import Glibc
#endif

@main
struct Cairn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "A content-addressed, versioned datastore.",
        discussion: """
            Cairn keeps tables and documents with their history, as git keeps code. \
            Exit codes: 0 success, 1 did not succeed (conflicts, refused push, nothing to commit), \
            2 usage or input error, 3 store or network failure.
            """,
        version: "0.1.0",
        subcommands: [Init.self, Import.self, SetCommand.self, Rm.self, Status.self, CommitCommand.self, Log.self, Show.self,
                      DiffCommand.self, Branch.self, Checkout.self, Tag.self, MergeCommand.self, ConflictsCommand.self,
                      ResolveCommand.self, RulesCommand.self, SchemaCommand.self, Export.self, Stats.self,
                      RemoteCommand.self, CloneCommand.self, FetchCommand.self, PullCommand.self, PushCommand.self, ServeCommand.self,
                      GCCommand.self, FsckCommand.self, ReflogCommand.self])

    /// Parses, runs, and turns every error into one `error:` line and an exit code from CLI.md.
    static func main() {
        // A file-size limit (ulimit -f) then fails a write with EFBIG, which SQLite reports as
        // a full disk, instead of killing the process part way through a write.
        signal(SIGXFSZ, SIG_IGN)
        var arguments = Array(CommandLine.arguments.dropFirst())
        do {
            arguments = try GlobalOptions.applyLeadingDirectoryFlags(arguments)
        } catch {
            exit(withError: error)
        }
        if arguments.isEmpty {
            Terminal.writeStderr(helpMessage() + "\n")
            Terminal.error("no command given (see 'cairn --help')")
            Foundationless.exit(CLIExit.usage)
        }
        arguments = Self.normalized(arguments)
        if arguments.first == "help", arguments.count > 1, subcommandName([arguments[1]]) == nil {
            Terminal.error("no command named '\(arguments[1])' (see 'cairn --help')")
            Foundationless.exit(CLIExit.usage)
        }
        let command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exitForParseError(error)
        }
        do {
            var runnable = command
            try runnable.run()
            try StandardOutput.check()
        } catch {
            exit(withError: error)
        }
    }

    /// Spellings git users type that the parser does not take as they are: `-n5` for `-n 5`,
    /// and a negative number as `set`'s JSON (`cairn set /t/a/score -5`), moved after `--`.
    static func normalized(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var tail: [String] = []
        let command = arguments.first { !$0.hasPrefix("-") }
        var afterDashes = false
        for a in arguments {
            if a == "--" { afterDashes = true }
            if !afterDashes, a.count > 2, a.hasPrefix("-n"), a.dropFirst(2).allSatisfy(\.isNumber) {
                out += ["-n", String(a.dropFirst(2))]
            } else if !afterDashes, command == "set", a.count > 1, a.hasPrefix("-"),
                      let c = a.dropFirst().first, c.isNumber || c == "." {
                tail.append(a)
            } else {
                out.append(a)
            }
        }
        if !tail.isEmpty { out += (afterDashes ? [] : ["--"]) + tail }
        return out
    }

    /// The subcommand named in `arguments`, for the hint of a usage error.
    static func subcommandName(_ arguments: [String]) -> String? {
        let names = Set(configuration.subcommands.compactMap { $0.configuration.commandName ?? String(describing: $0).lowercased() })
        return arguments.first { names.contains($0) }
    }

    private static func exitForParseError(_ error: Error) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            // --help, --version: the parser's own text on stdout.
            print(fullMessage(for: error))
            Foundationless.exit(0)
        }
        let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
        let arguments = Array(CommandLine.arguments.dropFirst())
        let help = subcommandName(arguments).map { "cairn help \($0)" } ?? "cairn --help"
        Terminal.error("\(message) (see '\(help)')")
        Foundationless.exit(CLIExit.usage)
    }

    static func exit(withError error: Error) -> Never {
        guard let failure = CLIFailure(error) else { exitForParseError(error) }
        if let message = failure.message { Terminal.error(message) }
        Foundationless.exit(failure.code)
    }
}
