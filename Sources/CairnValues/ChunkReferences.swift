import CairnStore

/// The chunks a stored chunk references, read from its bytes: a tree node's children and the
/// trees its entries hold by Ref; a value chunk's (a commit, a working set, a row stored out
/// of line) Refs and trees. What sync needs to send children before parents, and what gc and
/// fsck follow; every writer declares the same set when it puts the chunk.
package enum ChunkReferences {
    /// Throws `StoreError.corruptChunk` for bytes that do not parse.
    package static func of(_ chunk: Chunk) throws -> [Hash] {
        let data = chunk.data
        guard data.count >= 2, data[0] == Format.version else {
            throw StoreError.corruptChunk(chunk.hash, reason: "unknown format version")
        }
        do {
            switch Tag(rawValue: data[1]) {
            case .blobLeaf?, .listLeaf?, .mapLeaf?, .setLeaf?, .blobNode?, .listNode?, .mapNode?, .setNode?:
                return try Node(hash: chunk.hash, bytes: data).refs
            default:
                return try EncodedView.refs(Array(data[1...]))
            }
        } catch let e as DecodeError {
            throw StoreError.corruptChunk(chunk.hash, reason: e.description)
        }
    }
}
