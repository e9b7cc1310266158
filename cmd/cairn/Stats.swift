import ArgumentParser
import CairnVersioning

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the store holds: chunks, bytes stored and uncompressed, and each top-level name's tree.",
        discussion: "Per name (in the current branch's working set): entries, tree depth, and the chunks of its tree.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document.")
    var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let s = try ctx.chunks.stats()
        let ratio = s.bytesStored == 0 ? 1.0 : Double(s.bytesUncompressed) / Double(s.bytesStored)
        var tables: [(name: String, count: UInt64, depth: Int, chunks: Int)] = []
        try ctx.repo.workingRoot().forEach { k, v in
            guard case .string(let name) = k, !name.hasPrefix(".") else { return true }
            let root: TreeRoot?
            switch v {
            case .map(let m): root = m.root
            case .list(let l): root = l.root
            case .set(let x): root = x.root
            case .blob(let b): root = b.root
            default: root = nil
            }
            if let root {
                tables.append((name, root.count, root.height, try root.chunkCount(store: ctx.repo.store)))
            } else {
                tables.append((name, 1, 0, 0))
            }
            return true
        }
        if json {
            var t = "{"
            for (i, x) in tables.enumerated() {
                t += (i > 0 ? "," : "") + jsonQuoted(x.name) + ":"
                    + JSONObject().add("count", Int(x.count)).add("depth", x.depth).add("chunks", x.chunks).text
            }
            t += "}"
            let doc = JSONObject()
                .add("chunks", s.chunks)
                .add("bytes_stored", s.bytesStored)
                .add("bytes_uncompressed", s.bytesUncompressed)
                .add("compression_ratio", ratio)
                .add(raw: "tables", t)
            print(doc.text)
        } else {
            print("chunks              \(s.chunks)")
            print("bytes stored        \(s.bytesStored) (\(ByteCount(s.bytesStored)))")
            print("bytes uncompressed  \(s.bytesUncompressed) (\(ByteCount(s.bytesUncompressed)))")
            print("compression ratio   \(formatFixed(ratio, 2))")
            for x in tables { print("\(x.name): \(x.count) entries, depth \(x.depth), \(x.chunks) chunks") }
        }
    }
}
