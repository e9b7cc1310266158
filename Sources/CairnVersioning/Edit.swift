import CairnValues

extension Repository {
    /// Sets (or, with nil, removes) the value at `path` in the working set. The last segment
    /// is created if missing; the ones before it must exist.
    public func edit(at path: ValuePath, value: Value?) throws {
        let before = try workingRoot()
        guard case .map(let newRoot) = try edited(.map(before), path: path, depth: 0, value: value) else {
            throw RepositoryError.noSuchPath(path.description)
        }
        if path.segments.count == 1, path.segments[0].hasPrefix(".") { throw RepositoryError.reservedName(path.segments[0]) }
        try setWorkingRoot(newRoot, expected: before)
    }

    private func edited(_ container: Value, path: ValuePath, depth: Int, value: Value?) throws -> Value {
        let seg = path.segments[depth]
        let last = depth == path.segments.count - 1
        switch container {
        case .map(let m):
            let existing = try ValuePath.mapKey(seg, in: m)
            if last {
                if let value { return .map(try m.setting(existing ?? .string(seg), to: value)) }
                guard let k = existing else { throw RepositoryError.noSuchPath(path.description) }
                return .map(try m.removing(k))
            }
            guard let k = existing, let child = try m.get(k) else { throw RepositoryError.noSuchPath(path.description) }
            return .map(try m.setting(k, to: try edited(child, path: path, depth: depth + 1, value: value)))
        case .list(let l):
            guard let i = UInt64(seg), String(i) == seg, i < l.count || (last && value != nil && i == l.count) else {
                throw RepositoryError.noSuchPath(path.description)
            }
            if last {
                if let value { return .list(i == l.count ? try l.appending(value) : try l.setting(value, at: i)) }
                return .list(try l.removing(at: i))
            }
            return .list(try l.setting(try edited(l.element(at: i), path: path, depth: depth + 1, value: value), at: i))
        default:
            throw RepositoryError.noSuchPath(path.description)
        }
    }
}
