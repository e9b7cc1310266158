import ArgumentParser
import CairnVersioning

struct Branch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List, create or delete branches.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .short, help: "Delete the branch NAME.") var d = false
    @Argument(help: "The branch to create or delete.") var name: String?
    @Argument(help: "Where the new branch starts (default: HEAD).") var start: String?

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let repo = ctx.repo
        if d {
            guard let name, start == nil else { throw CLIError.usage("branch -d takes one NAME") }
            try repo.deleteBranch(name)
            print("Deleted branch \(name)")
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
            try ctx.repo.checkout(name)
            print("Switched to branch '\(name)'")
        }
    }
}

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List, create or delete tags.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .short, help: "Delete the tag NAME.") var d = false
    @Argument(help: "The tag.") var name: String?
    @Argument(help: "What it names (default: HEAD).") var rev: String?

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        if d {
            guard let name, rev == nil else { throw CLIError.usage("tag -d takes one NAME") }
            try ctx.repo.deleteTag(name)
            return
        }
        guard let name else {
            for (t, _) in try ctx.repo.tags() { print(t) }
            return
        }
        try Repository.validateName(name, kind: "tag")
        try ctx.repo.createTag(name, at: try ctx.repo.resolveCommit(rev ?? "HEAD").hash)
    }
}
