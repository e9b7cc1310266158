import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a commit, or a value as JSON.",
        discussion: "REV shows a commit; REV:PATH or /PATH (the working set) shows the value there.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("What to show (default: HEAD).", valueName: "REV[:PATH]")) var target: String = "HEAD"
    @Flag(help: "Print JSON: the commit with its root, or the value on one line.") var json = false
    @Flag(help: "Print only the content hash of the commit or value.") var hash = false
    @Flag(help: "Write Cairn's tagged JSON forms for kinds JSON lacks (sets, counters, blobs...).") var tagged = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        let rp = try RevPath(target)
        if let path = rp.path {
            let root = try ctx.repo.rootValue(rp.rev)
            guard let target = try path.target(in: .map(root)) else { throw RepositoryError.noSuchPath(path.description) }
            if hash {
                let v: Value
                switch target {
                case .value(let x): v = x
                case .row(let t, let key, let cells): v = .map(try t.rowMap(key: key, cells: cells))
                case .rows: throw CLIError.usage("\(path) is a key prefix, not one value: show its rows without --hash")
                }
                print(try v.hash(store: ctx.repo.store).description)
                return
            }
            // Streamed: a whole table is never held as one string.
            var out = Output()
            var w = JSONWriter(pretty: !json && Terminal.stdoutIsTerminal, tagged: tagged) { out.bytes($0) }
            switch target {
            case .value(let v): try w.write(v)
            case .rows(let t, let prefix): try w.writeTable(t, under: prefix)
            case .row(let t, let key, _):
                // As a row of the table's JSON: its columns in display order.
                let k = try t.encodeKey(key)
                guard let r = try t.rows.getEncoded(k) else { throw RepositoryError.noSuchPath(path.description) }
                try k.withUnsafeBytes { k in try r.withUnsafeBytes { try w.writeRow(t, key: k, row: $0) } }
            }
            w.out.append(0x0A)
            w.flush()
            out.flush()
            return
        }
        guard case .commit(let c) = try ctx.repo.resolve(rp.rev ?? "HEAD") else {
            throw CLIError.usage("WORKING is not a commit; use WORKING:PATH or /PATH to show a value")
        }
        if hash {
            print(c.hash.description)
        } else if json {
            print(commitJSON(c).add("root", c.root.description).text)
        } else {
            print("commit \(c.hash)")
            if !c.parents.isEmpty { print("Parents: " + c.parents.map(\.description).joined(separator: " ")) }
            print("Author: \(c.author)")
            print("Date:   \(rfc3339(c.date))")
            print("")
            for l in c.message.split(separator: "\n", omittingEmptySubsequences: false) { print("    " + l) }
        }
    }
}
