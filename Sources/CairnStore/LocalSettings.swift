/// Settings that belong to one store on one machine and never sync: the default author,
/// remotes and their tokens.
public protocol LocalSettings {
    func setting(_ name: String) throws -> String?
    /// Sets a setting; nil removes it.
    func setSetting(_ name: String, _ value: String?) throws
    func settings(prefix: String) throws -> [(name: String, value: String)]
}
