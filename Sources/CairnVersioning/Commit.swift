import CairnStore
import CairnValues
import CairnTables

/// A commit: the root value (a Map from top-level names to values) by Ref, its parents, its
/// generation, and who made it, when and why. Stored as one small chunk holding a `Commit`
/// struct (docs/versioning.md).
public struct Commit: Sendable, Equatable {
    public let hash: Hash
    /// The hash of the root Map's root node, always a chunk of its own.
    public let root: Hash
    public let parents: [Hash]
    /// 1 for a commit with no parents, else 1 + the largest generation of its parents: a merge
    /// base is found by walking generations down, whatever the commit dates say.
    public let generation: UInt64
    public let author: String
    /// Seconds since 1970-01-01 UTC.
    public let date: Int64
    public let message: String

    static let structName = "Commit"

    /// The commit's encoding, as a value.
    static func value(root: Hash, parents: [Hash], generation: UInt64, author: String, date: Int64, message: String,
                      store: NodeStore) throws -> Value {
        .struct(StructValue(name: structName, fields: [
            ("root", .ref(ValueRef(target: root, targetKind: .map))),
            ("parents", .list(try ProllyList.build(parents.map { .ref(ValueRef(target: $0, targetKind: .struct)) }, store: store))),
            ("generation", .int(Int64(generation))),
            ("author", .string(author)),
            ("date", .int(date)),
            ("message", .string(message)),
        ]))
    }

    /// A commit's generation and parents only, read in place from its chunk (the merge base
    /// walk reads thousands); anything unusual falls back to ``decode(_:store:)``.
    static func graphInfo(_ chunk: Chunk, store: NodeStore) throws -> (generation: UInt64, parents: [Hash]) {
        let fast: (UInt64, [Hash])? = try chunk.data.withUnsafeBytes { raw in
            guard raw.count > 2, raw[0] == Format.version else { return nil }
            let body = UnsafeRawBufferPointer(rebasing: raw[1...])
            guard let g = try EncodedView.structField(body, "generation"), let p = try EncodedView.structField(body, "parents"),
                  case .int(let generation) = try Value.decode(Array(g), store: store), generation >= 1,
                  let parents = try EncodedView.refList(p) else { return nil }
            return (UInt64(generation), parents)
        }
        if let fast { return fast }
        let c = try decode(chunk, store: store)
        return (c.generation, c.parents)
    }

    /// The generation and parents of `chunk` if it is a commit, else nil: sync walks the
    /// commit graph with it.
    package static func graphInfoIfCommit(_ chunk: Chunk, store: NodeStore) throws -> (generation: UInt64, parents: [Hash])? {
        guard chunk.data.count > 1, chunk.data[0] == Format.version, chunk.data[1] == 0x0F else { return nil }
        do {
            let c = try decode(chunk, store: store)
            return (c.generation, c.parents)
        } catch RepositoryError.notACommit {
            return nil
        }
    }

    /// Reads a commit chunk. A chunk that is no commit throws ``RepositoryError/notACommit(_:)``.
    static func decode(_ chunk: Chunk, store: NodeStore) throws -> Commit {
        guard chunk.data.first == Format.version, chunk.data.count > 1, chunk.data[1] == 0x0F else {
            throw RepositoryError.notACommit(chunk.hash)
        }
        let v: Value
        do { v = try Value.decode(Array(chunk.data.dropFirst()), store: store) } catch let e as DecodeError {
            throw StoreError.corruptChunk(chunk.hash, reason: e.description)
        }
        guard case .struct(let s) = v, s.name == structName else { throw RepositoryError.notACommit(chunk.hash) }
        guard case .ref(let root)? = s["root"], case .list(let ps)? = s["parents"],
              case .int(let generation)? = s["generation"], generation >= 1,
              case .string(let author)? = s["author"], case .int(let date)? = s["date"],
              case .string(let message)? = s["message"] else {
            throw StoreError.corruptChunk(chunk.hash, reason: "a commit with missing or malformed fields")
        }
        var parents: [Hash] = []
        for p in try ps.elements() {
            guard case .ref(let r) = p else { throw StoreError.corruptChunk(chunk.hash, reason: "a commit parent is not a ref") }
            parents.append(r.target)
        }
        return Commit(hash: chunk.hash, root: root.target, parents: parents, generation: UInt64(generation), author: author,
                      date: date, message: message)
    }
}
