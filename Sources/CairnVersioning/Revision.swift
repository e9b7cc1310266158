import CairnStore
import CairnValues
import CairnTables

/// What a REV names: a commit, or the current branch's working set.
public enum RevisionTarget: Sendable {
    case commit(Commit)
    case working
}

extension Repository {
    /// Resolves a REV of CLI.md: `HEAD`, `WORKING`, a branch, a tag, a remote-tracking ref
    /// (`origin/main`), or a commit hash (32 characters or a unique prefix of at least 6), in
    /// that order; then `~N`, `^` and `^N` walk back.
    public func resolve(_ rev: String) throws -> RevisionTarget {
        var base = Substring(rev)
        var steps: [(kind: Character, n: Int)] = []
        // Peel suffixes from the right: ~N, ~, ^N, ^.
        while let i = base.lastIndex(where: { $0 == "~" || $0 == "^" }) {
            let digits = base[base.index(after: i)...]
            guard digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) else { break }
            let n = digits.isEmpty ? 1 : Int(digits) ?? -1
            guard n >= 0 else { throw RepositoryError.badRevision(rev) }
            steps.insert((base[i], n), at: 0)
            base = base[..<i]
        }
        guard !base.isEmpty else { throw RepositoryError.badRevision(rev) }
        let name = String(base)
        if name == "WORKING" {
            guard steps.isEmpty else { throw RepositoryError.badRevision(rev) }
            return .working
        }
        var c = try commitNamed(name, rev: rev)
        for (kind, n) in steps {
            if kind == "~" {
                for _ in 0..<n {
                    guard let p = c.parents.first else { throw RepositoryError.unknownRevision(rev) }
                    c = try commit(p)
                }
            } else if n > 0 {
                guard n <= c.parents.count else { throw RepositoryError.unknownRevision(rev) }
                c = try commit(c.parents[n - 1])
            }
        }
        return .commit(c)
    }

    /// Resolves a REV that must be a commit.
    public func resolveCommit(_ rev: String) throws -> Commit {
        guard case .commit(let c) = try resolve(rev) else { throw RepositoryError.badRevision(rev) }
        return c
    }

    private func commitNamed(_ name: String, rev: String) throws -> Commit {
        if name == "HEAD" {
            guard let h = try head() else { throw RepositoryError.unbornBranch(try currentBranch()) }
            return h
        }
        for ns in [RefName.Namespace.heads, .tags, .remotes] {
            if let h = try chunks.ref(RefName(ns, name)) { return try commit(h) }
        }
        if name.count >= 6, let range = Hash.range(textPrefix: name) {
            // Chunks that are not commits do not count; a corrupt one is an error (exit 3).
            let candidates = try chunks.hashes(in: range, limit: 64).compactMap { h -> Commit? in
                do { return try commit(h) } catch RepositoryError.notACommit { return nil }
            }
            if candidates.count > 1 { throw RepositoryError.ambiguousRevision(rev) }
            if let c = candidates.first { return c }
        }
        throw RepositoryError.unknownRevision(rev)
    }
}
