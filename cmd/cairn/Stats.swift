import ArgumentParser
import CairnVersioning

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the store holds: chunks, bytes stored and uncompressed.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document.")
    var json = false

    func run() throws {
        let store = try global.openStore()
        defer { store.close() }
        let s = try store.stats()
        let ratio = s.bytesStored == 0 ? 1.0 : Double(s.bytesUncompressed) / Double(s.bytesStored)
        if json {
            let doc = JSONObject()
                .add("chunks", s.chunks)
                .add("bytes_stored", s.bytesStored)
                .add("bytes_uncompressed", s.bytesUncompressed)
                .add("compression_ratio", ratio)
                .add(raw: "tables", "{}")
            print(doc.text)
        } else {
            print("chunks              \(s.chunks)")
            print("bytes stored        \(s.bytesStored) (\(ByteCount(s.bytesStored)))")
            print("bytes uncompressed  \(s.bytesUncompressed) (\(ByteCount(s.bytesUncompressed)))")
            print("compression ratio   \(formatFixed(ratio, 2))")
        }
    }
}
