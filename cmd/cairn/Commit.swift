import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit",
        abstract: "Record the working set as a commit on the current branch.",
        discussion: "Prints the new commit's hash. With nothing to commit, exits 1 and changes nothing.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "The commit message (while merging, default: the merge's).") var message: String?
    @Option(help: "The author (default: CAIRN_AUTHOR, the user.name setting, or your user name).") var author: String?
    @Flag(help: "Commit even when nothing changed.") var allowEmpty = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        if message == nil, try ctx.repo.workingSet().merge == nil { throw CLIError.usage("a commit needs a message: -m MSG") }
        let c = try ctx.repo.commitWorkingSet(message: message, author: try defaultAuthor(author, ctx.repo), allowEmpty: allowEmpty)
        print(c.hash.description)
    }
}
