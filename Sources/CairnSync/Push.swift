import CairnStore
import CairnValues
import CairnVersioning

/// How far a transfer has gone, for a progress bar.
public struct SyncProgress: Sendable {
    public let chunks: Int
    /// Zero when the total is not known yet.
    public let totalChunks: Int
    public let bytes: Int
}

/// Push, fetch, pull and clone between a repository and one remote (docs/sync.md). The same
/// code runs whether the remote is a store on disk or a server.
public final class SyncSession: @unchecked Sendable {
    public let repo: Repository
    public let remoteName: String
    public let remote: any SyncRemote
    public var progress: (@Sendable (SyncProgress) -> Void)?

    public init(repo: Repository, remoteName: String, remote: any SyncRemote) {
        self.repo = repo
        self.remoteName = remoteName
        self.remote = remote
    }

    var chunks: any ChunkStore & LocalSettings { repo.chunks }

    func tracking(_ branch: String) -> RefName { .remote(remoteName, branch) }

    /// The hashes of this remote's tracking refs: what the remote is known to hold.
    func trackedHeads() throws -> [Hash] {
        Array(Set(try chunks.refs(prefix: RefName.Namespace.remotes.prefix + remoteName + "/").map(\.hash)))
    }

    // MARK: Push

    public struct PushReport: Sendable {
        /// One line a ref, as git prints them: `main -> main`, `[new branch]`, `[deleted]`.
        public var updated: [(ref: String, old: Hash?, new: Hash?)] = []
        public var upToDate = true
        public var chunksSent = 0
        public var bytesSent = 0
    }

    /// Sends `branch` (and with `tags` every tag) and moves the remote's refs by
    /// compare-and-swap. Refused refs throw ``SyncError/rejected(_:)`` after the others moved.
    public func push(branch: String, remoteBranch: String? = nil, force: Bool = false, tags: Bool = false,
                     delete: Bool = false) async throws -> PushReport {
        let target = remoteBranch ?? branch
        try Repository.validateName(target, kind: "branch")
        let headName = RefName.branch(target).description
        // One request when the tracking ref says where the remote's branch is and this branch
        // descends from it: the server's compare-and-swap checks that it is still there.
        if !tags && !delete, let local = try chunks.ref(.branch(branch)), let known = try chunks.ref(tracking(target)),
           known != local, try chunks.has(known), try repo.isAncestor(known, of: local) {
            let update = RefUpdate(name: headName, old: known, new: local, force: force)
            var report = PushReport()
            if let results = try await send([update], wants: [local], haves: try trackedHeads(), report: &report),
               let r = results.first {
                switch r.outcome {
                case .ok:
                    _ = try chunks.compareAndSwapRef(tracking(target).description, expected: known, new: local)
                    report.updated.append((headName, known, local))
                    report.upToDate = false
                    return report
                case .rejected(.stale, _):
                    break  // the remote moved since: ask it where it is, below
                case .rejected(let reason, let current):
                    throw SyncError.rejected([Self.explain(update, reason, current)])
                }
            }
        }
        // What the remote has now, as git asks before a push: the compare-and-swap's `old`.
        let listed = Dictionary(try await remote.listRefs().map { ($0.name, $0.hash) }, uniquingKeysWith: { a, _ in a })
        var updates: [RefUpdate] = []
        var rejected: [String] = []
        // With force, the lease is what this store last saw (the tracking ref), so a forced
        // push never overwrites commits pushed since that it has not fetched.
        let seen = try chunks.ref(tracking(target))
        let old = force && seen != nil ? seen : listed[headName]
        if delete {
            guard let old else { throw SyncError.noSuchRemoteBranch(remote: remoteName, branch: target) }
            updates.append(RefUpdate(name: headName, old: old, new: nil, force: force))
        } else {
            guard let local = try chunks.ref(.branch(branch)) else { throw RepositoryError.unbornBranch(branch) }
            if old != local {
                if !force, let old, !(try chunks.has(old) && repo.isAncestor(old, of: local)) {
                    throw SyncError.rejected(["\(branch) -> \(target) rejected: the remote has commits this store lacks (fetch or pull first, or push --force)"])
                }
                updates.append(RefUpdate(name: headName, old: old, new: local, force: force))
            } else if try chunks.ref(tracking(target)) != local {
                // Already there: only the tracking ref moves.
                let t = tracking(target)
                _ = try chunks.compareAndSwapRef(t.description, expected: chunks.ref(t), new: local)
            }
        }
        if tags {
            for t in try repo.tags() {
                let name = RefName.tag(t.name).description
                let current = listed[name]
                if current == t.commit { continue }
                if current != nil && !force {
                    rejected.append("tag \(t.name) rejected: it exists on the remote (push --force to move it)")
                    continue
                }
                updates.append(RefUpdate(name: name, old: current, new: t.commit, force: force))
            }
        }
        guard updates.count <= Int(UInt16.max) else {
            throw SyncError.rejected(["a push moves at most \(UInt16.max) refs; push fewer tags at once"])
        }
        if updates.isEmpty {
            if !rejected.isEmpty { throw SyncError.rejected(rejected) }
            return PushReport()
        }

        var report = PushReport()
        let wants = Array(Set(updates.compactMap(\.new)))
        // What the remote is known to hold: its refs that are here, and the tracking refs.
        let listedHere = try chunks.hasMany(Array(Set(listed.values)))
        let haves = Array(listedHere.union(try trackedHeads()))
        var results = try await send(updates, wants: wants, haves: haves, report: &report)
        // Tracking refs that were stale (the remote lacked what they said): once more, asking;
        // and should the store's recorded references have been short, once more reading
        // every chunk.
        if results == nil && !haves.isEmpty { results = try await send(updates, wants: wants, haves: [], report: &report) }
        if results == nil { results = try await send(updates, wants: wants, haves: [], readChunks: true, report: &report) }
        guard let results else { throw SyncError.unavailable("the remote keeps refusing the push as incomplete") }

        var moves: [RefMove] = []
        for (u, r) in zip(updates, results) {
            switch r.outcome {
            case .ok:
                if let ref = RefName(stored: u.name), ref.namespace == .heads {
                    let t = tracking(ref.name)
                    let before = try chunks.ref(t)
                    if before != u.new { moves.append(RefMove(t.description, expected: before, new: u.new)) }
                }
                if u.old != u.new {
                    report.updated.append((u.name, u.old, u.new))
                    report.upToDate = false
                }
            case .rejected(let reason, let current):
                rejected.append(Self.explain(u, reason, current))
            }
        }
        if !moves.isEmpty { _ = try chunks.compareAndSwapRefs(moves) }
        if !rejected.isEmpty { throw SyncError.rejected(rejected) }
        return report
    }

    /// Plans and sends; nil when the remote says a chunk's children are missing (what was
    /// thought shared was not), so the caller plans again from nothing known.
    private func send(_ updates: [RefUpdate], wants: [Hash], haves: [Hash], readChunks: Bool = false,
                      report: inout PushReport) async throws -> [RefUpdateResult]? {
        let remote = self.remote
        let oracle: SendPlanner.Oracle? = haves.isEmpty ? { @Sendable hs in try await remote.hasMany(hs) } : nil
        SyncTrace.mark("push: start")
        let plan = try await SendPlanner(source: chunks, receiverHas: oracle, useRecordedRefs: !readChunks).plan(wants: wants, haves: haves)
        SyncTrace.mark("push: planned \(plan.count) chunks")
        let store = chunks
        let progress = self.progress
        let sent = Locked((chunks: 0, bytes: 0))
        do {
            let results = try await remote.push(updates) {
                sent.withLock { $0 = (0, 0) }  // counted afresh on each attempt
                return StoreService.batches(of: plan, from: store) { b in
                    let now = sent.withLock { s in
                        s.chunks += b.count
                        s.bytes += b.reduce(0) { $0 + $1.bytes.count }
                        return s
                    }
                    progress?(SyncProgress(chunks: now.chunks, totalChunks: plan.count, bytes: now.bytes))
                }
            }
            SyncTrace.mark("push: sent")
            let s = sent.withLock { $0 }
            report.chunksSent += s.chunks
            report.bytesSent += s.bytes
            guard results.map(\.name) == updates.map(\.name) else {
                throw SyncError.unavailable("the remote's answer to the push does not name the refs it was sent")
            }
            // A target the remote lacks though the tracking refs said it had it: plan again.
            if !haves.isEmpty, results.contains(where: { if case .rejected(.missing, _) = $0.outcome { true } else { false } }) {
                return nil
            }
            return results
        } catch SyncError.refused(_, "incomplete", _) where !haves.isEmpty || !readChunks {
            return nil
        } catch SyncError.refused(_, "missing_target", _) where !haves.isEmpty {
            return nil
        } catch StoreError.missingReferences where !haves.isEmpty || !readChunks {
            return nil  // the same, from a store on disk
        }
    }

    static func explain(_ u: RefUpdate, _ reason: RefUpdateResult.Reason, _ current: Hash?) -> String {
        let name = RefName(stored: u.name).map { $0.namespace == .tags ? "tag \($0.name)" : $0.name } ?? u.name
        switch reason {
        case .stale, .nonFastForward:
            return "\(name) rejected: the remote has commits this store lacks (fetch or pull first, or push --force)"
        case .exists: return "\(name) rejected: it exists on the remote (push --force to move it)"
        case .dirty: return "\(name) rejected: the remote's working set of \(name) holds uncommitted changes"
        case .missing: return "\(name) rejected: the remote lacks its commit"
        case .invalid: return "\(name) rejected: not a valid branch or tag name"
        case .notACommit: return "\(name) rejected: its target is not a commit"
        case .checkedOut: return "\(name) rejected: it is the branch checked out in the remote store"
        }
    }
}

