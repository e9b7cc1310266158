/// An immutable run of bytes, named by the hash of those bytes.
public struct Chunk: Sendable, Equatable {
    /// The largest chunk a store accepts. Prolly nodes stay under about 24 KiB (a split always
    /// follows the item that passes 16 KiB, and large strings and blobs live out of line), so
    /// this bound only stops garbage; decompression is capped at it.
    public static let maxSize = 1 << 20

    public let hash: Hash
    public let data: [UInt8]

    /// A chunk of `data`, hashing it.
    public init(_ data: [UInt8]) {
        self.hash = Hash(of: data)
        self.data = data
    }

    /// A chunk whose hash the caller has just computed from these very bytes.
    package init(hash: Hash, data: [UInt8]) {
        self.hash = hash
        self.data = data
    }
}

/// A chunk to store, with the hashes of the chunks it references. The store accepts it only if
/// each of those is already present or written in the same batch (the completeness invariant).
///
/// `recordsRefs` says whether the store keeps `refs` beside the chunk (``ChunkStore/storedRefs(_:)``),
/// so a sender or gc can follow it without decompressing it. An internal tree node is written
/// without: its references are its children's hashes, already in its bytes, and a tree has
/// about one internal node for every hundred leaves (docs/storage.md).
public struct ChunkWrite: Sendable {
    public let chunk: Chunk
    public let refs: [Hash]
    public let recordsRefs: Bool

    public init(_ chunk: Chunk, refs: [Hash] = [], recordsRefs: Bool = true) {
        self.chunk = chunk
        self.refs = refs
        self.recordsRefs = recordsRefs
    }
}

/// What a store holds.
public struct StoreStats: Sendable, Equatable {
    public var chunks: Int
    /// Bytes of chunk data as stored (compressed).
    public var bytesStored: Int
    /// Bytes of chunk data before compression.
    public var bytesUncompressed: Int

    public init(chunks: Int = 0, bytesStored: Int = 0, bytesUncompressed: Int = 0) {
        self.chunks = chunks
        self.bytesStored = bytesStored
        self.bytesUncompressed = bytesUncompressed
    }
}
