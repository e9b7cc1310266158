import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Branch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List, create or delete branches.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .short, help: "Delete the branch NAME, if it is merged into the current branch and has no uncommitted changes.") var d = false
    @Flag(name: .customShort("D"), help: "Delete the branch NAME whatever it holds.") var forceDelete = false
    @Argument(help: "The branch to create or delete.") var name: String?
    @Argument(help: "Where the new branch starts (default: HEAD).") var start: String?

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let repo = ctx.repo
        if d || forceDelete {
            guard let name, start == nil else { throw CLIError.usage("branch -d takes one NAME") }
            let was = try repo.deleteBranch(name, force: forceDelete)
            print("Deleted branch \(name) (was \(was))")
            return
        }
        guard let name else {
            let current = try repo.currentBranch()
            var listed = false
            for (b, _) in try repo.branches() {
                print((b == current ? "* " : "  ") + b)
                listed = listed || b == current
            }
            if !listed { print("* \(current) (no commits yet)") }
            return
        }
        try Repository.validateName(name, kind: "branch")
        let at = try repo.resolveCommit(start ?? "HEAD")
        try repo.createBranch(name, at: at.hash)
    }
}
