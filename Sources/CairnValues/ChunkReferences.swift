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
            case .listLeaf?, .mapLeaf?, .setLeaf?:
                return (try leafRefs(data), 0)
            case .blobLeaf?, .blobNode?, .listNode?, .mapNode?, .setNode?:
                let node = try Node(hash: chunk.hash, bytes: data)
                return (node.refs, node.level)
            default:
                return (try EncodedView.refs(Array(data[1...])), nil)
            }
        } catch let e as DecodeError {
            throw StoreError.corruptChunk(chunk.hash, reason: e.description)
        }
    }

    /// A Map, Set or List leaf's references, read as `Node` reads them but keeping no offsets:
    /// sync and gc read every leaf of a store this way.
    static func leafRefs(_ data: [UInt8]) throws -> [Hash] {
        var refs: [Hash] = []
        try data.withUnsafeBytes { raw in
            var r = ByteReader(raw, at: 1)
            let isMap = try r.byte() == Tag.mapLeaf.rawValue
            let n = try r.count(minItemSize: 1)
            try withUnsafeMutablePointer(to: &refs) { p in
                for _ in 0..<n {
                    try r.skipValue(refs: p)
                    if isMap { try r.skipValue(refs: p) }
                }
            }
            guard r.atEnd else { throw DecodeError("trailing bytes in node", at: r.pos) }
        }
        return refs
    }
}
