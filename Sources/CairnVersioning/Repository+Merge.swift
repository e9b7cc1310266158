import CairnStore
import CairnValues
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What merging one commit into another gives.
public enum MergeKind: String, Sendable {
    /// Theirs is already in ours' history: nothing to do.
    case upToDate = "up to date"
    /// Ours is in theirs' history: the branch can move to theirs.
    case fastForward = "fast-forward"
    /// A merged root with no conflicts.
    case merged
    /// A merged root with conflicts, which holds ours' value at each conflicted path.
    case conflicted
}

/// The result of ``Repository/merge(ours:theirs:strategy:allowUnrelated:fastForward:)``: it
/// touches no ref.
public struct CommitMerge: Sendable {
    public let kind: MergeKind
    public let ours: Hash?
    public let theirs: Hash
    /// The merge base, nil for unrelated histories; in a criss-cross history, the first of the
    /// best common ancestors (the merge used their virtual merge).
    public let base: Hash?
    /// Every best common ancestor.
    public let bases: [Hash]
    /// The root the branch would have: ours' for up to date, theirs' for a fast-forward.
    public let root: ProllyMap
    public let conflicts: [MergeConflict]
}

/// What ``Repository/mergeIntoCurrentBranch(_:message:author:commit:fastForward:strategy:allowUnrelated:)`` did.
public struct MergeReport: Sendable {
    public let kind: MergeKind
    /// The branch's new commit: theirs on a fast-forward, the merge commit, or nil when
    /// nothing was committed (up to date, `--no-commit`, conflicts).
    public let commit: Hash?
    public let conflicts: [MergeConflict]

    public init(kind: MergeKind, commit: Hash?, conflicts: [MergeConflict]) {
        self.kind = kind
        self.commit = commit
        self.conflicts = conflicts
    }
}

extension Repository {
    /// Merges commit `theirs` into commit `ours` (nil: an unborn branch) without touching any
    /// ref: the CLI's `merge` and an app both call this. `fastForward: false` merges even when
    /// a fast-forward would do (`--no-ff`). Unrelated histories are refused unless
    /// `allowUnrelated`, which merges them from an empty base.
    public func merge(ours: Hash?, theirs: Hash, strategy: MergeStrategy? = nil, allowUnrelated: Bool = false,
                      fastForward: Bool = true) throws -> CommitMerge {
        let theirsRoot = try root(of: commit(theirs))
        guard let ours else {
            return CommitMerge(kind: .fastForward, ours: nil, theirs: theirs, base: nil, bases: [], root: theirsRoot, conflicts: [])
        }
        let oursRoot = try root(of: commit(ours))
        let bases = try mergeBases(ours, theirs)
        if bases.contains(theirs) {
            return CommitMerge(kind: .upToDate, ours: ours, theirs: theirs, base: theirs, bases: bases, root: oursRoot, conflicts: [])
        }
        if bases == [ours] && fastForward {
            return CommitMerge(kind: .fastForward, ours: ours, theirs: theirs, base: ours, bases: bases, root: theirsRoot, conflicts: [])
        }
        if bases.isEmpty && !allowUnrelated { throw RepositoryError.unrelatedHistories }
        let baseRoot = try virtualBase(bases)
        let outcome = try ThreeWayMerge.merge(base: baseRoot, ours: oursRoot, theirs: theirsRoot, strategy: strategy)
        return CommitMerge(kind: outcome.conflicts.isEmpty ? .merged : .conflicted, ours: ours, theirs: theirs,
                           base: bases.first, bases: bases, root: outcome.root, conflicts: outcome.conflicts)
    }

    /// The root to merge from, given the best common ancestors (sorted by hash): the one's
    /// root; none, the empty root; several (a criss-cross), their merge, folded in hash order,
    /// each pair from its own merge bases (recursively), as git's recursive strategy does. A
    /// conflict inside this virtual base settles to the value of the bases' own base, so
    /// neither side is favoured and the real merge sees both sides' changes.
    func virtualBase(_ bases: [Hash]) throws -> ProllyMap {
        guard let first = bases.first else { return try ProllyMap.empty(store: store) }
        var merged = try root(of: commit(first))
        for next in bases.dropFirst() {
            let inner = try virtualBase(try mergeBases(first, next))
            var m = ThreeWayMerge(store: store, strategy: nil, settleToBase: true)
            merged = try m.mergeRoots(base: inner, ours: merged, theirs: try root(of: commit(next))).root
        }
        return merged
    }

    // MARK: Merging into the current branch

    /// Merges `theirs` into the current branch, as `cairn merge` does.
    ///
    /// - Up to date: nothing changes.
    /// - A fast-forward (unless `fastForward` is false) moves the branch to theirs.
    /// - Otherwise the merged root is committed with parents ours and theirs, unless `commit`
    ///   is false or conflicts remain: then the working set holds the merged root and the merge
    ///   in progress, for ``resolve(_:with:)``, ``commitWorkingSet(message:author:date:allowEmpty:)``
    ///   and ``abortMerge()``.
    /// - Uncommitted changes in the working set stay on top of the result. When they touch a
    ///   path the merge changes too, the merge is refused and nothing moves.
    @discardableResult
    public func mergeIntoCurrentBranch(_ theirs: Hash, message: String?, author: String, date: Int64 = Int64(time(nil)),
                                       commit: Bool = true, fastForward: Bool = true, strategy: MergeStrategy? = nil,
                                       allowUnrelated: Bool = false) throws -> MergeReport {
        let branch = try currentBranch()
        let wsRef = try chunks.ref(.working(branch))
        let ws = try workingSet(branch: branch)
        guard ws.merge == nil else { throw RepositoryError.mergeInProgress }
        let head = try chunks.ref(.branch(branch))
        let headRoot = try head.map { try root(of: self.commit($0)) } ?? ProllyMap.empty(store: store)
        let result = try merge(ours: head, theirs: theirs, strategy: strategy, allowUnrelated: allowUnrelated,
                               fastForward: fastForward)
        if result.kind == .upToDate { return MergeReport(kind: .upToDate, commit: nil, conflicts: []) }
        // Conflicts are kept by path text: two at keys that print alike (the Int 1 and the
        // String "1") could not both be kept, so the merge is refused rather than lose one.
        let paths = result.conflicts.map(\.path.description)
        if let dup = zip(paths, paths.dropFirst()).first(where: { $0 == $1 }) {
            throw RepositoryError.conflictPathsCollide(dup.0)
        }

        // The uncommitted changes, carried over the result, with no rules, so that nothing can
        // settle them away. They must not touch what the merge changes: where it conflicts,
        // theirs' value stands in for the check (the result holds ours' there).
        var working = result.root
        if ws.root.hash != headRoot.hash {
            var probe = result.root
            if !result.conflicts.isEmpty {
                probe = try merge(ours: head, theirs: theirs, strategy: .theirs, allowUnrelated: allowUnrelated,
                                  fastForward: fastForward).root
            }
            let check = try ThreeWayMerge.merge(base: headRoot, ours: ws.root, theirs: probe, usingRules: false)
            guard check.conflicts.isEmpty else { throw RepositoryError.uncommittedChangesOverlap(check.conflicts.map(\.path.description)) }
            working = probe.hash == result.root.hash ? check.root
                : try ThreeWayMerge.merge(base: headRoot, ours: ws.root, theirs: result.root, usingRules: false).root
        }
        let messageText = try message ?? "Merge \(describe(theirs)) into \(branch)"

        if result.kind == .fastForward {
            try moveBranchAndWorkingSet(branch, from: head, to: theirs, committedRoot: result.root.hash,
                                        workingSet: WorkingSet(root: working), expected: wsRef)
            return MergeReport(kind: .fastForward, commit: theirs, conflicts: [])
        }
        if result.kind == .merged && commit {
            let hash = try writeCommit(root: result.root, parents: [head!, theirs], author: author, date: date, message: messageText,
                                       flush: false)
            try moveBranchAndWorkingSet(branch, from: head, to: hash, committedRoot: result.root.hash,
                                        workingSet: WorkingSet(root: working), expected: wsRef)
            return MergeReport(kind: .merged, commit: hash, conflicts: [])
        }
        let state = WorkingSet.MergeState(theirs: theirs, base: result.base, rootBefore: try ws.root.persistRoot(),
                                          conflicts: try WorkingSet.MergeState.conflictMap(result.conflicts, store: store),
                                          message: messageText)
        try setWorkingSet(WorkingSet(root: working, merge: state), branch: branch, expected: wsRef, basedOn: .some(head))
        return MergeReport(kind: result.kind, commit: nil, conflicts: result.conflicts)
    }

    /// A commit as a merge message names it: its branch or tag, else its short hash.
    private func describe(_ commit: Hash) throws -> String {
        if let b = try branches().first(where: { $0.commit == commit }) { return "branch '\(b.name)'" }
        if let t = try tags().first(where: { $0.commit == commit }) { return "tag '\(t.name)'" }
        return "commit " + String(commit.description.prefix(10))
    }

    /// Moves a branch and its working set together, by one compare-and-swap of both refs in
    /// the same step that stores every chunk written so far (the commit's too).
    func moveBranchAndWorkingSet(_ branch: String, from head: Hash?, to commit: Hash, committedRoot: Hash,
                                 workingSet ws: WorkingSet, expected: Hash?) throws {
        // A working set that is just the commit's root needs no chunk: no ref means "as HEAD".
        let wsHash: Hash? = ws.merge == nil && ws.root.hash == committedRoot ? nil : try ws.write(store: store)
        let moves = [RefMove(RefName.branch(branch).description, expected: head, new: commit),
                     RefMove(RefName.working(branch).description, expected: expected, new: wsHash)]
        guard try store.flush(moving: moves) else { throw RepositoryError.concurrentUpdate("branch \(branch)") }
    }

    /// Ends a merge in progress, putting the working set back as it was before the merge.
    public func abortMerge() throws {
        let branch = try currentBranch()
        let wsRef = try chunks.ref(.working(branch))
        let ws = try workingSet(branch: branch)
        guard let m = ws.merge else { throw RepositoryError.noMergeInProgress }
        try setWorkingSet(WorkingSet(root: try ProllyMap.load(m.rootBefore, store: store)), branch: branch, expected: wsRef)
    }

    /// How a conflict is settled.
    public enum Resolution: Sendable {
        case ours, theirs
        case value(Value)
    }

    /// Settles the conflict at `path`, or with `.ours`/`.theirs` every conflict at or under
    /// it. Returns the paths settled. The working root keeps (ours), takes (theirs: sets it, or
    /// removes it where theirs deleted it) or is given (a value) the value at each one.
    @discardableResult
    public func resolve(_ path: ValuePath, with resolution: Resolution) throws -> [ValuePath] {
        let branch = try currentBranch()
        let wsRef = try chunks.ref(.working(branch))
        var ws = try workingSet(branch: branch)
        guard var m = ws.merge else { throw RepositoryError.noMergeInProgress }
        let all = try m.conflictList()
        let chosen: [MergeConflict]
        if case .value = resolution {
            chosen = all.filter { $0.path == path }
        } else {
            chosen = all.filter { $0.path.segments.starts(with: path.segments) }
        }
        guard !chosen.isEmpty else { throw RepositoryError.noConflict(path.description) }
        var root = ws.root
        for c in chosen {
            switch resolution {
            case .ours: continue
            case .theirs: root = try editedRoot(root, at: c.path, value: c.theirs, allowMissing: true)
            case .value(let v):
                // Under an `lww` rule, the settled value is a new write, stamped as `set` does.
                let rules = try? MergeRules(try root.get(.string(MergeRules.rootName)))
                let value = rules?.rule(for: c.path.segments) == .lww ? LWW.stamped(v, try writeStamp()) : v
                root = try editedRoot(root, at: c.path, value: value, allowMissing: false)
            }
        }
        // Settling a conflict of the rules must leave rules that parse.
        if chosen.contains(where: { $0.path.segments.first == MergeRules.rootName }) {
            _ = try MergeRules(try root.get(.string(MergeRules.rootName)))
        }
        let settled = Set(chosen.map(\.path.description))
        m.conflicts = try m.conflicts.editing(settled.map { (Value.string($0), nil) })
        if case .theirs = resolution {
            root = try droppingSettledColumns(root, settled: chosen, merge: m)
        }
        ws.root = root
        ws.merge = m
        try setWorkingSet(ws, branch: branch, expected: wsRef)
        return chosen.map(\.path)
    }

    /// A column the merge kept only for ours' conflicting cells (theirs dropped it) goes once
    /// those conflicts are all settled to theirs and it holds no cell: the table is then
    /// theirs' drop, as a merge without the conflicts would have made it.
    private func droppingSettledColumns(_ root: ProllyMap, settled: [MergeConflict], merge m: WorkingSet.MergeState) throws -> ProllyMap {
        var root = root
        let theirsRoot = try self.root(of: commit(m.theirs))
        let remaining = try m.conflictList()
        var done = Set<[String]>()
        for c in settled where c.theirs == nil && c.path.segments.count >= 3 {
            let name = c.path.segments[0], column = c.path.segments[c.path.segments.count - 1]
            guard done.insert([name, column]).inserted, case .table(let t)? = try root.get(.string(name)),
                  let col = t.schema.column(named: column), let slot = col.slot,
                  case .table(let theirsTable)? = try theirsRoot.get(.string(name)), theirsTable.schema.column(id: col.id) == nil,
                  !remaining.contains(where: { $0.path.segments.first == name && $0.path.segments.last == column }) else { continue }
            var empty = true
            try t.forEachRow { _, r in
                try Table.forEachCell(r, store: store) { s, cell in if s == slot && cell != nil { empty = false } }
                return empty
            }
            guard empty else { continue }
            var schema = t.schema
            try schema.dropColumn(column)
            root = try root.setting(.string(name), to: .table(t.withSchema(schema)))
        }
        return root
    }

    /// The conflicts of the merge in progress on the current branch (empty when none).
    public func conflicts() throws -> [MergeConflict] {
        try workingSet().merge?.conflictList() ?? []
    }
}
