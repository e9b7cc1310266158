import CairnStore
import CairnVersioning

/// The remotes a store knows, kept in its local settings (they never sync):
/// `remote.NAME.url` and `remote.NAME.token`.
public struct Remotes {
    public let settings: any LocalSettings

    public init(_ settings: any LocalSettings) { self.settings = settings }

    public struct Remote: Sendable, Equatable {
        public let name: String
        public let url: String
        public let token: String?
    }

    public func list() throws -> [Remote] {
        try settings.settings(prefix: "remote.").compactMap { s -> String? in
            s.name.hasSuffix(".url") ? String(s.name.dropFirst("remote.".count).dropLast(".url".count)) : nil
        }.sorted().compactMap { try get($0) }
    }

    public func get(_ name: String) throws -> Remote? {
        guard let url = try settings.setting("remote.\(name).url") else { return nil }
        return Remote(name: name, url: url, token: try settings.setting("remote.\(name).token"))
    }

    /// The remote called `name`, or ``SyncError/unknownRemote(_:)``.
    public func require(_ name: String) throws -> Remote {
        guard let r = try get(name) else { throw SyncError.unknownRemote(name) }
        return r
    }

    public func add(_ name: String, url: String, token: String?) throws {
        try Repository.validateName(name, kind: "remote")
        guard !name.contains("/") else { throw RepositoryError.badName(name, kind: "remote") }
        guard try get(name) == nil else { throw SyncError.remoteExists(name) }
        try settings.setSetting("remote.\(name).url", url)
        if let token { try settings.setSetting("remote.\(name).token", token) }
    }

    /// Removes the remote, its token and its remote-tracking refs.
    public func remove(_ name: String, store: any ChunkStore) throws {
        _ = try require(name)
        try settings.setSetting("remote.\(name).url", nil)
        try settings.setSetting("remote.\(name).token", nil)
        let tracking = try store.refs(prefix: RefName.Namespace.remotes.prefix + name + "/")
        _ = try store.compareAndSwapRefs(tracking.map { RefMove($0.name, expected: $0.hash, new: nil) })
    }
}
