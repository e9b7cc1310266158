import ArgumentParser
import CairnStore
import CairnVersioning

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Drop the chunks nothing reaches and give their space back.",
        discussion: """
            Keeps everything reachable from a branch, tag, remote-tracking ref or working set (and \
            any merge in progress), and what a ref pointed at in the last 14 days (see `cairn \
            reflog`), so a deleted branch can be brought back. `--prune=now` drops those too. \
            Safe while other commands write to the store or `cairn serve` serves it: what they are \
            writing is kept. See docs/gc.md.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Drop what only the reflog reaches: 'now'.", valueName: "now"))
    var prune: String?

    @Flag(help: "Print one JSON document.")
    var json = false

    func validate() throws {
        if let p = prune, p != "now" { throw ValidationError("--prune takes 'now' (the reflog keeps 14 days otherwise)") }
    }

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let bar = ProgressBar(label: "gc")
        let r = try GarbageCollector.collect(ctx.chunks, pruneNow: prune == "now") { phase, done, total in
            switch phase {
            case .marking: bar?.update(done, 0, detail: "marking")
            case .sweeping: bar?.update(done, total ?? 0, detail: "sweeping")
            case .reclaiming: bar?.update(0, 0, detail: "reclaiming space")
            }
        }
        bar?.finish()
        if json {
            print(JSONObject()
                .add("chunks_before", r.chunksBefore)
                .add("chunks_deleted", r.chunksDeleted)
                .add("bytes_stored_freed", r.bytesStoredFreed)
                .add("bytes_uncompressed_freed", r.bytesUncompressedFreed)
                .add("chunks_renewed", r.chunksRenewed)
                .add("reflog_entries_dropped", r.reflogEntriesDropped)
                .add("file_bytes_before", r.fileBytesBefore)
                .add("file_bytes_after", r.fileBytesAfter)
                .add("longest_step_ms", r.longestStepMs)
                .text)
        } else {
            print("Deleted \(r.chunksDeleted) of \(r.chunksBefore) chunks (\(ByteCount(r.bytesStoredFreed)) stored, \(ByteCount(r.bytesUncompressedFreed)) uncompressed)")
            print("File \(ByteCount(r.fileBytesBefore)) -> \(ByteCount(r.fileBytesAfter))")
            if r.chunksRenewed > 0 { print("Kept \(r.chunksRenewed) chunks that a writer used while gc ran") }
        }
    }
}

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check the store: every reachable chunk's hash, references and decoding, the trees, and the file.",
        discussion: """
            Reads every chunk reachable from any ref, tag, remote-tracking ref, working set or merge \
            in progress: its bytes must hash to its name, decode, and reference only chunks that are \
            present. Checks the trees of every commit and working set, the completeness of every stored chunk, \
            and SQLite's integrity_check. Exits 3 when it finds a problem.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document: chunks_checked and problems [{chunk, problem, refs}].")
    var json = false

    func run() throws {
        // Every page is read once: a small cache and no memory map keep the memory bounded
        // whatever the store's size.
        var options = SQLiteChunkStore.Options()
        options.cacheKiB = 8192
        options.mmapBytes = 0
        let ctx = try Context(global, options: options)
        defer { ctx.close() }
        let bar = ProgressBar(label: "fsck")
        let r = try StoreCheck.run(ctx.chunks) { done, total in bar?.update(done, total, detail: "chunks") }
        bar?.finish()
        if json {
            var items: [String] = []
            for p in r.problems {
                let o = p.chunk.map { JSONObject().add("chunk", $0.description) } ?? JSONObject().add(raw: "chunk", "null")
                items.append(o.add("problem", p.problem).add(raw: "refs", "[" + p.refs.map(jsonQuoted).joined(separator: ",") + "]").text)
            }
            print(JSONObject().add("chunks_checked", r.chunksChecked).add(raw: "problems", "[" + items.joined(separator: ",") + "]").text)
        } else {
            for p in r.problems { print(p.description) }
            print(r.problems.isEmpty ? "Checked \(r.chunksChecked) chunks: no problems"
                                     : "Checked \(r.chunksChecked) chunks: \(r.problems.count) problem\(r.problems.count == 1 ? "" : "s")")
        }
        if !r.problems.isEmpty { throw ExitCode(CLIExit.store) }
    }
}

struct ReflogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reflog",
        abstract: "Show where refs pointed: every move of the last 14 days, newest first.",
        discussion: """
            REF is a branch (main), tag (tags/v1), remote-tracking ref (remotes/origin/main) or \
            working set (working/main); without it, every ref. `gc` keeps what these entries reach, \
            so `cairn branch NAME HASH` brings back a deleted branch.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The ref to show (default: every ref).")
    var ref: String?

    @Option(name: [.customShort("n"), .long], help: "Show at most this many entries.")
    var maxCount: Int?

    @Flag(help: "Print one JSON object a line: ref, old, new (null when created or deleted), time.")
    var json = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let name = ref.map { r in r.contains("/") ? r : "heads/" + r }
        let entries = try ctx.chunks.reflog(name: name, limit: maxCount ?? Int.max)
        for e in entries {
            if json {
                var o = JSONObject().add("ref", e.name)
                o = o.add(raw: "old", e.old.map { jsonQuoted($0.description) } ?? "null")
                o = o.add(raw: "new", e.new.map { jsonQuoted($0.description) } ?? "null")
                print(o.add("time", rfc3339(e.time)).text)
            } else {
                let what = e.new == nil ? "deleted (was \(e.old!.description))" : e.old == nil ? "created at \(e.new!.description)" : "\(e.old!.description) -> \(e.new!.description)"
                print("\(rfc3339(e.time))  \(e.name)  \(what)")
            }
        }
    }
}
