import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge a revision into the current branch.",
        discussion: """
            Three-way structural merge from the merge base (docs/merging.md). Fast-forwards when it \
            can (--no-ff: never). Otherwise commits the merge, with parents HEAD then REV, unless \
            --no-commit. On conflicts, exits 1, prints each conflicted path and keeps them in the \
            working set: see 'cairn conflicts', settle them with 'cairn resolve', then run \
            'cairn merge --continue' (or 'cairn commit'); 'cairn merge --abort' puts everything back. \
            Uncommitted changes stay on top of the merge; a merge that would change the same paths \
            is refused.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The revision to merge in.") var rev: String?
    @Option(name: .shortAndLong, help: "The merge commit's message.") var message: String?
    @Option(help: "The author (default: CAIRN_AUTHOR, the user.name setting, or your user name).") var author: String?
    @Flag(help: "Merge into the working set without committing.") var noCommit = false
    @Flag(help: "Make a merge commit even when a fast-forward would do.") var noFf = false
    @Option(help: "Settle every conflict to one side: ours or theirs (git's -X).") var strategy: String?
    @Flag(help: "Merge histories that have no common ancestor.") var allowUnrelated = false
    @Flag(name: .customLong("continue"), help: "Commit the merge in progress once no conflicts are left.") var continueMerge = false
    @Flag(help: "Stop the merge in progress and restore the working set as it was before it.") var abort = false
    @Flag(help: "Print one JSON document: result, commit, conflicts.") var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let repo = ctx.repo
        if continueMerge || abort {
            guard rev == nil, !(continueMerge && abort) else {
                throw CLIError.usage("--continue and --abort take no revision, and not both")
            }
            if abort {
                try repo.abortMerge()
                if !json { print("Merge aborted; the working set is as it was before the merge.") }
                return
            }
            guard try repo.workingSet().merge != nil else { throw RepositoryError.noMergeInProgress }
            let c = try repo.commitWorkingSet(message: message, author: try defaultAuthor(author, repo))
            report(kind: .merged, commit: c.hash, conflicts: [])
            return
        }
        guard let rev else { throw CLIError.usage("merge needs a revision (or --continue / --abort)") }
        var strat: MergeStrategy?
        if let strategy {
            guard let s = MergeStrategy(rawValue: strategy) else {
                throw CLIError.usage("unknown strategy '\(strategy)' (ours or theirs)")
            }
            strat = s
        }
        let theirs = try repo.resolveCommit(rev)
        let r = try repo.mergeIntoCurrentBranch(theirs.hash, message: message, author: try defaultAuthor(author, repo),
                                                commit: !noCommit, fastForward: !noFf, strategy: strat,
                                                allowUnrelated: allowUnrelated)
        report(kind: r.kind, commit: r.commit, conflicts: r.conflicts)
        fflush(nil)  // the conflicts before the error line, also when both go to one pipe
        if r.kind == .conflicted {
            throw CLIError.failed("merge stopped with \(r.conflicts.count) conflict\(r.conflicts.count == 1 ? "" : "s"): "
                + "settle them with 'cairn resolve PATH --ours|--theirs|--value JSON', then run 'cairn merge --continue'")
        }
    }

    private func report(kind: MergeKind, commit: Hash?, conflicts: [MergeConflict]) {
        if json {
            print(JSONObject().add("result", kind.rawValue).add(raw: "commit", commit.map { jsonQuoted($0.description) } ?? "null")
                .add("conflicts", conflicts.count).text)
            return
        }
        switch kind {
        case .upToDate: print("Already up to date.")
        case .fastForward: print("Fast-forward to \(commit!.description)")
        case .merged:
            if let commit { print(commit.description) } else {
                print("Merged into the working set; run 'cairn merge --continue' or 'cairn commit' to record it.")
            }
        case .conflicted:
            for c in conflicts { print("CONFLICT (\(c.kind)): \(c.path)") }
        }
    }
}
