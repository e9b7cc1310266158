@_exported import CairnValues

/// A commit: the root value (a Map from top-level names to values) by Ref, its parents, and
/// who made it, when and why. Stored as one small chunk holding a `Commit` struct.
public struct Commit: Sendable, Equatable {
    public let hash: Hash
    /// The hash of the root Map's root node, always a chunk of its own.
    public let root: Hash
    public let parents: [Hash]
    public let author: String
    /// Seconds since 1970-01-01 UTC.
    public let date: Int64
    public let message: String

    static let structName = "Commit"

    /// The commit's encoding, as a value.
    static func value(root: Hash, parents: [Hash], author: String, date: Int64, message: String, store: NodeStore) throws -> Value {
        .struct(StructValue(name: structName, fields: [
            ("root", .ref(ValueRef(target: root, targetKind: .map))),
            ("parents", .list(try ProllyList.build(parents.map { .ref(ValueRef(target: $0, targetKind: .struct)) }, store: store))),
            ("author", .string(author)),
            ("date", .int(date)),
            ("message", .string(message)),
        ]))
    }

    /// Reads a commit chunk.
    static func decode(_ chunk: Chunk, store: NodeStore) throws -> Commit {
        guard chunk.data.first == Format.version else { throw RepositoryError.notACommit(chunk.hash) }
        let v = try Value.decode(Array(chunk.data.dropFirst()), store: store)
        guard case .struct(let s) = v, s.name == structName,
              case .ref(let root)? = s["root"], case .list(let ps)? = s["parents"],
              case .string(let author)? = s["author"], case .int(let date)? = s["date"],
              case .string(let message)? = s["message"] else { throw RepositoryError.notACommit(chunk.hash) }
        var parents: [Hash] = []
        for p in try ps.elements() {
            guard case .ref(let r) = p else { throw RepositoryError.notACommit(chunk.hash) }
            parents.append(r.target)
        }
        return Commit(hash: chunk.hash, root: root.target, parents: parents, author: author, date: date, message: message)
    }
}

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
    case badPath(String, reason: String)
    case noSuchPath(String)
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
        case .tagExists(let n): "a tag named '\(n)' already exists"
        case .noSuchBranch(let n): "no branch named '\(n)'"
        case .noSuchTag(let n): "no tag named '\(n)'"
        case .cannotDeleteCurrentBranch(let n): "cannot delete the branch '\(n)' you are on"
        case .unbornBranch(let n): "branch '\(n)' has no commits yet"
        case .nothingToCommit: "nothing to commit (the working set equals HEAD)"
        case let .badPath(p, reason): "malformed path '\(p)': \(reason)"
        case .noSuchPath(let p): "no value at path '\(p)'"
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
