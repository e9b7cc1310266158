import CairnStore

/// The chunks a stored chunk references, read from its bytes: a tree node's children and the
/// trees its entries hold by Ref; a value chunk's (a commit, a working set, a row stored out
/// of line) Refs and trees. What sync needs to send children before parents, and what gc and
/// fsck follow; every writer declares the same set when it puts the chunk.
package enum ChunkReferences {
    /// Throws `StoreError.corruptChunk` for bytes that do not parse.
    package static func of(_ chunk: Chunk) throws -> [Hash] { try describe(chunk).refs }

    /// The chunk's references, and for a tree node its level (0 for a leaf); nil for a value
    /// chunk. A node of level L > 0 references only nodes of level L − 1.
    package static func describe(_ chunk: Chunk) throws -> (refs: [Hash], treeLevel: Int?) {
        let data = chunk.data
        guard data.count >= 2, data[0] == Format.version else {
            throw StoreError.corruptChunk(chunk.hash, reason: "unknown format version")
        }
        do {
            switch Tag(rawValue: data[1]) {
            case .blobLeaf?, .listLeaf?, .mapLeaf?, .setLeaf?, .blobNode?, .listNode?, .mapNode?, .setNode?:
                let node = try Node(hash: chunk.hash, bytes: data)
                return (node.refs, node.level)
            default:
                return (try EncodedView.refs(Array(data[1...])), nil)
            }
        } catch let e as DecodeError {
            throw StoreError.corruptChunk(chunk.hash, reason: e.description)
        }
    }
}
