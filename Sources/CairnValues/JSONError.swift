import CairnStore
/// Malformed JSON, with the byte offset where reading stopped.
public struct JSONError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}
