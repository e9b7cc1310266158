import Foundation
import Testing

/// The promises of docs/reliability.md, with real processes on real files: concurrent writers
/// wait rather than fail, gc beside writers loses nothing, a SIGKILL at any moment leaves the
/// old state or the new one, and a damaged store is named, not crashed on.
@Suite(.serialized) struct ReliabilityTests {
    /// How many SIGKILLs each command gets (`make fuzz` sets more).
    static let killRounds = ProcessInfo.processInfo.environment["CAIRN_KILL_ROUNDS"].flatMap(Int.init) ?? 25

    func start(_ args: [String], in dir: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Starts a shell script in `dir` with `$CAIRN` naming the binary under test.
    func startScript(_ script: String, in dir: String, env: [String: String] = [:], stdout: Any = FileHandle.nullDevice) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = ProcessInfo.processInfo.environment.merging(env.merging(["CAIRN": CLIRunner.binary]) { a, _ in a }) { $1 }
        p.standardOutput = stdout
        try p.run()
        return p
    }

    /// Runs `cairn gc --prune=now` through `cli` again and again while `other` runs, each
    /// expected to succeed; waits for `other` and returns how many gcs ran.
    func collectWhileRunning(_ other: Process, _ cli: CLIRunner) throws -> Int {
        var gcs = 0
        while other.isRunning {
            let r = try cli.run("gc", "--prune=now")
            #expect(r.code == 0, "\(r.stderr)")
            gcs += 1
        }
        other.waitUntilExit()
        return gcs
    }

    /// Runs `processes` shell loops at once, each (with `P` = its number and `env(P)`) setting
    /// a key of its own and committing, again and again for about two seconds; returns the
    /// lines each printed for what succeeded: `set pP-i`, `commit pP-i`.
    func runEditingWriters(_ processes: Int, in dir: String, commitFlags: String = "",
                           env: (Int) -> [String: String] = { _ in [:] }) throws -> [[String]] {
        let script = """
            i=0; end=$(( $(date +%s) + 2 ))
            while [ $(date +%s) -lt $end ]; do
              "$CAIRN" set /t/p$P-$i $i >/dev/null 2>&1 && echo "set p$P-$i"
              "$CAIRN" commit \(commitFlags) -m "p$P-$i" >/dev/null 2>&1 && echo "commit p$P-$i"
              i=$((i+1))
            done
            """
        let outs: [Pipe] = (0..<processes).map { _ in Pipe() }
        let ps = try (0..<processes).map { n in
            try startScript(script, in: dir, env: env(n).merging(["P": "\(n)"]) { $1 }, stdout: outs[n])
        }
        return zip(ps, outs).map { p, o in
            let lines = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
            p.waitUntilExit()
            return lines
        }
    }

    /// Runs each command at once, waits for all, returns their exit codes.
    func runAtOnce(_ commands: [[String]], in dir: String) throws -> [Int32] {
        let ps = try commands.map { try start($0, in: dir) }
        for p in ps { p.waitUntilExit() }
        return ps.map(\.terminationStatus)
    }

    func csv(rows: Int, seed: Int) -> String {
        var s = "id,name,score,note\n"
        for i in 0..<rows { s += "k\(String(format: "%06d", i)),name \(i * seed),\((i * 31 + seed) % 1000),n\(seed)\n" }
        return s
    }

    func fsckIsClean(_ cli: CLIRunner, _ context: String) throws {
        let r = try cli.run("fsck", "--json")
        #expect(r.code == 0 && r.stdout.contains("\"problems\":[]"), "\(context): \(r.stdout) \(r.stderr)")
    }

    // MARK: Concurrent writers

    @Test func thirtyConcurrentSetsAndSixConcurrentCommitsAllSucceed() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try cli.run("set", "/t", "{}")
        try cli.run("commit", "-m", "base")
        let sets = try runAtOnce((0..<30).map { ["set", "/t/k\($0)", "\($0)"] }, in: ws.path)
        #expect(sets.allSatisfy { $0 == 0 }, "\(sets)")
        let shown = try cli.run("show", "/t", "--json").stdout
        for i in 0..<30 { #expect(shown.contains("\"k\(i)\":\(i)"), "k\(i) is lost: \(shown)") }
        let commits = try runAtOnce((0..<6).map { ["commit", "--allow-empty", "-m", "c\($0)"] }, in: ws.path)
        #expect(commits.allSatisfy { $0 == 0 }, "\(commits)")
        let log = try cli.run("log", "--oneline").stdout
        for i in 0..<6 { #expect(log.contains("c\(i)"), "commit c\(i) is not in the history:\n\(log)") }
        #expect(log.split(separator: "\n").count == 7)
        try fsckIsClean(cli, "after concurrent writers")
    }

    /// Two, then eight, processes editing and committing on one branch for a few seconds:
    /// every `set` that succeeded is in the result, every commit that succeeded in the history.
    @Test(arguments: [2, 8]) func processesEditingAndCommittingOneBranch(processes: Int) throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try cli.run("set", "/t", "{}")
        try cli.run("commit", "-m", "base")
        let reported = try runEditingWriters(processes, in: ws.path, commitFlags: "--allow-empty").flatMap { $0 }
        let shown = try cli.run("show", "/t", "--json").stdout
        let log = try cli.run("log", "--oneline").stdout
        var sets = 0, commits = 0
        for line in reported {
            let name = String(line.split(separator: " ")[1])
            if line.hasPrefix("set ") {
                sets += 1
                #expect(shown.contains("\"\(name)\":"), "\(name) was set but is lost")
            } else {
                commits += 1
                #expect(log.contains(" \(name)\n"), "commit \(name) is not in the history")
            }
        }
        #expect(sets >= processes && commits >= processes, "\(reported)")
        try fsckIsClean(cli, "after \(processes) writers")
    }

    /// Two, then eight, processes, each on a branch of its own (`CAIRN_BRANCH`), editing and
    /// committing at once for about two seconds: every branch holds every `set` and commit of
    /// its writer that reported success.
    @Test(arguments: [2, 8]) func processesEditingAndCommittingTheirOwnBranches(processes: Int) throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try cli.run("set", "/t", "{}")
        try cli.run("commit", "-m", "base")
        for n in 0..<processes { #expect(try cli.run("branch", "b\(n)").code == 0) }
        let writers = try runEditingWriters(processes, in: ws.path) { n in ["CAIRN_BRANCH": "b\(n)"] }
        for (n, reported) in writers.enumerated() {
            let shown = try cli.run(["show", "/t", "--json"], environment: ["CAIRN_BRANCH": "b\(n)"]).stdout
            let log = try cli.run("log", "b\(n)", "--oneline").stdout
            #expect(reported.count >= 2, "writer \(n) did nothing")
            for line in reported {
                let name = String(line.split(separator: " ")[1])
                if line.hasPrefix("set ") {
                    #expect(shown.contains("\"\(name)\":"), "\(name) was set on b\(n) but is not there")
                } else {
                    #expect(log.contains(" \(name)\n"), "commit \(name) is not in b\(n)'s history")
                }
                #expect(name.hasPrefix("p\(n)-"))
            }
            // Nothing of another writer landed on this branch.
            #expect(!shown.contains("\"p\((n + 1) % processes)-"), "b\(n) holds another writer's keys")
        }
        #expect(try cli.run("show", "main:/t", "--json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "{}")
        try fsckIsClean(cli, "after \(processes) writers on their own branches")
    }

    /// gc runs again and again while writers import (re-importing content a deleted table had,
    /// so chunks gc is about to drop are put again) and remove tables.
    @Test func gcBesideWritersLosesNothing() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("a.csv", csv(rows: 3000, seed: 1))
        try ws.write("b.csv", csv(rows: 3000, seed: 2))
        let script = """
            for i in 1 2 3 4 5 6; do
              "$CAIRN" import a.csv --table a$i >/dev/null || exit 10
              "$CAIRN" import b.csv --table b$i >/dev/null || exit 11
              [ $i -gt 1 ] && { "$CAIRN" rm /a$((i-1)) >/dev/null || exit 12; }
              "$CAIRN" commit -m "round $i" >/dev/null || exit 13
            done
            """
        let writer = try startScript(script, in: ws.path)
        let gcs = try collectWhileRunning(writer, cli)
        #expect(writer.terminationStatus == 0)
        #expect(gcs > 1)
        #expect(try cli.run("gc", "--prune=now").code == 0)
        try fsckIsClean(cli, "after gc beside writers")
        let stats = try cli.run("stats", "--json").stdout
        #expect(stats.contains("\"a6\":{\"count\":3000"), "\(stats)")
        for i in 1...6 { #expect(stats.contains("\"b\(i)\":{\"count\":3000"), "b\(i): \(stats)") }
        #expect(!stats.contains("\"a5\""))
        // What gc freed is not needed by anything left: exports still read every row.
        let export = try cli.run("export", "/b1", "--format", "csv")
        #expect(export.code == 0 && export.stdout.split(separator: "\n").count == 3001)
    }

    /// `branch -d` then `gc` can be undone from the reflog; `--prune=now` drops it.
    @Test func aDeletedBranchComesBackFromTheReflog() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("a.csv", csv(rows: 2000, seed: 3))
        try cli.run("set", "/x", "1")
        try cli.run("commit", "-m", "main")
        try cli.run("checkout", "-b", "side")
        try cli.run("import", "a.csv", "--table", "a")
        try cli.run("commit", "-m", "side work")
        #expect(try cli.run("checkout", "main").code == 0)
        #expect(try cli.run("branch", "-D", "side").code == 0)
        #expect(try cli.run("gc").code == 0)
        let log = try cli.run("reflog", "side", "--json").stdout
        let entry = try #require(log.split(separator: "\n").first)
        let match = try #require(entry.range(of: #""old":"[0-9a-v]+""#, options: .regularExpression))
        let old = String(entry[match].dropFirst(7).dropLast())
        #expect(try cli.run("branch", "side", old).code == 0)
        #expect(try cli.run("show", "side:/a", "--json").code == 0)
        #expect(try cli.run("branch", "-D", "side").code == 0)
        let pruned = try cli.run("gc", "--prune=now", "--json").stdout
        #expect(!pruned.contains("\"chunks_deleted\":0"), "\(pruned)")
        #expect(try cli.run("branch", "side", old).code != 0)
        try fsckIsClean(cli, "after prune")
    }

    /// A server keeps serving, pushes landing and clones reading, while gc runs on its store.
    @Test func aServerKeepsServingWhileGcRuns() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init", "hub")
        try ws.write("a.csv", csv(rows: 4000, seed: 12))
        try cli.run("init", "a")
        let a = CLIRunner(directory: ws.path + "/a")
        try a.run("import", "../a.csv", "--table", "t", "--key", "id")
        try a.run("commit", "-m", "one")
        let server = try ServeProcess(directory: ws.path + "/hub")
        try a.run("remote", "add", "origin", server.url)
        #expect(try a.run("push").code == 0)
        let hub = CLIRunner(directory: ws.path + "/hub")
        let script = """
            for i in 1 2 3 4 5 6; do
              "$CAIRN" set /t/k00000$i/score $i >/dev/null || exit 10
              "$CAIRN" commit -m "c$i" >/dev/null || exit 11
              "$CAIRN" push >/dev/null 2>&1 || exit 12
              rm -rf ../c$i; "$CAIRN" clone "$URL" ../c$i >/dev/null 2>&1 || exit 13
            done
            """
        let client = try startScript(script, in: ws.path + "/a", env: ["URL": server.url])
        let gcs = try collectWhileRunning(client, hub)
        #expect(client.terminationStatus == 0, "a push or clone failed while gc ran")
        #expect(gcs > 1)
        server.stop()
        try fsckIsClean(hub, "the served store after gc")
        #expect(try ref(hub, "main") == ref(a, "main"))
        try fsckIsClean(CLIRunner(directory: ws.path + "/c6"), "the last clone")
    }

    // MARK: SIGKILL at random moments

    /// Starts `args`, kills it with SIGKILL after a random part of `window` seconds.
    func killPartWay(_ args: [String], in dir: String, window: Double, rng: inout SystemRandomNumberGenerator) throws {
        let p = try start(args, in: dir)
        usleep(UInt32(Double.random(in: 0...window, using: &rng) * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func timed(_ body: () throws -> Void) rethrows -> Double {
        let t = Date()
        try body()
        return Date().timeIntervalSince(t)
    }

    func ref(_ cli: CLIRunner, _ rev: String) throws -> String? {
        let r = try cli.run("show", rev, "--hash")
        return r.code == 0 ? r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    @Test func sigkillDuringImportLeavesTheOldStateOrTheNew() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("big.csv", csv(rows: 20_000, seed: 5))
        let full = try timed { try cli.run("import", "big.csv", "--table", "probe") }
        try cli.run("rm", "/probe")
        var rng = SystemRandomNumberGenerator()
        for round in 0..<Self.killRounds {
            try killPartWay(["import", "big.csv", "--table", "t\(round)"], in: ws.path, window: full * 1.2, rng: &rng)
            let stats = try cli.run("stats", "--json")
            #expect(stats.code == 0, "round \(round): the store does not open: \(stats.stderr)")
            // The table is there whole, or not at all.
            #expect(!stats.stdout.contains("\"t\(round)\"") || stats.stdout.contains("\"t\(round)\":{\"count\":20000"), "round \(round): \(stats.stdout)")
            try fsckIsClean(cli, "import round \(round)")
        }
    }

    @Test func sigkillDuringCommitAndMergeLeavesTheOldStateOrTheNew() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("big.csv", csv(rows: 20_000, seed: 6))
        try cli.run("import", "big.csv", "--table", "t", "--key", "id")
        try cli.run("commit", "-m", "base")
        try cli.run("branch", "feature")
        try cli.run("checkout", "feature")
        for i in stride(from: 0, to: 20_000, by: 997) { try cli.run("set", "/t/k\(String(format: "%06d", i))/score", "-1") }
        try cli.run("commit", "-m", "feature")
        try cli.run("checkout", "main")
        let base = try #require(try ref(cli, "main"))
        let feature = try #require(try ref(cli, "feature"))
        var rng = SystemRandomNumberGenerator()
        // Merges, each into a new branch made at main.
        try cli.run("checkout", "-b", "probe")
        let mergeTime = try timed { try cli.run("merge", "feature", "-m", "probe") }
        try cli.run("checkout", "main")
        for round in 0..<Self.killRounds {
            try cli.run("checkout", "-b", "m\(round)", "main")
            try killPartWay(["merge", "feature", "-m", "merge \(round)"], in: ws.path, window: mergeTime * 1.2, rng: &rng)
            let now = try #require(try ref(cli, "m\(round)"), "round \(round): the branch cannot be read")
            if now != base {
                let parents = try cli.run("log", "-n", "1", "--json", "m\(round)").stdout
                #expect(parents.contains(base) && parents.contains(feature), "round \(round): \(parents)")
            }
            try fsckIsClean(cli, "merge round \(round)")
            try cli.run("checkout", "main")
        }
        // Commits: each round stages a change, then a commit is killed part way.
        let commitTime = try timed {
            try cli.run("set", "/probe", "0")
            try cli.run("commit", "-m", "probe")
        }
        for round in 0..<Self.killRounds {
            let before = try #require(try ref(cli, "main"))
            try cli.run("set", "/n", "\(round)")
            try killPartWay(["commit", "-m", "c\(round)"], in: ws.path, window: commitTime * 1.5, rng: &rng)
            let after = try #require(try ref(cli, "main"), "round \(round)")
            if after != before {
                let top = try cli.run("log", "-n", "1", "--json").stdout
                #expect(top.contains(before) && top.contains("c\(round)"), "round \(round): \(top)")
            }
            try fsckIsClean(cli, "commit round \(round)")
        }
    }

    @Test func sigkillDuringGcLosesNothing() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("keep.csv", csv(rows: 5000, seed: 7))
        try ws.write("drop.csv", csv(rows: 5000, seed: 8))
        try cli.run("import", "keep.csv", "--table", "keep")
        try cli.run("commit", "-m", "keep")
        let gcTime = try timed {
            try cli.run("import", "drop.csv", "--table", "drop")
            try cli.run("rm", "/drop")
            try cli.run("gc", "--prune=now")
        }
        var rng = SystemRandomNumberGenerator()
        for round in 0..<Self.killRounds {
            try ws.write("drop.csv", csv(rows: 5000, seed: 100 + round))
            try cli.run("import", "drop.csv", "--table", "drop")
            try cli.run("rm", "/drop")
            try killPartWay(["gc", "--prune=now"], in: ws.path, window: gcTime / 2, rng: &rng)
            let stats = try cli.run("stats", "--json").stdout
            #expect(stats.contains("\"keep\":{\"count\":5000"), "round \(round): \(stats)")
            try fsckIsClean(cli, "gc round \(round)")
        }
        #expect(try cli.run("gc", "--prune=now").code == 0)
        try fsckIsClean(cli, "the last gc")
    }

    @Test func sigkillOfAServerReceivingAPushLeavesItConsistent() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init", "a")
        try ws.write("big.csv", csv(rows: 8_000, seed: 9))
        let a = CLIRunner(directory: ws.path + "/a")
        try a.run("import", "../big.csv", "--table", "t")
        try a.run("commit", "-m", "one")
        let head = try #require(try ref(a, "main"))
        var rng = SystemRandomNumberGenerator()
        var window = 1.0
        // Round 0 times the push; the killRounds after it kill the server at random moments.
        for round in 0...Self.killRounds {
            try cli.run("init", "srv\(round)")
            let server = try ServeProcess(directory: ws.path + "/srv\(round)")
            try a.run("remote", "remove", "origin")
            try a.run("remote", "add", "origin", server.url)
            let pusher = try start(["push"], in: ws.path + "/a")
            if round == 0 {
                // The first push runs to the end: it times the window of the rounds after.
                let t = Date()
                pusher.waitUntilExit()
                window = Date().timeIntervalSince(t)
            } else {
                usleep(UInt32(Double.random(in: 0...window, using: &rng) * 1_000_000))
            }
            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            // The client would retry the dead server with backoff: it is not what is tested.
            kill(pusher.processIdentifier, SIGKILL)
            pusher.waitUntilExit()
            let hub = CLIRunner(directory: ws.path + "/srv\(round)")
            let now = try ref(hub, "main")
            #expect(now == nil || now == head, "round \(round): main is at \(now ?? "nothing")")
            if round == 0 { #expect(now == head) }
            try fsckIsClean(hub, "push round \(round)")
        }
    }

    // MARK: A damaged store

    @Test func aDamagedStoreIsNamedNotCrashedOn() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("a.csv", csv(rows: 5000, seed: 10))
        try cli.run("import", "a.csv", "--table", "a")
        try cli.run("set", "/small", "42")
        try cli.run("commit", "-m", "one")
        let db = ws.path + "/.cairn/store.db"

        // Flipped bytes in a chunk's data: fsck names it and exits 3; a read that touches it
        // fails with one line and exit 3; a read that does not still answers.
        let flip = Process()
        flip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        flip.arguments = ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            h, = c.execute("SELECT hash FROM chunks WHERE size > 1000 ORDER BY id LIMIT 1").fetchone()
            c.execute("UPDATE chunks SET codec = 0, size = 4, data = x'02010203' WHERE hash = ?", (h,))
            c.commit()
            print(h.hex())
            """, db]
        let out = Pipe()
        flip.standardOutput = out
        try flip.run()
        flip.waitUntilExit()
        #expect(flip.terminationStatus == 0)
        let fsck = try cli.run("fsck", "--json")
        #expect(fsck.code == 3, "\(fsck.stdout) \(fsck.stderr)")
        #expect(fsck.stdout.contains("hash to"), "\(fsck.stdout)")
        #expect(fsck.stdout.contains("heads/main"), "\(fsck.stdout)")
        let export = try cli.run("export", "/a", "--format", "csv")
        #expect(export.code == 3 && export.stderr.hasPrefix("error: ") && export.stderr.split(separator: "\n").count == 1, "\(export.stderr)")
        #expect(try cli.run("show", "/small").stdout == "42\n")

        // A file that is not SQLite, and a truncated one: exit 3, one line, no crash.
        let copy = ws.path + "/bad"
        for damage in ["garbage", "truncated"] {
            try? FileManager.default.removeItem(atPath: copy)
            try cli.run("init", "bad")
            let bad = CLIRunner(directory: copy)
            try bad.run("import", "../a.csv", "--table", "a")
            try bad.run("commit", "-m", "x")
            let file = copy + "/.cairn/store.db"
            if damage == "garbage" {
                try Data(repeating: 0x5a, count: 65536).write(to: URL(fileURLWithPath: file))
            } else {
                let h = try FileHandle(forUpdating: URL(fileURLWithPath: file))
                try h.truncate(atOffset: 40_000)
                try h.close()
            }
            for args in [["fsck"], ["log"], ["show", "/a"], ["export", "/a"], ["gc"]] {
                let r = try bad.run(args)
                #expect(r.code == 3, "\(damage) \(args): \(r.code) \(r.stderr)")
                #expect(r.stderr.hasPrefix("error: ") && r.stderr.split(separator: "\n").count == 1, "\(damage) \(args): \(r.stderr)")
            }
        }
    }

    /// A WAL deleted while a writer had it open: the store opens at its last checkpoint and fsck
    /// is clean (docs/reliability.md says what is lost).
    @Test func aDeletedWalLeavesTheLastCheckpoint() throws {
        let ws = Workspace()
        let cli = ws.cli
        try cli.run("init")
        try ws.write("a.csv", csv(rows: 3000, seed: 11))
        try cli.run("import", "a.csv", "--table", "a")
        try cli.run("commit", "-m", "checkpointed")  // each process checkpoints as it closes
        let checkpointed = try #require(try ref(cli, "main"))
        // A server holds the store open (and the WAL) while a push adds to it.
        try cli.run("init", "b")
        let b = CLIRunner(directory: ws.path + "/b")
        try b.run("import", "../a.csv", "--table", "b")
        try b.run("commit", "-m", "other")
        let server = try ServeProcess(directory: ws.path)
        try b.run("remote", "add", "origin", server.url)
        #expect(try b.run("push", "origin", "main:incoming").code == 0)
        try? FileManager.default.removeItem(atPath: ws.path + "/.cairn/store.db-wal")
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        #expect(try ref(cli, "main") == checkpointed)
        try fsckIsClean(cli, "after the WAL was deleted")
    }
}

/// Disk full and I/O errors (docs/reliability.md): a clear error, exit 3, a message naming the
/// file, and a store that is consistent and usable afterwards.
@Suite(.serialized) struct FaultInjectionTests {
    func csv(rows: Int) -> String {
        var s = "id,name,score\n"
        for i in 0..<rows { s += "k\(String(format: "%06d", i)),a longer name to fill pages \(i),\(i * 7)\n" }
        return s
    }

    func sh(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A tmpfs of 1 MB where the machine lets the tests mount one; else a file-size limit
    /// (`ulimit -f`) on the importing process, which fails its writes the same way.
    @Test func aFullDiskDuringAnImportAndAReceivedPush() throws {
        let ws = Workspace()
        try ws.write("big.csv", csv(rows: 150_000))
        let mount = ws.path + "/small"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let tmpfs = ProcessInfo.processInfo.environment["CAIRN_TEST_NO_MOUNT"] == nil && sh("mount -t tmpfs -o size=1m tmpfs '\(mount)'") == 0
        defer { if tmpfs { _ = sh("umount '\(mount)'") } }
        let cli = CLIRunner(directory: mount)
        #expect(try cli.run("init").code == 0)
        #expect(try cli.run("set", "/before", "1").code == 0)
        #expect(try cli.run("commit", "-m", "before").code == 0)
        let limit = tmpfs ? "" : "ulimit -f 1024; "
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(limit)exec '\(CLIRunner.binary)' -C '\(mount)' import '\(ws.path)/big.csv' --table t"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let r = CLIResult(code: p.terminationStatus, stdout: "", stderr: stderr)
        #expect(r.code == 3, "\(r.stderr)")
        #expect(r.stderr.contains("disk is full") && r.stderr.contains(mount), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        // Space freed: the store is consistent, and the same import now succeeds.
        if tmpfs { #expect(sh("mount -o remount,size=64m '\(mount)'") == 0) }
        let fsck = try cli.run("fsck", "--json")
        #expect(fsck.code == 0 && fsck.stdout.contains("\"problems\":[]"), "\(fsck.stdout) \(fsck.stderr)")
        #expect(try cli.run("show", "/before").stdout == "1\n")
        let again = try cli.run("import", ws.path + "/big.csv", "--table", "t")
        #expect(again.code == 0, "\(again.stderr)")
        #expect(try cli.run("commit", "-m", "after").code == 0)

        // A push received by a server whose disk fills: refused, consistent, and retried later.
        let hubMount = ws.path + "/hubfs"
        try FileManager.default.createDirectory(atPath: hubMount, withIntermediateDirectories: true)
        let hubTmpfs = tmpfs && sh("mount -t tmpfs -o size=1m tmpfs '\(hubMount)'") == 0
        defer { if hubTmpfs { _ = sh("umount '\(hubMount)'") } }
        try CLIRunner(directory: ws.path).run("init", "src")
        let src = CLIRunner(directory: ws.path + "/src")
        try src.run("import", "../big.csv", "--table", "other", "--key", "name")
        try src.run("commit", "-m", "other")
        try CLIRunner(directory: hubMount).run("init", "hub")
        let server = try ServeProcess(directory: hubMount + "/hub", [], environment: hubTmpfs ? [:] : ["CAIRN_FAULT_VFS": "full:20"])
        try src.run("remote", "add", "origin", server.url)
        let push = try src.run("push")
        #expect(push.code != 0, "the push landed on a full disk")
        server.stop()
        let hub = CLIRunner(directory: hubMount + "/hub")
        let hubFsck = try hub.run("fsck", "--json")
        #expect(hubFsck.code == 0 && hubFsck.stdout.contains("\"problems\":[]"), "\(hubFsck.stdout) \(hubFsck.stderr)")
        #expect(try hub.run("show", "main", "--hash").code != 0, "main moved onto a push the disk could not hold")
        if hubTmpfs { #expect(sh("mount -o remount,size=64m '\(hubMount)'") == 0) }
        let server2 = try ServeProcess(directory: hubMount + "/hub")
        try src.run("remote", "remove", "origin")
        try src.run("remote", "add", "origin", server2.url)
        let retry = try src.run("push")
        #expect(retry.code == 0, "\(retry.stderr)")
        server2.stop()
    }

    /// Reads and writes failing on cue, through the SQLite VFS of CFaultVFS.
    @Test func ioErrorsFailWithExitThreeAndLeaveTheStoreConsistent() throws {
        let ws = Workspace()
        try ws.write("big.csv", csv(rows: 20_000))
        let cli = ws.cli
        try cli.run("init")
        try cli.run("import", "big.csv", "--table", "t")
        try cli.run("commit", "-m", "one")
        let head = try cli.run("show", "main", "--hash").stdout
        // An import of big.csv makes about 11 writes (format 5): write:9 fails it near its end.
        for (spec, args) in [("write:5", ["import", "big.csv", "--table", "u"]), ("write:9", ["import", "big.csv", "--table", "u"]),
                             ("write:2", ["set", "/x", "1"]), ("read:3", ["export", "/t", "--format", "csv"]),
                             ("read:8", ["export", "/t", "--format", "csv"]), ("read:0", ["log"]),
                             ("write:0", ["commit", "--allow-empty", "-m", "x"])] {
            let r = try cli.run(args, environment: ["CAIRN_FAULT_VFS": spec])
            #expect(r.code == 3, "\(spec) \(args): exit \(r.code) \(r.stderr)")
            #expect(r.stderr.contains("I/O error on ") && r.stderr.contains("store.db"), "\(spec) \(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(spec) \(args): \(r.stderr)")
            let fsck = try cli.run("fsck", "--json")
            #expect(fsck.code == 0 && fsck.stdout.contains("\"problems\":[]"), "after \(spec) \(args): \(fsck.stdout) \(fsck.stderr)")
            #expect(try cli.run("show", "main", "--hash").stdout == head)
        }
        #expect(try cli.run("import", "big.csv", "--table", "u").code == 0)
    }
}
