import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Checkout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Switch branches.",
        discussion: "Each branch keeps its own working set, so nothing is lost in the switch.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .short, help: "Create the branch NAME first.") var b = false
    @Argument(help: "The branch.") var name: String
    @Argument(help: "With -b: where the new branch starts (default: HEAD).") var start: String?

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        if b {
            let at = try start.map { try ctx.repo.resolveCommit($0).hash }
            try ctx.repo.checkoutNewBranch(name, at: at)
            print("Switched to a new branch '\(name)'")
        } else {
            guard start == nil else { throw CLIError.usage("checkout takes one branch; use -b NAME START to create one") }
            if try name == ctx.repo.currentBranch() {
                print("Already on '\(name)'")
                return
            }
            try ctx.repo.checkout(name)
            print("Switched to branch '\(name)'")
        }
    }
}
