import CairnStore
import CairnValues

public enum RepositoryError: Error, CustomStringConvertible, Sendable, Equatable {
    case notACommit(Hash)
    case unknownRevision(String)
    case ambiguousRevision(String)
    case badRevision(String)
    case badName(String, kind: String)
    case branchExists(String)
    case tagExists(String)
    case noSuchBranch(String)
    case noSuchTag(String)
    case cannotDeleteCurrentBranch(String)
    case unbornBranch(String)
    case nothingToCommit
    case emptyMessage
    case badPath(String, reason: String)
    case noSuchPath(String)
    case notATable(String)
    case keyColumn(path: String, column: String)
    case badRow(String, reason: String)
    case reservedName(String)
    case concurrentUpdate(String)
    case unrelatedHistories
    case mergeInProgress
    case noMergeInProgress
    case unresolvedConflicts(Int)
    case uncommittedChangesOverlap([String])
    case noConflict(String)
    case branchNotMerged(String, into: String)
    case uncommittedChanges(branch: String)
    case noSuchRule(String)
    case conflictPathsCollide(String)
    case unfinishedClone(String)

    public var description: String {
        switch self {
        case .notACommit(let h): "\(h) is not a commit"
        case .unknownRevision(let r): "unknown revision '\(r)'"
        case .ambiguousRevision(let r): "ambiguous revision '\(r)'"
        case .badRevision(let r): "malformed revision '\(r)'"
        case let .badName(n, kind): "invalid \(kind) name '\(n)'"
        case .branchExists(let n): "a branch named '\(n)' already exists"
        case .tagExists(let n): "a tag named '\(n)' already exists (use --force to move it)"
        case .noSuchBranch(let n): "no branch named '\(n)'"
        case .noSuchTag(let n): "no tag named '\(n)'"
        case .cannotDeleteCurrentBranch(let n): "cannot delete the branch '\(n)' you are on"
        case .unbornBranch(let n): "branch '\(n)' has no commits yet"
        case .nothingToCommit: "nothing to commit (the working set equals HEAD)"
        case .emptyMessage: "aborting commit: the message is empty"
        case let .badPath(p, reason): "malformed path '\(p)': \(reason)"
        case .noSuchPath(let p): "no value at path '\(p)'"
        case .notATable(let p): "'\(p)' is not a table"
        case let .keyColumn(p, c): "cannot change '\(c)' at '\(p)': it is a key column; remove the row and set a new one"
        case let .badRow(p, reason): "cannot set the row at '\(p)': \(reason)"
        case .reservedName(let n): "'\(n)' is reserved: top-level names starting with '.' are not allowed"
        case .concurrentUpdate(let r): "\(r) was changed by another process; try again"
        case .unrelatedHistories: "refusing to merge unrelated histories (use --allow-unrelated)"
        case .mergeInProgress: "a merge is in progress: resolve its conflicts and commit, or run 'cairn merge --abort'"
        case .noMergeInProgress: "there is no merge in progress"
        case .unresolvedConflicts(let n):
            "cannot commit: \(n) conflict\(n == 1 ? "" : "s") left to resolve (see 'cairn conflicts'; 'cairn resolve PATH --ours|--theirs|--value JSON')"
        case .uncommittedChangesOverlap(let paths):
            "your uncommitted changes would be overwritten by the merge at " + paths.prefix(3).joined(separator: ", ")
                + (paths.count > 3 ? " and \(paths.count - 3) more" : "") + ": commit them first"
        case .noConflict(let p): "no conflict at '\(p)'"
        case .noSuchRule(let p): "no merge rule for '\(p)'"
        case .conflictPathsCollide(let p):
            "the merge conflicts at two keys that both read '\(p)' (such as 1 and \"1\"); settle one on a branch first (or merge with --strategy)"
        case .unfinishedClone(let url): "the clone of \(url) into this store is unfinished: run the clone again to finish it first"
        case let .branchNotMerged(b, into): "the branch '\(b)' is not merged into '\(into)' (use -D to delete it anyway)"
        case .uncommittedChanges(let b): "the branch '\(b)' has uncommitted changes in its working set (use -D to delete it anyway)"
        }
    }

    /// Whether the CLI should exit 1 (did not succeed) rather than 2 (bad input).
    public var isOperationFailure: Bool {
        switch self {
        case .nothingToCommit, .concurrentUpdate, .unrelatedHistories, .mergeInProgress, .unresolvedConflicts,
             .uncommittedChangesOverlap, .branchNotMerged, .uncommittedChanges, .conflictPathsCollide, .unfinishedClone: true
        default: false
        }
    }
}
