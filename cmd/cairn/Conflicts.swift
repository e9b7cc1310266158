import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct ConflictsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List the conflicts of the merge in progress.",
        discussion: "Each conflict has its path and the base, ours and theirs values; a side that deleted the value has none.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "One JSON object per line: path, base, ours, theirs (a side with no value has its key absent).") var json = false
    @Flag(help: "Write Cairn's tagged JSON forms for kinds JSON lacks.") var tagged = false

    func run() throws {
        let ctx = try Context(global)
        defer { ctx.close() }
        var out = Output()
        for c in try ctx.repo.conflicts() {
            if json {
                var o = JSONObject().add("path", c.path.description)
                for (k, v) in [("base", c.base), ("ours", c.ours), ("theirs", c.theirs)] {
                    if let v { o = o.add(raw: k, try JSON.string(v, tagged: tagged)) }
                }
                out.line(o.text)
            } else {
                out.line("\(c.path) (\(c.kind))")
                for (k, v) in [("base:  ", c.base), ("ours:  ", c.ours), ("theirs:", c.theirs)] {
                    out.line("  \(k) " + (try v.map { try JSON.string($0, tagged: tagged) } ?? "(none)"))
                }
            }
        }
        out.flush()
    }
}
