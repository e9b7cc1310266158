import CairnStore
import CairnValues
import CairnVersioning

/// The serving side of sync over one local store: what `cairn serve` answers and what a push to
/// or a fetch from a store on disk runs. It keeps no state beyond the store, so any process
/// that opens the same store answers the same.
public final class StoreService: @unchecked Sendable {
    public let repo: Repository
    public var chunks: any ChunkStore & LocalSettings { repo.chunks }

    public init(store: any ChunkStore & LocalSettings) {
        repo = Repository(chunks: store)
    }

    /// Branches and tags, sorted by name. Working sets, remote-tracking refs and local
    /// settings never leave the store.
    public func refs() throws -> [(name: String, hash: Hash)] {
        try chunks.refs(prefix: RefName.Namespace.heads.prefix) + chunks.refs(prefix: RefName.Namespace.tags.prefix)
    }

    public func hasMany(_ hashes: [Hash]) throws -> Set<Hash> { try chunks.hasMany(hashes) }

    public func getStored(_ hashes: [Hash]) throws -> [StoredChunk] { try chunks.getStored(hashes) }

    /// What a fetch sends, children first, as batches read while they are sent. A want the
    /// store lacks is ``SyncError/missingChunk(_:)``, thrown before anything is sent.
    /// - When the client has some of this store's commits, the planner diffs against them and
    ///   the plan is sent in its order (`totalChunks` exact).
    /// - Else (a clone, a resumed clone), a depth-first walk sends everything not among the
    ///   client's chunks as it reads it (`totalChunks` the store's chunk count, an estimate).
    public func fetchBatches(_ request: FetchRequest) async throws -> ChunkBatches {
        let present = try chunks.hasMany(request.wants)
        if let absent = request.wants.first(where: { !present.contains($0) }) { throw SyncError.missingChunk(absent) }
        let haves = try chunks.hasMany(request.haves)
        if haves.isEmpty {
            let store = chunks
            let wants = request.wants, skip = Set(request.haveChunks)
            let estimate = max(0, try store.stats().chunks - skip.count)
            return ChunkBatches(totalChunks: estimate) {
                let walk = Locked(DepthFirstStream(store: store, wants: wants, skip: skip))
                return { try walk.withLock { try $0.next() } }
            }
        }
        let held = Set(request.haveChunks)
        let oracle: SendPlanner.Oracle? = held.isEmpty ? nil : { @Sendable hs in Set(hs.filter { held.contains($0) }) }
        let plan = try await SendPlanner(source: chunks, receiverHas: oracle).plan(wants: request.wants, haves: Array(haves))
        return batches(plan)
    }

    /// What a `fetch-refs` answers: the branches and tags, and the batches of a fetch whose wants
    /// are their targets (after `request.wants`), but for those among the haves: the client has
    /// those, and a want that is a have would have the planner walk down to it for nothing.
    public func fetchRefsBatches(_ request: FetchRequest) async throws -> (refs: [(name: String, hash: Hash)], batches: ChunkBatches) {
        let listed = try refs()
        var wants = request.wants
        var seen = Set(wants).union(request.haves)
        for r in listed where seen.insert(r.hash).inserted { wants.append(r.hash) }
        let batches = wants.isEmpty ? ChunkBatches.empty
            : try await fetchBatches(FetchRequest(wants: wants, haves: request.haves, haveChunks: request.haveChunks))
        return (listed, batches)
    }

    /// The stored chunks of `plan`, in its order, in batches of about `batchBytes` and at most
    /// ``ChunkBatches/maxBatchChunks`` chunks.
    public func batches(_ plan: [Hash], batchBytes: Int = 1 << 20) -> ChunkBatches {
        Self.batches(of: plan, from: chunks, batchBytes: batchBytes)
    }

    static func batches(of plan: [Hash], from store: any ChunkStore, batchBytes: Int = 1 << 20,
                        onBatch: (@Sendable ([StoredChunk]) -> Void)? = nil) -> ChunkBatches {
        ChunkBatches(totalChunks: plan.count) {
            // Read 32 at a time; what passes the batch's size waits for the next batch.
            let state = Locked((position: 0, carry: [StoredChunk]()))
            return {
                try state.withLock { st in
                    var out: [StoredChunk] = []
                    var bytes = 0
                    while bytes < batchBytes && out.count < ChunkBatches.maxBatchChunks {
                        if st.carry.isEmpty {
                            guard st.position < plan.count else { break }
                            let end = min(plan.count, st.position + 32)
                            let part = Array(plan[st.position..<end])
                            let got = try store.getStored(part)
                            guard got.count == part.count else {
                                let have = Set(got.map(\.hash))
                                throw SyncError.missingChunk(part.first { !have.contains($0) }!)
                            }
                            st.carry = got.reversed()
                            st.position = end
                        }
                        let c = st.carry.removeLast()
                        bytes += c.bytes.count
                        out.append(c)
                    }
                    guard !out.isEmpty else { return nil }
                    onBatch?(out)
                    return out
                }
            }
        }
    }

    /// Applies a push's ref updates once its chunks are stored, each by compare-and-swap, and
    /// answers for each (all move in one step when none is refused). Rules (docs/protocol.md),
    /// checked in this order:
    /// - only `heads/NAME` and `tags/NAME`, NAME a valid branch or tag name, each once;
    /// - a ref already at `new` is ok (a retried push);
    /// - `new` must be a commit in the store;
    /// - the ref must be at `old`, force or not (force is git's `--force-with-lease`);
    /// - without force, a branch moves only to a descendant, and a tag that exists does not move;
    /// - the branch checked out in this store is not deleted;
    /// - a branch whose working set holds uncommitted changes does not move; a clean one is
    ///   dropped with the move, so the branch's working set follows the new commit.
    ///
    /// With `landing`, the receiver of the push's chunks, the rules are judged on the store as
    /// it will be with the receiver's last batch, and that batch is written with the moves in one
    /// transaction (a small push is then one write); should a ref have moved meanwhile, the
    /// batch is written alone and each update tried alone.
    public func applyUpdates(_ updates: [RefUpdate], landing receiver: ChunkReceiver? = nil) throws -> [RefUpdateResult] {
        var results: [RefUpdateResult?] = Array(repeating: nil, count: updates.count)
        var planned: [(index: Int, moves: [RefMove])] = []
        var names = Set<String>()
        let seen = receiver.map { r in Repository(chunks: PendingOverlay(chunks) { try r.pendingChunk($0) }) } ?? repo
        for (i, u) in updates.enumerated() {
            guard names.insert(u.name).inserted else {
                results[i] = RefUpdateResult(name: u.name, outcome: .rejected(.invalid, current: nil))
                continue
            }
            switch try check(u, in: seen) {
            case .done(let r): results[i] = r
            case .move(let moves): planned.append((i, moves))
            }
        }
        let moves = planned.flatMap(\.moves)
        var moved: Bool
        if let receiver {
            moved = try receiver.flush(moving: moves)
            if !moved { try receiver.flush(moving: []) }
        } else {
            moved = try chunks.compareAndSwapRefs(moves)
        }
        if moved {
            for p in planned { results[p.index] = RefUpdateResult(name: updates[p.index].name, outcome: .ok) }
        } else {
            // Some ref moved meanwhile: each is tried alone.
            for p in planned {
                let u = updates[p.index]
                switch try check(u, in: repo) {
                case .done(let r): results[p.index] = r
                case .move(let moves):
                    let ok = try chunks.compareAndSwapRefs(moves)
                    results[p.index] = ok ? RefUpdateResult(name: u.name, outcome: .ok)
                        : RefUpdateResult(name: u.name, outcome: .rejected(.stale, current: try chunks.ref(u.name)))
                }
            }
        }
        return results.map { $0! }
    }

    private enum Check { case done(RefUpdateResult); case move([RefMove]) }

    private func check(_ u: RefUpdate, in repo: Repository) throws -> Check {
        let chunks = repo.chunks
        func reject(_ reason: RefUpdateResult.Reason, _ current: Hash? = nil) -> Check {
            .done(RefUpdateResult(name: u.name, outcome: .rejected(reason, current: current)))
        }
        guard let ref = RefName(stored: u.name), ref.namespace == .heads || ref.namespace == .tags,
              (try? Repository.validateName(ref.name, kind: "ref")) != nil else { return reject(.invalid) }
        let current = try chunks.ref(u.name)
        if current == u.new { return .done(RefUpdateResult(name: u.name, outcome: .ok)) }
        if let new = u.new {
            guard let chunk = try chunks.get(new) else { return reject(.missing, current) }
            guard try Commit.graphInfoIfCommit(chunk, store: repo.store) != nil else { return reject(.notACommit, current) }
        }
        if current != u.old { return reject(.stale, current) }
        if !u.force {
            if ref.namespace == .tags, current != nil { return reject(.exists, current) }
            if ref.namespace == .heads, let old = u.old, let new = u.new, !(try repo.isAncestor(old, of: new)) {
                return reject(.nonFastForward, current)
            }
        }
        var moves = [RefMove(u.name, expected: current, new: u.new)]
        if ref.namespace == .heads {
            if u.new == nil, try repo.currentBranch() == ref.name { return reject(.checkedOut, current) }
            let w = try repo.workingSetState(branch: ref.name)
            if w.dirty { return reject(.dirty, current) }
            // The working set moves with the branch, also when it is implied (no ref): a local
            // edit that writes one meanwhile makes the move fail rather than undo the push later.
            moves.append(RefMove(RefName.working(ref.name).description, expected: w.ref, new: nil))
        }
        return .move(moves)
    }
}
