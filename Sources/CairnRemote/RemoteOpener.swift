import CairnStore
import CairnSync
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens a remote by its URL: an `http(s)://` URL as `cairn serve` gives it, or a path to a
/// folder holding a store. The token is the remote's own, else `CAIRN_TOKEN`.
public enum RemoteOpener {
    public static func open(url: String, token: String?) throws -> any SyncRemote {
        if HTTPRemote.isHTTP(url) {
            let env = getenv("CAIRN_TOKEN").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            return HTTPRemote(url: url, token: token ?? env)
        }
        guard !url.contains("://") else { throw SyncError.badRemoteURL(url) }
        return try LocalRemote(directory: url)
    }

    /// The URL to keep for a remote: http(s) URLs as given, paths made absolute (so the remote
    /// still resolves from a subfolder), or ``SyncError/badRemoteURL(_:)``.
    public static func normalize(_ url: String) throws -> String {
        if HTTPRemote.isHTTP(url) {
            let rest = url.drop { $0 != ":" }.dropFirst(3)
            guard !rest.isEmpty, !rest.hasPrefix("/") else { throw SyncError.badRemoteURL(url) }
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        guard !url.contains("://"), !url.isEmpty else { throw SyncError.badRemoteURL(url) }
        return StoreDirectory.absolute(url)
    }
}
