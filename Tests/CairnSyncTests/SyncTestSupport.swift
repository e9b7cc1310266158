import CairnStore
import CairnValues
import CairnVersioning
@testable import CairnSync
import Foundation
import Testing

/// A store in a folder of its own under the temporary directory, removed at the end.
final class TempStore {
    let directory: String
    let chunks: SQLiteChunkStore
    let repo: Repository

    init(create: Bool = true) throws {
        directory = NSTemporaryDirectory() + "cairn-sync-" + UUID().uuidString
        chunks = try StoreDirectory.create(in: directory)
        repo = Repository(chunks: chunks)
    }

    deinit {
        chunks.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Sets `/NAME` to a Map of `count` entries `k00000000 → {score, name}`: a tree of a few levels.
    func putMap(_ name: String, count: Int, salt: String = "") throws {
        var entries: [(Value, Value)] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            let k = String(format: "k%08d", i)
            entries.append((.string(k), .string("row \(i) \(salt)")))
        }
        try repo.edit(at: ValuePath(parsing: "/" + name), value: .map(try ProllyMap.build(sorted: entries, store: repo.store)))
    }

    func set(_ path: String, _ value: Value?) throws {
        try repo.edit(at: ValuePath(parsing: path), value: value)
    }

    @discardableResult
    func commit(_ message: String) throws -> Commit {
        try repo.commitWorkingSet(message: message, author: "test", date: 1_700_000_000)
    }

    func local() -> LocalRemote { LocalRemote(service: StoreService(store: chunks), path: directory) }

    func session(_ remote: any SyncRemote, name: String = "origin") -> SyncSession {
        SyncSession(repo: repo, remoteName: name, remote: remote)
    }

    /// Every chunk reachable from `roots`, read through the store.
    func reachable(_ roots: [Hash]) throws -> Set<Hash> {
        var seen = Set(roots)
        var frontier = roots
        while !frontier.isEmpty {
            let got = try chunks.getMany(frontier)
            frontier = []
            for h in got.keys.sorted() {
                for r in try ChunkReferences.of(got[h]!) where !seen.contains(r) {
                    seen.insert(r)
                    frontier.append(r)
                }
            }
        }
        return seen
    }

    func refs() throws -> [String: Hash] {
        Dictionary(try chunks.refs(prefix: "").map { ($0.name, $0.hash) }, uniquingKeysWith: { a, _ in a })
    }
}
