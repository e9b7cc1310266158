import CairnStore
import CairnValues
import CairnVersioning
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SyncSession {
    public struct FetchReport: Sendable {
        /// Each ref that moved here: `remotes/R/B` or `tags/T`, from `old` (nil: new) to `new`
        /// (nil: pruned).
        public var updated: [(ref: String, old: Hash?, new: Hash?)] = []
        /// Tags the remote has at another commit than this store's: left as they are.
        public var tagsKept: [String] = []
        public var chunksReceived = 0
        public var bytesReceived = 0
    }

    /// Receives what the remote's branches and tags reach that this store lacks, then sets
    /// `remotes/REMOTE/BRANCH` for each branch and creates tags this store lacks. With `prune`,
    /// tracking refs whose branch is gone are dropped. With `branches`, also moves local
    /// branches of the same names (a clone); `haveChunks` names chunks held already (a
    /// resumed clone).
    @discardableResult
    public func fetch(prune: Bool = false, createBranches: Bool = false, haveChunks: [Hash] = []) async throws -> FetchReport {
        try await fetch(prune: prune, createBranches: createBranches, haveChunks: haveChunks) { _, _ in [] }
    }

    /// `alsoMove` gives ref moves to make in the same transaction as the last batch and the
    /// tracking refs, judged on a repository that sees that batch, and the remote's refs.
    func fetch(prune: Bool = false, createBranches: Bool = false, haveChunks: [Hash] = [],
               alsoMove: (Repository, [String: Hash]) throws -> [RefMove]) async throws -> FetchReport {
        SyncTrace.mark("fetch: start")
        // This remote's tracking refs first (the commits it surely knows), then this store's
        // branches and tags: with `fetch-refs` the remote sends what its refs reach beyond these.
        var haves = try trackedHeads()
        var known = Set(haves)
        for h in try repo.branches().map(\.commit) + repo.tags().map(\.commit) where known.insert(h).inserted { haves.append(h) }
        let r = ChunkReceiver(store: chunks)
        let progress = self.progress
        r.progress = { [weak r] c, b in
            progress?(SyncProgress(chunks: c, totalChunks: r?.expectedChunks ?? 0, bytes: b))
        }
        // The refs and what they reach, in one exchange where the remote can (docs/protocol.md).
        // With more heads than that names (the server reads each have's commit), the refs are
        // listed first and only the targets this store lacks are asked for, the first 1,024
        // heads as haves: nothing it holds is sent again.
        let request = FetchRequest(wants: [], haves: Array(haves.prefix(Self.maxHaves)), haveChunks: haveChunks)
        let refs = haves.count <= Self.maxHaves ? try await remote.fetchRefs(request, into: r)
            : try await remote.fetchRefsByListing(request, into: r)
        SyncTrace.mark("fetch: received")
        var report = FetchReport()
        let receiver: ChunkReceiver? = r.chunks + r.pendingCount > 0 ? r : nil

        var moves: [RefMove] = []
        let trackingPrefix = RefName.Namespace.remotes.prefix + remoteName + "/"
        var stale = Dictionary(try chunks.refs(prefix: trackingPrefix).map { ($0.name, $0.hash) }, uniquingKeysWith: { a, _ in a })
        for r in refs {
            guard let name = RefName(stored: r.name) else { continue }
            switch name.namespace {
            case .heads:
                let t = tracking(name.name).description
                let before = stale.removeValue(forKey: t)
                if before != r.hash {
                    moves.append(RefMove(t, expected: before, new: r.hash))
                    report.updated.append((t, before, r.hash))
                }
                if createBranches {
                    let local = try chunks.ref(.branch(name.name))
                    if local != r.hash { moves.append(RefMove(RefName.branch(name.name).description, expected: local, new: r.hash)) }
                }
            case .tags:
                let local = try chunks.ref(.tag(name.name))
                if local == nil {
                    moves.append(RefMove(r.name, expected: nil, new: r.hash))
                    report.updated.append((r.name, nil, r.hash))
                } else if local != r.hash {
                    report.tagsKept.append(name.name)
                }
            default:
                continue
            }
        }
        if prune {
            for (t, h) in stale.sorted(by: { $0.key < $1.key }) {
                moves.append(RefMove(t, expected: h, new: nil))
                report.updated.append((t, h, nil))
            }
        }
        let listed = Dictionary(refs.map { ($0.name, $0.hash) }, uniquingKeysWith: { a, _ in a })
        let seen = receiver.map { r in Repository(chunks: PendingOverlay(chunks) { try r.pendingChunk($0) }) } ?? repo
        SyncTrace.mark("fetch: refs to move")
        moves += try alsoMove(seen, listed)
        SyncTrace.mark("fetch: judged the extra moves")
        // The last batch and the ref moves go in one transaction; a ref moves only onto a chunk
        // that is there, so nothing moves onto a graph that did not arrive whole.
        let moved: Bool
        do {
            moved = try receiver.map { try $0.flush(moving: moves) } ?? (moves.isEmpty || chunks.compareAndSwapRefs(moves))
        } catch StoreError.refTargetMissing(_, let target) {
            throw SyncError.unavailable("the remote did not send \(target)")
        }
        if let receiver {
            if !moved { try receiver.flush(moving: []) }
            report.chunksReceived = receiver.chunks
            report.bytesReceived = receiver.bytes
        } else {
            r.endWriting()
        }
        if !moved { throw RepositoryError.concurrentUpdate("the remote-tracking refs of \(remoteName)") }
        SyncTrace.mark("fetch: stored, refs moved")
        return report
    }

    /// The most haves a fetch request here names (a server takes up to 4,096, docs/protocol.md).
    static let maxHaves = 1024

    // MARK: Pull

    public struct PullReport: Sendable {
        public var fetch: FetchReport
        public var merge: MergeReport
    }

    /// Fetches, then merges `REMOTE/BRANCH` (default: the current branch's name) into the
    /// current branch: a fast-forward when it can, else a three-way merge with the rules in
    /// the data; conflicts are kept as `merge` keeps them.
    public func pull(branch: String? = nil, author: String, date: Int64 = Int64(time(nil))) async throws -> PullReport {
        let current = try repo.currentBranch()
        let theirsName = branch ?? current
        // A fast-forward onto a clean working set moves the branch in the fetch's own
        // transaction: one write instead of two.
        var fastForwarded: Hash?
        let fetched = try await fetch { seen, listed in
            guard let theirs = listed[RefName.branch(theirsName).description],
                  let head = try chunks.ref(.branch(current)), head != theirs,
                  try seen.isAncestor(head, of: theirs) else { return [] }
            // A merge in progress counts as dirty; no working set ref is clean (nothing read).
            let w = try repo.workingSetState(branch: current)
            guard !w.dirty else { return [] }
            fastForwarded = theirs
            return [RefMove(RefName.branch(current).description, expected: head, new: theirs),
                    RefMove(RefName.working(current).description, expected: w.ref, new: nil)]
        }
        if let fastForwarded {
            SyncTrace.mark("pull: fast-forwarded")
            return PullReport(fetch: fetched, merge: MergeReport(kind: .fastForward, commit: fastForwarded, conflicts: []))
        }
        guard let theirs = try chunks.ref(tracking(theirsName)) else {
            throw SyncError.noSuchRemoteBranch(remote: remoteName, branch: theirsName)
        }
        SyncTrace.mark("pull: fetched")
        let merge = try repo.mergeIntoCurrentBranch(theirs, message: "Merge branch '\(theirsName)' of \(remoteName) into \(current)",
                                                    author: author, date: date)
        SyncTrace.mark("pull: merged")
        return PullReport(fetch: fetched, merge: merge)
    }
}
