import CairnStore
import Foundation
import Testing

/// `cairn serve` as a child process on 127.0.0.1 and a port the system picks.
final class ServeProcess {
    let process: Process
    let port: Int
    let log: Pipe
    var url: String { "http://127.0.0.1:\(port)" }

    init(directory: String, _ arguments: [String] = [], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["serve", directory, "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        log = Pipe()
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The line "Serving … at http://127.0.0.1:PORT" says where it listens.
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let d = log.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
            if let r = text.range(of: #"at http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let digits = text[r].split(separator: ":").last!.prefix { $0.isNumber }
                port = Int(digits)!
                // Keep draining the log so the server never blocks on a full pipe.
                let handle = log.fileHandleForReading
                DispatchQueue.global().async { while !handle.availableData.isEmpty {} }
                return
            }
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "serve did not start: \(text)"])
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { stop() }
}

@Suite(.serialized) struct SyncCommandTests {
    /// A workspace with a store `a` holding a table and two commits.
    func source(rows: Int = 200) throws -> Workspace {
        let ws = Workspace()
        try ws.cli.run("init", "a")
        var csv = "id,name,score\n"
        for i in 0..<rows { csv += "k\(String(format: "%06d", i)),name \(i),\(i % 97)\n" }
        try ws.write("rows.csv", csv)
        let a = CLIRunner(directory: ws.path + "/a")
        #expect(try a.run("import", "../rows.csv", "--table", "t", "--key", "id").code == 0)
        #expect(try a.run("commit", "-m", "one").code == 0)
        #expect(try a.run("set", "/t/k000001/score", "-5").code == 0)
        #expect(try a.run("commit", "-m", "two").code == 0)
        return ws
    }

    @Test func pushCloneFetchPullOverHTTPAndOnDisk() throws {
        let ws = try source()
        try ws.cli.run("init", "srv/hub")
        let server = try ServeProcess(directory: ws.path + "/srv")
        let a = CLIRunner(directory: ws.path + "/a")
        let hub = server.url + "/hub"
        #expect(try a.run("remote", "add", "origin", hub).code == 0)
        let remotes = try a.run("remote")
        #expect(remotes.stdout == "origin\t\(hub)\n")
        let push = try a.run("push")
        #expect(push.code == 0, "\(push.stderr)")
        #expect(push.stdout.contains("[new branch]"))
        #expect(try a.run("push").stdout == "Everything up-to-date\n")

        let clone = try ws.cli.run("clone", hub, "c", "--json")
        #expect(clone.code == 0, "\(clone.stderr)")
        #expect(clone.stdout.contains("\"head\":\"main\""))
        let c = CLIRunner(directory: ws.path + "/c")
        #expect(try c.run("log", "--oneline").stdout == a.run("log", "--oneline").stdout)
        #expect(try c.run("show", "HEAD:", "--hash").stdout == a.run("show", "HEAD:", "--hash").stdout)

        // c changes a row and pushes; a pulls it (a fast-forward); d clones a on disk.
        #expect(try c.run("set", "/t/k000002/name", "\"changed\"").code == 0)
        #expect(try c.run("commit", "-m", "three").code == 0)
        let cPush = try c.run("push", "--json")
        #expect(cPush.code == 0 && cPush.stdout.contains("\"ref\":\"heads/main\""), "\(cPush.stdout) \(cPush.stderr)")
        let pull = try a.run("pull")
        #expect(pull.code == 0 && pull.stdout.contains("Fast-forward"), "\(pull.stdout) \(pull.stderr)")
        #expect(try a.run("show", "/t/k000002/name").stdout == "\"changed\"\n")
        #expect(try a.run("status", "--json").stdout.contains("\"changes\":{}"))
        let d = try ws.cli.run("clone", ws.path + "/a", "d")
        #expect(d.code == 0, "\(d.stderr)")
        let dc = CLIRunner(directory: ws.path + "/d")
        #expect(try dc.run("log", "--oneline").stdout == c.run("log", "--oneline").stdout)
        #expect(try dc.run("set", "/t/k000003/name", "\"from d\"").code == 0)
        #expect(try dc.run("commit", "-m", "four").code == 0)
        #expect(try dc.run("push").code == 0)
        #expect(try a.run("log", "-n", "1", "--oneline").stdout.contains("four"))
        let fetch = try c.run("fetch", "--json")
        #expect(fetch.code == 0 && fetch.stdout.contains("\"updated\":[]"), "\(fetch.stdout)")
        #expect(try a.run("push").code == 0)
        let f2 = try c.run("fetch")
        #expect(f2.stdout.contains("main -> origin/main"), "\(f2.stdout)")
        #expect(try c.run("log", "origin/main", "-n", "1", "--oneline").stdout.contains("four"))
        server.stop()
    }

    @Test func refusalsAndFailuresHaveTheirExitCodes() throws {
        let ws = try source()
        try ws.cli.run("init", "srv/hub")
        let server = try ServeProcess(directory: ws.path + "/srv", ["--token", "s3cret"])
        let a = CLIRunner(directory: ws.path + "/a")
        let hub = server.url + "/hub"
        expectError(try a.run("push"), code: 2, contains: "no remote named origin")
        #expect(try a.run("remote", "add", "origin", hub).code == 0)
        expectError(try a.run("remote", "add", "origin", hub), code: 2, contains: "exists")
        expectError(try a.run("remote", "add", "x", "ftp://example.com/x"), code: 2, contains: "neither")
        // No token, a wrong one: authentication refused (exit 3); the right one from the environment.
        expectError(try a.run("push"), code: 3, contains: "token")
        expectError(try a.run("push", environment: ["CAIRN_TOKEN": "nope"]), code: 3, contains: "refused")
        #expect(try a.run("push", environment: ["CAIRN_TOKEN": "s3cret"]).code == 0)
        // Reads stay open: a clone needs no token.
        #expect(try ws.cli.run("clone", hub, "b").code == 0)
        let b = CLIRunner(directory: ws.path + "/b")
        // b and a diverge; b's push is not a fast-forward: exit 1, then --force.
        #expect(try a.run("set", "/t/k000004/name", "\"a\"").code == 0)
        #expect(try a.run("commit", "-m", "a").code == 0)
        #expect(try a.run("push", environment: ["CAIRN_TOKEN": "s3cret"]).code == 0)
        #expect(try b.run("set", "/t/k000004/name", "\"b\"").code == 0)
        #expect(try b.run("commit", "-m", "b").code == 0)
        expectError(try b.run("push", environment: ["CAIRN_TOKEN": "s3cret"]), code: 1, contains: "pull first")
        // pull: a conflict on the same cell, exit 1, kept for resolve.
        let pull = try b.run("pull")
        #expect(pull.code == 1 && pull.stdout.contains("CONFLICT /t/k000004/name"), "\(pull.stdout) \(pull.stderr)")
        #expect(try b.run("resolve", "/t/k000004/name", "--theirs").code == 0)
        #expect(try b.run("merge", "--continue").code == 0)
        #expect(try b.run("push", environment: ["CAIRN_TOKEN": "s3cret"]).code == 0)
        #expect(try b.run("push", "--force", environment: ["CAIRN_TOKEN": "s3cret"]).code == 0)
        // Unknown branch on the remote, unreachable server, clone into a full folder.
        expectError(try b.run("pull", "origin", "nosuch"), code: 1, contains: "no branch nosuch")
        server.stop()
        expectError(try b.run("fetch"), code: 3, contains: "cannot reach")
        try ws.write("full/file.txt", "x")
        expectError(try ws.cli.run("clone", hub, "full"), code: 2, contains: "holds something other")
        expectError(try ws.cli.run("clone", ws.path + "/nowhere", "n"), code: 3, contains: "no cairn store")
    }

    @Test func aServedStoreIsUsableLocallyAndStopsCleanlyOnSIGTERM() throws {
        let ws = try source()
        let server = try ServeProcess(directory: ws.path + "/a")
        // A single store is served at the root URL.
        #expect(try ws.cli.run("clone", server.url, "c").code == 0)
        let a = CLIRunner(directory: ws.path + "/a")
        // The served store takes local commits meanwhile; a push to its checked-out branch with
        // uncommitted changes there is refused.
        #expect(try a.run("set", "/t/k000009/name", "\"local\"").code == 0)
        let c = CLIRunner(directory: ws.path + "/c")
        #expect(try c.run("set", "/t/k000010/name", "\"c\"").code == 0)
        #expect(try c.run("commit", "-m", "c").code == 0)
        expectError(try c.run("push"), code: 1, contains: "uncommitted")
        #expect(try a.run("commit", "-m", "local").code == 0)
        #expect(try c.run("pull").code == 0)
        #expect(try c.run("push").code == 0)
        #expect(try a.run("status", "--json").stdout.contains("\"changes\":{}"))
        server.process.terminate()
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        let wal = ws.path + "/a/.cairn/store.db-wal"
        let walSize = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
        #expect(walSize == 0, "the WAL was not checkpointed at shutdown")
    }

    @Test func aCloneKilledPartWayResumesAndMovesLess() throws {
        let ws = try source(rows: 60_000)
        let server = try ServeProcess(directory: ws.path + "/a")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        child.arguments = ["clone", server.url, "c"]
        child.currentDirectoryURL = URL(fileURLWithPath: ws.path)
        child.environment = ProcessInfo.processInfo.environment.merging(["CAIRN_SYNC_BATCH": "20"]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        // Kill it once some batches are in.
        var killedWith = 0
        let deadline = Date().addingTimeInterval(60)
        while child.isRunning && Date() < deadline {
            if FileManager.default.fileExists(atPath: ws.path + "/c/.cairn/store.db"),
               let s = try? StoreDirectory.open(in: ws.path + "/c"), let n = try? s.stats().chunks {
                s.close()
                if n >= 40 {
                    kill(child.processIdentifier, SIGKILL)
                    killedWith = n
                    break
                }
            }
            usleep(2000)
        }
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal, "the clone finished before it could be killed")
        let again = try ws.cli.run("clone", server.url, "c")
        #expect(again.code == 0, "\(again.stderr)")
        #expect(again.stderr.contains("Resuming"))
        let total = try ws.cli.run("stats", "--json", "-C", "a").stdout
        let words = again.stderr.split(whereSeparator: { $0 == " " || $0 == "\n" })
        let received = words.firstIndex(of: "Received").flatMap { Int(words[$0 + 1]) } ?? -1
        let all = try StoreDirectory.open(in: ws.path + "/c")
        let chunks = try all.stats().chunks
        all.close()
        #expect(received > 0 && received < chunks, "received \(received) of \(chunks) after \(killedWith) were kept; \(total)")
        let c = CLIRunner(directory: ws.path + "/c")
        #expect(try c.run("log", "--oneline").stdout == ws.cli.run("log", "--oneline", "-C", "a").stdout)
        #expect(try c.run("show", "HEAD:", "--hash").stdout == ws.cli.run("show", "HEAD:", "--hash", "-C", "a").stdout)
        server.stop()
    }
}
