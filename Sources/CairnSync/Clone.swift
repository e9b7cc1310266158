import CairnStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CairnValues
import CairnVersioning

/// `cairn clone URL DIR`: a new store with every branch and tag of the remote, `origin` set
/// to URL, and the remote's `main` (or its only branch) checked out. A clone that failed or was
/// killed leaves DIR with what it had received, marked by the local setting `clone.pending`;
/// running it again into DIR resumes it and moves only what is missing.
public enum Clone {
    public static let pendingSetting = "clone.pending"

    /// Creates the store in `directory`, or opens the unfinished clone of `url` there. Anything
    /// else in `directory` is ``SyncError/cloneTargetNotEmpty(_:)``.
    public static func prepare(directory: String, url: String, token: String?) throws -> (store: SQLiteChunkStore, resuming: Bool) {
        let folder = StoreDirectory.absolute(directory)
        if StoreDirectory.isDirectory(folder + "/" + StoreDirectory.folderName) {
            let store = try StoreDirectory.open(in: folder)
            guard try store.setting(pendingSetting) == url else {
                store.close()
                throw SyncError.cloneTargetNotEmpty(directory)
            }
            return (store, true)
        }
        if StoreDirectory.isDirectory(folder), !isEmptyDirectory(folder) { throw SyncError.cloneTargetNotEmpty(directory) }
        let store = try StoreDirectory.create(in: folder)
        try store.setSetting(pendingSetting, url)
        try Remotes(store).add("origin", url: url, token: token)
        return (store, false)
    }

    /// Receives everything and sets the branches, tags and HEAD.
    public static func run(_ session: SyncSession, resuming: Bool) async throws -> SyncSession.FetchReport {
        let have = resuming ? try heldRoots(session.repo.chunks) : []
        let report = try await session.fetch(createBranches: true, haveChunks: have)
        let branches = try session.repo.branches().map(\.name)
        let head = branches.contains(Repository.defaultBranch) || branches.count != 1 ? Repository.defaultBranch : branches[0]
        try session.repo.chunks.setSetting("core.head", head)
        try session.repo.chunks.setSetting(pendingSetting, nil)
        return report
    }

    /// The chunks a partial clone holds that no chunk it holds references: the tops of the
    /// complete subtrees it received. Everything it holds is under one of them, so they are all
    /// the server needs to skip what is here (at most 65,536, which every server accepts; past
    /// that, some held subtrees are sent again).
    static func heldRoots(_ store: any ChunkStore) throws -> [Hash] {
        var held: [Hash] = []
        try store.forEachHash { held.append($0) }
        var referenced = Set<Hash>()
        for start in stride(from: 0, to: held.count, by: 1024) {
            let part = Array(held[start..<min(held.count, start + 1024)])
            for (_, chunk) in try store.getMany(part) { referenced.formUnion(try ChunkReferences.of(chunk)) }
        }
        return Array(held.lazy.filter { !referenced.contains($0) }.prefix(65_536))
    }

    static func isEmptyDirectory(_ path: String) -> Bool {
        guard let d = opendir(path) else { return true }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { return false }
        }
        return true
    }
}
