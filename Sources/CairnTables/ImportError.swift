import CairnStore
/// Malformed input of an import, with where it is.
public struct ImportError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
