import CairnStore
import CairnValues
import CairnTables

/// A branch's working set, a value of its own (the ref `working/BRANCH` names its chunk): the
/// root that `import`, `set` and `rm` change and `commit` records, and any merge in progress.
public struct WorkingSet: Sendable, Equatable {
    public var root: ProllyMap
    public var merge: MergeState?

    public init(root: ProllyMap, merge: MergeState? = nil) {
        self.root = root
        self.merge = merge
    }

    /// A merge stopped on conflicts, kept until it is committed or aborted.
    public struct MergeState: Sendable, Equatable {
        /// The commit being merged in.
        public var theirs: Hash
        /// The merge base; nil for histories with no common ancestor.
        public var base: Hash?
        /// The working root before the merge started, for `merge --abort`.
        public var rootBefore: Hash
        /// The conflicts still to resolve: a Map from path to the conflict's sides.
        public var conflicts: ProllyMap
        /// The merge commit's message, for `merge --continue` and `commit` without `-m`.
        public var message: String?

        public init(theirs: Hash, base: Hash?, rootBefore: Hash, conflicts: ProllyMap, message: String? = nil) {
            self.theirs = theirs
            self.base = base
            self.rootBefore = rootBefore
            self.conflicts = conflicts
            self.message = message
        }

        /// The conflicts still to resolve, in path order.
        public func conflictList() throws -> [MergeConflict] {
            var out: [MergeConflict] = []
            try conflicts.forEach { k, v in
                out.append(try Self.decodeConflict(k, v))
                return true
            }
            return out
        }

        /// The conflicts as they are stored: a Map from the path (its text) to a `Conflict`
        /// struct with fields `base`, `ours` and `theirs`, each absent for a side that has no
        /// value there.
        public static func conflictMap(_ conflicts: [MergeConflict], store: NodeStore) throws -> ProllyMap {
            try ProllyMap.build(conflicts.map { c in
                var fields: [(String, Value)] = []
                if let b = c.base { fields.append(("base", b)) }
                if let o = c.ours { fields.append(("ours", o)) }
                if let t = c.theirs { fields.append(("theirs", t)) }
                return (Value.string(c.path.description), Value.struct(StructValue(name: conflictStructName, fields: fields)))
            }, store: store)
        }

        static let conflictStructName = "Conflict"

        static func decodeConflict(_ k: Value, _ v: Value) throws -> MergeConflict {
            guard case .string(let p) = k, case .struct(let s) = v, s.name == conflictStructName else {
                throw StoreError.corruptStore(reason: "a malformed merge conflict in a working set")
            }
            return MergeConflict(path: try ValuePath(parsing: p), base: s["base"], ours: s["ours"], theirs: s["theirs"])
        }
    }

    static let structName = "WorkingSet"
    static let mergeStructName = "Merge"

    /// Writes the working set as a chunk (its root first); returns the chunk's hash.
    func write(store: NodeStore) throws -> Hash {
        let rootHash = try root.persistRoot()
        var fields: [(String, Value)] = [("root", .ref(ValueRef(target: rootHash, targetKind: .map)))]
        if let m = merge {
            let before = ValueRef(target: m.rootBefore, targetKind: .map)
            var mf: [(String, Value)] = [
                ("theirs", .ref(ValueRef(target: m.theirs, targetKind: .struct))),
                ("root_before", .ref(before)),
                ("conflicts", .map(m.conflicts)),
            ]
            if let b = m.base { mf.append(("base", .ref(ValueRef(target: b, targetKind: .struct)))) }
            if let msg = m.message { mf.append(("message", .string(msg))) }
            fields.append(("merge", .struct(StructValue(name: Self.mergeStructName, fields: mf))))
        }
        let (bytes, refs) = try Value.struct(StructValue(name: Self.structName, fields: fields)).encodedWithRefs(store: store)
        return try store.write([Format.version] + bytes, refs: refs)
    }

    static func read(_ hash: Hash, store: NodeStore) throws -> WorkingSet {
        let bytes = try store.chunkBytes(hash)
        func corrupt(_ why: String) -> StoreError { .corruptChunk(hash, reason: "not a working set: \(why)") }
        guard bytes.first == Format.version else { throw corrupt("unknown format version") }
        let v: Value
        do { v = try Value.decode(Array(bytes.dropFirst()), store: store) } catch let e as DecodeError {
            throw StoreError.corruptChunk(hash, reason: e.description)
        }
        guard case .struct(let s) = v, s.name == structName, case .ref(let r)? = s["root"] else { throw corrupt("no root") }
        var ws = WorkingSet(root: try ProllyMap.load(r.target, store: store))
        if case .struct(let m)? = s["merge"] {
            guard m.name == mergeStructName, case .ref(let theirs)? = m["theirs"], case .ref(let before)? = m["root_before"],
                  case .map(let conflicts)? = m["conflicts"] else { throw corrupt("a malformed merge") }
            var base: Hash?
            if case .ref(let b)? = m["base"] { base = b.target }
            var message: String?
            if case .string(let msg)? = m["message"] { message = msg }
            ws.merge = MergeState(theirs: theirs.target, base: base, rootBefore: before.target, conflicts: conflicts, message: message)
        }
        return ws
    }
}
