import ArgumentParser
import CairnVersioning

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
                      DiffCommand.self, Branch.self, Checkout.self, Tag.self, Export.self, Stats.self])

    /// Parses, runs, and turns every error into one `error:` line and an exit code from CLI.md.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        do {
            arguments = try GlobalOptions.applyLeadingDirectoryFlags(arguments)
        } catch {
            exit(withError: error)
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

    private static func exitForParseError(_ error: Error) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            // --help, --version: the parser's own text on stdout.
            print(fullMessage(for: error))
            Foundationless.exit(0)
        }
        let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
        Terminal.error("\(message) (see 'cairn --help')")
        Foundationless.exit(CLIExit.usage)
    }

    static func exit(withError error: Error) -> Never {
        guard let failure = CLIFailure(error) else { exitForParseError(error) }
        if let message = failure.message { Terminal.error(message) }
        Foundationless.exit(failure.code)
    }
}
