import CairnStore
import CairnValues

/// The name of a ref in the chunk store, in its namespace (ARCHITECTURE.md):
/// `heads/NAME` (a branch), `tags/NAME`, `remotes/REMOTE/NAME` (a remote-tracking branch),
/// `working/NAME` (a branch's working set).
public struct RefName: Sendable, Hashable, CustomStringConvertible {
    public enum Namespace: String, Sendable, CaseIterable {
        case heads, tags, remotes, working
        /// The prefix its refs share in the store.
        public var prefix: String { rawValue + "/" }
    }

    public let namespace: Namespace
    /// The name within the namespace: `main`, `v1`, `origin/main`.
    public let name: String

    public init(_ namespace: Namespace, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func branch(_ name: String) -> RefName { RefName(.heads, name) }
    public static func tag(_ name: String) -> RefName { RefName(.tags, name) }
    public static func working(_ branch: String) -> RefName { RefName(.working, branch) }
    public static func remote(_ remote: String, _ branch: String) -> RefName { RefName(.remotes, remote + "/" + branch) }

    /// The name as the store keeps it.
    public var description: String { namespace.prefix + name }

    /// Parses a stored name; nil when it is in no namespace.
    public init?(stored: String) {
        guard let ns = Namespace.allCases.first(where: { stored.hasPrefix($0.prefix) }) else { return nil }
        namespace = ns
        name = String(stored.utf8.dropFirst(ns.prefix.utf8.count))!
    }
}

extension ChunkStore {
    package func ref(_ name: RefName) throws -> Hash? { try ref(name.description) }

    package func compareAndSwapRef(_ name: RefName, expected: Hash?, new: Hash?) throws -> Bool {
        try compareAndSwapRef(name.description, expected: expected, new: new)
    }

    /// The refs of a namespace, by their names within it.
    package func refs(in namespace: RefName.Namespace) throws -> [(name: String, hash: Hash)] {
        try refs(prefix: namespace.prefix).compactMap { r in RefName(stored: r.name).map { ($0.name, r.hash) } }
    }
}
