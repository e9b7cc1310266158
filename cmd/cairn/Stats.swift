import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the store holds: chunks, bytes stored and uncompressed, and each top-level name's tree.",
        discussion: "Per name (in the current branch's working set): its rows or entries, tree depth, and the chunks of its tree.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document.")
    var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let s = try ctx.chunks.stats()
        let ratio = s.bytesStored == 0 ? 1.0 : Double(s.bytesUncompressed) / Double(s.bytesStored)
        var tables: [(name: String, stats: ValueStats)] = []
        try ctx.repo.workingRoot().forEach { k, v in
            guard case .string(let name) = k, !name.hasPrefix(".") else { return true }
            tables.append((name, try ValueStats(v)))
            return true
        }
        if json {
            var t = "{"
            for (i, x) in tables.enumerated() {
                t += (i > 0 ? "," : "") + jsonQuoted(x.name) + ":"
                    + JSONObject().add("count", Int(x.stats.count)).add("depth", x.stats.depth).add("chunks", x.stats.chunks).text
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
            for x in tables {
                print("\(x.name): \(x.stats.count) \(x.stats.isTable ? "rows" : "entries"), depth \(x.stats.depth), \(x.stats.chunks) chunks")
            }
        }
    }
}
