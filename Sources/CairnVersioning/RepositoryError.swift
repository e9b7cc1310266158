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
        }
    }

    /// Whether the CLI should exit 1 (did not succeed) rather than 2 (bad input).
    public var isOperationFailure: Bool {
        switch self {
        case .nothingToCommit, .concurrentUpdate: true
        default: false
        }
    }
}
