// `cairn-bench merge` and `cairn-bench merge-base`: the merge figures of issue 9, timed in
// process around what `dolt_merge` does (merge, commit, ref move), beside doltlite_ref.py's
// `merge_ms`.
import CairnStore
import CairnValues
import CairnVersioning
import Foundation

/// Sets column `name` of the rows at `indexes` of table `rows` to `"LABEL-i"`, in the working
/// set, in one batch, and commits.
func editRows(_ repo: Repository, indexes: [Int], label: String) throws {
    let root = try repo.workingRoot()
    guard case .table(let t)? = try root.get(.string("rows")) else { fatalError("no table rows") }
    let slot = t.schema.column(named: "name")!.slot!
    var edits: [(key: [Value], cells: [Value?]?)] = []
    for (i, r) in indexes.enumerated() {
        let key: [Value] = [.string(String(format: "k%08d", r))]
        var cells = try t.row(key: key)!
        cells[slot] = .string("\(label)-\(i)")
        edits.append((key, cells))
    }
    try repo.replaceValue("rows", with: .table(try t.editing(edits)))
    _ = try repo.commitWorkingSet(message: label, author: "bench")
}

/// Makes branch `feature` from main, 1000 edits on each side (disjoint: the rows
/// doltlite_ref.py edits; random: rows anywhere, most leaves touched), and leaves main checked
/// out. Returns the feature branch's head.
func setUpMerge(_ repo: Repository, pattern: String, feature: String) throws -> Hash {
    let head = try repo.head()!
    guard case .table(let t)? = try repo.root(of: head).get(.string("rows")) else { fatalError("no table rows") }
    let n = Int(t.count)
    var rng = SplitMix64(seed: 42)
    var mainRows: [Int], featureRows: [Int]
    if pattern == "disjoint" {
        mainRows = (0..<1000).map { ($0 * 2) % n }
        featureRows = (0..<1000).map { (n - 1 - $0 * 2) % n }
    } else {
        // Random rows, the two sides' sets apart.
        var seen = Set<Int>()
        func pick() -> Int { while true { let r = Int(rng.next() % UInt64(n)); if seen.insert(r).inserted { return r } } }
        mainRows = (0..<1000).map { _ in pick() }
        featureRows = (0..<1000).map { _ in pick() }
    }
    try repo.createBranch(feature, at: head.hash)
    try editRows(repo, indexes: mainRows, label: "main")
    try repo.checkout(feature)
    try editRows(repo, indexes: featureRows, label: "feat")
    let f = try repo.head()!.hash
    try repo.checkout("main")
    return f
}

/// Again on an existing history (for profiling): `cairn-bench merge-base-again WORKDIR`.
func mergeBaseAgain(work: String) throws {
    let chunks = try StoreDirectory.open(in: work)
    let a = try chunks.ref("heads/main")!, b = try chunks.ref("heads/other")!
    let repo = Repository(chunks: chunks)
    var c = try repo.commit(a)
    while let p = c.parents.first { c = try repo.commit(p) }
    chunks.close()
    for _ in 0..<5 { try timeMergeBase(work: work, a: a, b: b, root: c.hash) }
}

func mergeBench(storeDir: String, pattern: String, setupOnly: Bool) throws {
    let chunks = try StoreDirectory.open(in: storeDir)
    defer { chunks.close() }
    let repo = Repository(chunks: chunks)
    let feature = "bench-\(pattern)"
    let f = try setUpMerge(repo, pattern: pattern, feature: feature)
    if setupOnly { return }
    if ProcessInfo.processInfo.environment["CAIRN_BENCH_BASES"] != nil {
        let ours = try repo.head()!.hash
        for _ in 0..<3 {
            let t = try seconds { _ = try repo.mergeBases(ours, f) }
            let g = try seconds { _ = try chunks.getMany([ours, f]) }
            let c = try seconds { _ = try repo.commit(ours) }
            print("bases", t * 1000, "getMany", g * 1000, "commit", c * 1000)
        }
    }
    if ProcessInfo.processInfo.environment["CAIRN_BENCH_MERGE_LOOP"] != nil {
        // For profiling: the merge alone, many times.
        let ours = try repo.head()!.hash
        var out: CommitMerge!
        let t = try seconds { for _ in 0..<200 { out = try repo.merge(ours: ours, theirs: f) } }
        precondition(out.kind == .merged)
        figure("merge_only_\(pattern)_ms", t * 1000 / 200, "ms")
        // The whole merge (commit and ref moves too), from the same start each time.
        let wsRef = try chunks.ref("working/main")
        let t2 = try seconds {
            for i in 0..<100 {
                let r = try repo.mergeIntoCurrentBranch(f, message: "merge \(i)", author: "bench")
                let now = try chunks.ref("working/main")
                let back = try chunks.compareAndSwapRefs([RefMove("heads/main", expected: r.commit, new: ours),
                                                          RefMove("working/main", expected: now, new: wsRef)])
                precondition(back)
            }
        }
        figure("merge_full_loop_\(pattern)_ms", t2 * 1000 / 100, "ms")
    }
    var report: MergeReport!
    let t = try seconds {
        report = try repo.mergeIntoCurrentBranch(f, message: "merge", author: "bench")
    }
    precondition(report.kind == .merged && report.conflicts.isEmpty, "the merge did not merge cleanly")
    figure("merge_\(pattern)_ms", t * 1000, "ms")
}

/// A history of 10,000 commits on each of two branches from one root, then the merge base of
/// their heads from a fresh store handle.
func mergeBaseBench(work: String) throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let chunks = try StoreDirectory.create(in: work)
    let repo = Repository(chunks: chunks)
    let root = try repo.commitWorkingSet(message: "root", author: "bench", allowEmpty: true)
    try repo.createBranch("other", at: root.hash)
    for i in 0..<10_000 { _ = try repo.commitWorkingSet(message: "main \(i)", author: "bench", allowEmpty: true) }
    try repo.checkout("other")
    for i in 0..<10_000 { _ = try repo.commitWorkingSet(message: "other \(i)", author: "bench", allowEmpty: true) }
    let a = try chunks.ref("heads/main")!, b = try chunks.ref("heads/other")!
    chunks.close()
    try timeMergeBase(work: work, a: a, b: b, root: root.hash)
}

/// The merge base of `a` and `b` in the store at `work`, from a fresh store handle.
func timeMergeBase(work: String, a: Hash, b: Hash, root: Hash) throws {
    let chunks = try StoreDirectory.open(in: work)
    let repo = Repository(chunks: chunks)
    var bases: [Hash] = []
    let t = try seconds { bases = try repo.mergeBases(a, b) }
    precondition(bases == [root])
    figure("merge_base_10k_ms", t * 1000, "ms")
    chunks.close()
}
