import CairnStore
import CairnValues
import CairnTables
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A versioned store: branches and tags of commits, and for each branch a working set that
/// `import`, `set` and `rm` change and `commit` records. What the `cairn` commands call, and
/// what an app embedding Cairn calls the same way.
///
/// Refs (``RefName``): `heads/NAME` (branch → commit), `tags/NAME` (tag → commit),
/// `working/NAME` (branch → its ``WorkingSet``). The current branch is the local setting `core.head` (default
/// `main`). A branch with no commit is *unborn*, as `main` is after `init`.
public final class Repository: @unchecked Sendable {
    public let chunks: any ChunkStore & LocalSettings
    public let store: NodeStore

    private let commitCacheLock = Lock()
    private var commitCache: [Hash: Commit] = [:]

    public init(chunks: any ChunkStore & LocalSettings) {
        self.chunks = chunks
        store = NodeStore(chunks)
    }

    public static let defaultBranch = "main"

    // MARK: Branch names

    /// Branch and tag names: no `~ ^ :`, white space or `..`; not starting with `-`; not
    /// `HEAD` or `WORKING`; and a valid ref name for the store (no control characters, no
    /// leading, trailing or doubled `/`), by the store's own rule.
    public static func validateName(_ name: String, kind: String) throws {
        let bad = name.hasPrefix("-") || name == "HEAD" || name == "WORKING" || name.contains("..")
            || name.contains(where: { "~^:".contains($0) || $0.isWhitespace })
            || (try? ChunkStoreRules.validateRefName(name)) == nil
        if bad { throw RepositoryError.badName(name, kind: kind) }
    }

    // MARK: HEAD

    public func currentBranch() throws -> String {
        if let b = branch { return b }
        return try chunks.setting("core.head") ?? Self.defaultBranch
    }

    /// The branch this repository works on instead of the store's current one (`core.head`):
    /// an app with a worker per branch, each with its own `Repository` over the same store.
    public var branch: String?

    /// The current branch's commit; nil while the branch is unborn.
    public func head() throws -> Commit? {
        guard let h = try chunks.ref(.branch(currentBranch())) else { return nil }
        return try commit(h)
    }

    /// The commit named `hash`. A chunk that is not there is an unknown revision (exit 2); one
    /// that is there but does not decode is a corrupt chunk (exit 3).
    public func commit(_ hash: Hash) throws -> Commit {
        if let c = commitCacheLock.withLock({ commitCache[hash] }) { return c }
        guard let chunk = try chunks.get(hash) else { throw RepositoryError.unknownRevision(hash.description) }
        let c = try Commit.decode(chunk, store: store)
        commitCacheLock.withLock {
            // Commits never change: a small cache saves the reads a merge or a log repeats.
            if commitCache.count >= 512 { commitCache.removeAll(keepingCapacity: true) }
            commitCache[hash] = c
        }
        return c
    }

    /// A commit's root value.
    public func root(of commit: Commit) throws -> ProllyMap {
        try ProllyMap.load(commit.root, store: store)
    }

    // MARK: Concurrent writers

    /// How long an edit or a commit that loses its compare-and-swap to another writer goes on
    /// trying, in seconds: the store's busy timeout, as SQLite's users expect of writers.
    public var retryTimeout: Double = 10

    /// Runs `body` again, after a short random pause, each time it loses a compare-and-swap to
    /// another writer (``RepositoryError/concurrentUpdate(_:)``), until ``retryTimeout`` has
    /// passed. `body` reads what it edits afresh each time, so it re-applies itself to what the
    /// other writer left.
    public func retryingConcurrentUpdates<T>(_ body: () throws -> T) throws -> T {
        // A retry edits the branch the first attempt edited: if another process checks out
        // another branch meanwhile, the edit fails rather than land there.
        let startBranch = try currentBranch()
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let start = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        var attempt = 0
        while true {
            do {
                if attempt > 0, try currentBranch() != startBranch {
                    throw RepositoryError.concurrentUpdate("the current branch (now \(try currentBranch()), was \(startBranch))")
                }
                return try body()
            } catch RepositoryError.concurrentUpdate(let what) {
                if attempt > 0, try currentBranch() != startBranch { throw RepositoryError.concurrentUpdate(what) }
                clock_gettime(CLOCK_MONOTONIC, &ts)
                guard Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - start < retryTimeout else {
                    throw RepositoryError.concurrentUpdate(what)
                }
                attempt += 1
                // 1 ms, doubling to 64 ms at most, times a random factor, so racers spread out.
                let ceiling = UInt32(1000 << min(attempt, 6))
                usleep(ceiling / 2 + UInt32.random(in: 0...ceiling / 2))
            }
        }
    }

    // MARK: Working sets

    /// The working set of `branch` (default: the current one): its own if it has one, else its
    /// commit's root with no merge in progress, else the empty root.
    public func workingSet(branch: String? = nil) throws -> WorkingSet {
        let b = try branch ?? currentBranch()
        if let h = try chunks.ref(.working(b)) { return try WorkingSet.read(h, store: store) }
        if let c = try chunks.ref(.branch(b)) { return WorkingSet(root: try root(of: commit(c))) }
        return WorkingSet(root: try ProllyMap.empty(store: store))
    }

    /// The working root of `branch` (default: the current one).
    public func workingRoot(branch: String? = nil) throws -> ProllyMap { try workingSet(branch: branch).root }

    /// Replaces the working root of the current branch, keeping any merge in progress, by
    /// compare-and-swap against what it was read as (`expected`, the root's hash). Nothing
    /// moves until every chunk is stored.
    public func setWorkingRoot(_ root: ProllyMap, expected: ProllyMap) throws {
        let branch = try currentBranch()
        let current = try chunks.ref(.working(branch))
        var ws: WorkingSet
        var head: Hash?
        if let current {
            ws = try WorkingSet.read(current, store: store)
        } else {
            // Implied by the branch's commit: the branch must still be there when it is written.
            head = try chunks.ref(.branch(branch))
            ws = WorkingSet(root: try head.map { try self.root(of: commit($0)) } ?? ProllyMap.empty(store: store))
        }
        guard ws.root.hash == expected.hash else { throw RepositoryError.concurrentUpdate("the working set of \(branch)") }
        ws.root = root
        try setWorkingSet(ws, branch: branch, expected: current, basedOn: current == nil ? .some(head) : nil)
    }

    /// Moves `working/BRANCH` from `expected` (its ref, nil while implied by HEAD) to `ws`.
    /// With `basedOn`, also checks in the same step that the branch is still at that commit
    /// (nil: unborn): a working set made from the branch's commit must not land after a push
    /// moved the branch, or a later commit would undo the push.
    public func setWorkingSet(_ ws: WorkingSet, branch: String, expected: Hash?, basedOn head: Hash?? = nil) throws {
        let newHash = try ws.write(store: store)
        var moves = [RefMove(RefName.working(branch).description, expected: expected, new: newHash)]
        if case .some(let h) = head { moves.append(RefMove(RefName.branch(branch).description, expected: h, new: h)) }
        guard try store.flush(moving: moves) else {
            throw RepositoryError.concurrentUpdate("the working set of \(branch)")
        }
    }

    /// The ref of `branch`'s working set (nil while it is implied by the branch's commit), and
    /// whether it holds uncommitted changes or a merge in progress. A push into this store
    /// checks it, as git refuses a push to a checked-out branch.
    public func workingSetState(branch: String) throws -> (ref: Hash?, dirty: Bool) {
        guard let w = try chunks.ref(.working(branch)) else { return (nil, false) }
        let ws = try WorkingSet.read(w, store: store)
        if ws.merge != nil { return (w, true) }
        if let c = try chunks.ref(.branch(branch)) { return (w, ws.root.hash != (try commit(c).root)) }
        return (w, !ws.root.isEmpty)
    }

    // MARK: Commit

    /// Records the working set as a commit on the current branch. With a merge in progress
    /// and no conflicts left, the commit has two parents (ours, then theirs), may leave the
    /// root unchanged, and takes the merge's message when `message` is nil; with conflicts
    /// left it is refused.
    @discardableResult
    public func commitWorkingSet(message: String?, author: String, date: Int64 = Int64(time(nil)),
                                 allowEmpty: Bool = false) throws -> Commit {
        try retryingConcurrentUpdates {
            let branch = try currentBranch()
            let wsRef = try chunks.ref(.working(branch))
            let ws = try workingSet(branch: branch)
            if let m = ws.merge, !m.conflicts.isEmpty { throw RepositoryError.unresolvedConflicts(Int(m.conflicts.count)) }
            let text = message ?? ws.merge?.message ?? ""
            guard text.contains(where: { !$0.isWhitespace }) else { throw RepositoryError.emptyMessage }
            let parent = try chunks.ref(.branch(branch))
            let working = ws.root
            let parentCommit = try parent.map { try commit($0) }
            if !allowEmpty && ws.merge == nil {
                // Nothing changed since the parent, or, on an unborn branch, nothing at all.
                if let p = parentCommit, p.root == working.hash { throw RepositoryError.nothingToCommit }
                if parent == nil && working.isEmpty { throw RepositoryError.nothingToCommit }
            }
            var parents = parent.map { [$0] } ?? []
            if let m = ws.merge { parents.append(m.theirs) }
            let hash = try writeCommit(root: working, parents: parents, author: author, date: date, message: text, flush: false)
            if ws.merge != nil {
                // The branch moves and the merge ends in one step.
                try moveBranchAndWorkingSet(branch, from: parent, to: hash, committedRoot: working.hash,
                                            workingSet: WorkingSet(root: working), expected: wsRef)
            } else {
                guard try store.flush(moving: [RefMove(RefName.branch(branch).description, expected: parent, new: hash)]) else {
                    throw RepositoryError.concurrentUpdate("branch \(branch)")
                }
            }
            return try commit(hash)
        }
    }

    /// Writes a commit of `root` (its root node first) and returns its hash. Moves no ref.
    /// With `flush` false the chunks stay buffered for the caller's next flush (one write
    /// transaction for the commit and the working set together).
    func writeCommit(root: ProllyMap, parents: [Hash], author: String, date: Int64, message: String,
                     flush: Bool = true) throws -> Hash {
        let rootHash = try root.persistRoot()
        var generation: UInt64 = 0
        for p in parents { generation = max(generation, try commit(p).generation) }
        let value = try Commit.value(root: rootHash, parents: parents, generation: generation + 1, author: author, date: date,
                                     message: message, store: store)
        let (encoded, refs) = try value.encodedWithRefs(store: store)
        let hash = try store.write([Format.version] + encoded, refs: refs)
        if flush { try store.flush() }
        return hash
    }

    // MARK: Branches and tags

    public func branches() throws -> [(name: String, commit: Hash)] {
        try chunks.refs(in: .heads).map { ($0.name, $0.hash) }
    }

    public func tags() throws -> [(name: String, commit: Hash)] {
        try chunks.refs(in: .tags).map { ($0.name, $0.hash) }
    }

    public func createBranch(_ name: String, at commit: Hash) throws {
        try Self.validateName(name, kind: "branch")
        guard try chunks.compareAndSwapRef(.branch(name), expected: nil, new: commit) else {
            throw RepositoryError.branchExists(name)
        }
    }

    /// Deletes branch `name` and its working set; returns the commit it pointed at, so it can
    /// be brought back. Unless `force`, a branch not merged into the current branch, or whose
    /// working set holds uncommitted changes or a merge, is refused, as git's `branch -d`.
    @discardableResult
    public func deleteBranch(_ name: String, force: Bool = false) throws -> Hash {
        guard let h = try chunks.ref(.branch(name)) else { throw RepositoryError.noSuchBranch(name) }
        let current = try currentBranch()
        if name == current { throw RepositoryError.cannotDeleteCurrentBranch(name) }
        let w = try chunks.ref(.working(name))
        if !force {
            let headCommit = try chunks.ref(.branch(current))
            guard let headCommit, try isAncestor(h, of: headCommit) else { throw RepositoryError.branchNotMerged(name, into: current) }
            if let w {
                let ws = try WorkingSet.read(w, store: store)
                let committed = try commit(h).root
                if ws.merge != nil || ws.root.hash != committed { throw RepositoryError.uncommittedChanges(branch: name) }
            }
        }
        var moves = [RefMove(RefName.branch(name).description, expected: h, new: nil)]
        if let w { moves.append(RefMove(RefName.working(name).description, expected: w, new: nil)) }
        guard try chunks.compareAndSwapRefs(moves) else { throw RepositoryError.concurrentUpdate("branch \(name)") }
        return h
    }

    /// Switches to `name`. Each branch keeps its own working set, so nothing is lost.
    public func checkout(_ name: String) throws {
        guard try chunks.ref(.branch(name)) != nil || name == currentBranch() else { throw RepositoryError.noSuchBranch(name) }
        try chunks.setSetting("core.head", name)
    }

    /// Creates `name` at `start` (default: HEAD) and switches to it, carrying the current
    /// working set over when it starts at HEAD, as git does.
    public func checkoutNewBranch(_ name: String, at start: Hash?) throws {
        try Self.validateName(name, kind: "branch")
        guard try chunks.ref(.branch(name)) == nil else { throw RepositoryError.branchExists(name) }
        let currentHead = try chunks.ref(.branch(currentBranch()))
        let carried = try workingRoot()
        if let start = start ?? currentHead {
            try createBranch(name, at: start)
        }
        let fromHead = start == nil || start == currentHead
        try chunks.setSetting("core.head", name)
        if fromHead {
            let fresh = try workingRoot(branch: name)
            if fresh.hash != carried.hash { try setWorkingRoot(carried, expected: fresh) }
        }
    }

    /// Points tag `name` at `commit`, creating it or, with `force`, moving it.
    public func setTag(_ name: String, at commit: Hash, force: Bool) throws {
        try Self.validateName(name, kind: "tag")
        let existing = try chunks.ref(.tag(name))
        if existing != nil && !force { throw RepositoryError.tagExists(name) }
        guard try chunks.compareAndSwapRef(.tag(name), expected: existing, new: commit) else {
            throw RepositoryError.concurrentUpdate("tag \(name)")
        }
    }

    public func deleteTag(_ name: String) throws {
        guard let h = try chunks.ref(.tag(name)) else { throw RepositoryError.noSuchTag(name) }
        _ = try chunks.compareAndSwapRef(.tag(name), expected: h, new: nil)
    }

    // MARK: Log

    /// History from `start`, newest first (by date, then hash), each commit once.
    public func log(from start: Hash, limit: Int = .max) throws -> [Commit] {
        var out: [Commit] = []
        var seen: Set<Hash> = [start]
        var frontier = [try commit(start)]
        while !frontier.isEmpty && out.count < limit {
            frontier.sort { $0.date != $1.date ? $0.date < $1.date : $0.hash < $1.hash }
            let c = frontier.removeLast()
            out.append(c)
            for p in c.parents where !seen.contains(p) {
                seen.insert(p)
                frontier.append(try commit(p))
            }
        }
        return out
    }
}
