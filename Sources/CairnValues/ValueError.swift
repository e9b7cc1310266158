import CairnStore
public enum ValueError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingChunk(Hash)
    case wrongKind(expected: String, found: String)
    case indexOutOfRange(UInt64, count: UInt64)
    case keysOutOfOrder
    case overlappingSplices
    /// A value nests deeper than the store reads back (``Format/maxDepth``).
    case tooDeep

    public var description: String {
        switch self {
        case .missingChunk(let h): "chunk \(h) is missing from the store"
        case let .wrongKind(expected, found): "expected a \(expected), found a \(found)"
        case let .indexOutOfRange(i, count): "index \(i) is out of range (count \(count))"
        case .keysOutOfOrder: "keys must be appended in strictly increasing order"
        case .overlappingSplices: "list splices overlap"
        case .tooDeep: "the value nests deeper than \(Format.maxDepth) levels"
        }
    }
}
