/// A chunk in the form a store keeps it and sync sends it: its bytes as stored (zstd or raw),
/// so a transfer never recompresses. See docs/protocol.md for its frame on the wire.
public struct StoredChunk: Sendable, Equatable {
    /// 0: the bytes are the chunk itself; 1: one zstd frame of the chunk.
    public enum Codec: UInt8, Sendable { case raw = 0, zstd = 1 }

    public let hash: Hash
    public let codec: Codec
    /// The chunk's length before compression.
    public let size: Int
    public let bytes: [UInt8]

    public init(hash: Hash, codec: Codec, size: Int, bytes: [UInt8]) {
        self.hash = hash
        self.codec = codec
        self.size = size
        self.bytes = bytes
    }

    /// A raw stored form of `chunk`, as stores without compression send it.
    public init(raw chunk: Chunk) {
        self.init(hash: chunk.hash, codec: .raw, size: chunk.data.count, bytes: chunk.data)
    }

    /// The chunk these bytes hold, decompressed (at most ``Chunk/maxSize``) and checked
    /// against `hash`: ``StoreError/corruptChunk(_:reason:)`` when they do not match.
    public func verified(using decompressor: StoredChunkDecoder = StoredChunkDecoder()) throws -> Chunk {
        let data = try decompressed(using: decompressor)
        let actual = Hash(of: data)
        guard actual == hash else { throw StoreError.corruptChunk(hash, reason: "its bytes hash to \(actual)") }
        return Chunk(hash: hash, data: data)
    }

    /// The chunk's bytes, decompressed (at most ``Chunk/maxSize``) but not checked against
    /// `hash`: for a sender reading its own store, whose receiver checks every chunk.
    public func decompressed(using decompressor: StoredChunkDecoder = StoredChunkDecoder()) throws -> [UInt8] {
        guard size >= 0, size <= Chunk.maxSize else {
            throw StoreError.corruptChunk(hash, reason: "size \(size) is out of range")
        }
        let data: [UInt8]
        switch codec {
        case .raw:
            guard bytes.count == size else { throw StoreError.corruptChunk(hash, reason: "size \(size) does not match its \(bytes.count) bytes") }
            data = bytes
        case .zstd:
            do {
                data = try bytes.withUnsafeBytes { try decompressor.zstd.decompress($0, expectedSize: size, limit: Chunk.maxSize) }
            } catch {
                throw StoreError.corruptChunk(hash, reason: "does not decompress (\(error))")
            }
        }
        return data
    }
}

/// A zstd context for ``StoredChunk/verified(using:)``, kept by a caller that checks many
/// chunks (one per thread: it is not safe to share).
public final class StoredChunkDecoder {
    let zstd = ZstdDecompressor()
    public init() {}
}

/// A stored chunk to write, already checked (``StoredChunk/verified(using:)``), with the
/// chunks it references, as ``ChunkWrite`` has them (`recordsRefs` too).
public struct StoredChunkWrite: Sendable {
    public let stored: StoredChunk
    public let refs: [Hash]
    public let recordsRefs: Bool
    public init(_ stored: StoredChunk, refs: [Hash], recordsRefs: Bool = true) {
        self.stored = stored
        self.refs = refs
        self.recordsRefs = recordsRefs
    }
}

extension ChunkStore {
    /// The stored forms of the chunks among `hashes` that are present, in `hashes`' order.
    /// Stores that keep chunks uncompressed give them raw.
    public func getStored(_ hashes: [Hash]) throws -> [StoredChunk] {
        let found = try getMany(hashes)
        return hashes.compactMap { found[$0].map(StoredChunk.init(raw:)) }
    }

    /// Stores that record no references give none: callers read the chunks instead.
    public func storedRefs(_ hashes: [Hash]) throws -> [Hash: [Hash]] { [:] }

    /// Writes checked stored chunks as ``put(_:moving:)`` writes chunks: the completeness
    /// invariant applies, and the refs move only if every one equals its `expected`.
    public func putStored(_ batch: [StoredChunkWrite], moving moves: [RefMove]) throws -> Bool {
        let decoder = StoredChunkDecoder()
        let writes = try batch.map { ChunkWrite(try $0.stored.verified(using: decoder), refs: $0.refs, recordsRefs: $0.recordsRefs) }
        return try put(writes, moving: moves)
    }
}
