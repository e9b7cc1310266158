import Foundation
import Testing
@testable import CairnStore

/// `init`, `stats`, `-C`, store discovery and the exit-code contract of CLI.md.
@Suite struct StoreCommandTests {
    /// Errors are one line on stderr that starts with `error:`.
    func expectOneErrorLine(_ r: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("error: "), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func initCreatesAStoreAndRefusesASecond() throws {
        let ws = Workspace()
        let first = try ws.cli.run("init")
        #expect(first.code == 0)
        #expect(FileManager.default.fileExists(atPath: ws.path + "/.cairn/store.db"))
        let second = try ws.cli.run("init")
        #expect(second.code == 2)
        expectOneErrorLine(second)
        #expect(second.stderr.contains("already exists"))
    }

    @Test func initMakesTheDirectory() throws {
        let ws = Workspace()
        #expect(try ws.cli.run("init", "a/b").code == 0)
        #expect(FileManager.default.fileExists(atPath: ws.path + "/a/b/.cairn/store.db"))
    }

    @Test func statsOfAnEmptyStore() throws {
        let ws = Workspace()
        try ws.cli.run("init")
        let r = try ws.cli.run("stats", "--json")
        #expect(r.code == 0)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(doc["chunks"] as? Int == 0)
        #expect(doc["bytes_stored"] as? Int == 0)
        #expect(doc["bytes_uncompressed"] as? Int == 0)
        #expect(doc["tables"] is [String: Any])
        let human = try ws.cli.run("stats")
        #expect(human.code == 0)
        #expect(human.stdout.contains("chunks"))
    }

    @Test func findsTheStoreFromASubdirectory() throws {
        let ws = Workspace()
        try ws.cli.run("init")
        try FileManager.default.createDirectory(atPath: ws.path + "/x/y", withIntermediateDirectories: true)
        #expect(try CLIRunner(directory: ws.path + "/x/y").run("stats").code == 0)
    }

    @Test func dashCBeforeOrAfterTheCommand() throws {
        let ws = Workspace()
        #expect(try ws.cli.run("-C", "s", "init").code == 2) // s does not exist yet: -C must name a directory
        try FileManager.default.createDirectory(atPath: ws.path + "/s", withIntermediateDirectories: true)
        #expect(try ws.cli.run("-C", "s", "init").code == 0)
        #expect(FileManager.default.fileExists(atPath: ws.path + "/s/.cairn/store.db"))
        #expect(try ws.cli.run("-C", "s", "stats").code == 0)
        #expect(try ws.cli.run("stats", "-C", "s").code == 0)
    }

    @Test func noStoreFoundExits2() throws {
        let ws = Workspace()
        let r = try ws.cli.run("stats")
        #expect(r.code == 2)
        expectOneErrorLine(r)
    }

    @Test func usageErrorsExit2WithOneLine() throws {
        let ws = Workspace()
        for args in [["stats", "--bogus"], ["frobnicate"], ["init", "a", "b"], ["-C"]] {
            let r = try ws.cli.run(args)
            #expect(r.code == 2, "\(args)")
            expectOneErrorLine(r)
            // The hint names the subcommand's own help where there is one.
            let hint = ["stats": "cairn help stats", "init": "cairn help init"][args[0]] ?? "cairn --help"
            #expect(r.stderr.contains(hint), "\(args): \(r.stderr)")
        }
        // `cairn` alone and help for an unknown command are usage errors too.
        for args in [[String](), ["help", "bogus"]] {
            let r = try ws.cli.run(args)
            #expect(r.code == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").last?.hasPrefix("error: ") == true, "\(args): \(r.stderr)")
        }
    }

    @Test func helpExits0() throws {
        let ws = Workspace()
        let r = try ws.cli.run("--help")
        #expect(r.code == 0)
        #expect(r.stdout.contains("init"))
        #expect(try ws.cli.run("stats", "--help").code == 0)
    }

    @Test func aFileThatIsNotAStoreExits3() throws {
        let ws = Workspace()
        try ws.write(".cairn/store.db", String(repeating: "not sqlite at all ", count: 500))
        let r = try ws.cli.run("stats")
        #expect(r.code == 3)
        expectOneErrorLine(r)
        #expect(r.stderr.contains("not a cairn store"))
    }

    @Test func aTruncatedStoreExits3() throws {
        let ws = Workspace()
        try ws.cli.run("init")
        let path = ws.path + "/.cairn/store.db"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(1000).write(to: URL(fileURLWithPath: path))
        let r = try ws.cli.run("stats")
        #expect(r.code == 3)
        expectOneErrorLine(r)
    }

    /// A chunk whose bytes rotted on disk: the commands that read it exit 3 with one line
    /// naming the chunk, never print wrong data, and the rest of the store still answers.
    /// A commit chunk that rotted is a corrupt store (exit 3), never an unknown revision,
    /// whether it is reached by a branch or by a hash prefix.
    @Test func aRottenCommitExits3() throws {
        let ws = Workspace()
        try ws.cli.run("init")
        try ws.cli.run("set", "/note", "1")
        let hash = try ws.cli.run("commit", "-m", "c").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(hash.count == 32)
        let conn = try SQLiteConnection(path: ws.path + "/.cairn/store.db", create: false)
        try conn.execute("UPDATE chunks SET codec = 0, data = randomblob(size) WHERE hash = (SELECT hash FROM refs WHERE name = 'heads/main')")
        conn.close()
        for args in [["log"], ["log", String(hash.prefix(8))], ["show", hash]] {
            let r = try ws.cli.run(args)
            #expect(r.code == 3, "\(args): exit \(r.code) \(r.stderr)")
            expectOneErrorLine(r)
            #expect(r.stderr.contains("corrupt chunk"), "\(args): \(r.stderr)")
        }
    }

    @Test func aRottenChunkExits3AndNamesIt() throws {
        let ws = Workspace()
        try ws.cli.run("init")
        var csv = "id,v\n"
        for i in 0..<3000 { csv += "k\(i),value-\(i)\n" }
        try ws.write("p.csv", csv)
        try ws.cli.run("import", "p.csv", "--table", "p")
        try ws.cli.run("set", "/note", "\"fine\"")
        #expect(try ws.cli.run("commit", "-m", "c").code == 0)
        // Replace the largest chunk (a leaf of /p) by raw bytes of the same size.
        let conn = try SQLiteConnection(path: ws.path + "/.cairn/store.db", create: false)
        try conn.execute("""
            UPDATE chunks SET codec = 0, data = randomblob(size)
            WHERE id = (SELECT id FROM chunks ORDER BY size DESC LIMIT 1)
            """)
        conn.close()
        for args in [["export", "/p"], ["show", "/p"]] {
            let r = try ws.cli.run(args)
            #expect(r.code == 3, "\(args): exit \(r.code)")
            expectOneErrorLine(r)
            #expect(r.stderr.contains("corrupt chunk "), "stderr: \(r.stderr)")
        }
        // Export to a file is whole or nothing: the old file stays, no temporary is left.
        try ws.write("out.csv", "old\n")
        let r = try ws.cli.run("export", "/p", "-o", "out.csv")
        #expect(r.code == 3)
        #expect(try String(contentsOfFile: ws.path + "/out.csv", encoding: .utf8) == "old\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path).sorted() == [".cairn", "out.csv", "p.csv"])
        #expect(try ws.cli.run("show", "/note").stdout == "\"fine\"\n")
        #expect(try ws.cli.run("log", "--oneline").code == 0)
    }

    /// Output that cannot be written (a full disk) is a failure, not a silent exit 0.
    @Test func stdoutThatCannotBeWrittenExits1() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let ws = Workspace()
        try ws.cli.run("init")
        try ws.write("p.csv", "id,v\nk1,1\nk2,2\n")
        try ws.cli.run("import", "p.csv", "--table", "p")
        try ws.cli.run("commit", "-m", "c")
        for args in [["log"], ["log", "--json"], ["export", "/p"], ["status"], ["stats", "--json"], ["show", "/p"]] {
            let r = try ws.cli.run(args, stdoutFile: "/dev/full")
            #expect(r.code == 1, "\(args): exit \(r.code)")
            #expect(r.stderr == "error: cannot write to standard output: No space left on device\n", "\(args): \(r.stderr)")
        }
        #expect(try ws.cli.run("log", "--oneline").code == 0)
    }
}
