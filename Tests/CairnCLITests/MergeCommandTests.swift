import Foundation
import Testing

/// `cairn merge`, `conflicts`, `resolve`, `rules`, and what they do to `status`, `log` and
/// `branch`, run as a user runs them.
@Suite struct MergeCommandTests {
    func expectOK(_ r: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.code == 0, "exit \(r.code), stdout: \(r.stdout), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// A store with a table and a document on main, a branch `feature` from it, and a change
    /// to each on both sides: `/doc/a` and `/t/1/v` conflict, `/doc/b` and `/t/2` merge.
    func diverged() throws -> Workspace {
        let ws = try initializedWorkspace()
        try ws.write("t.csv", "id,v,w\n1,a,x\n2,b,y\n3,c,z\n")
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t"))
        expectOK(try ws.cli.run("set", "/doc", #"{"a": 1, "b": 1}"#))
        expectOK(try ws.cli.run("commit", "-m", "base"))
        expectOK(try ws.cli.run("checkout", "-b", "feature"))
        expectOK(try ws.cli.run("set", "/doc/a", "2"))
        expectOK(try ws.cli.run("set", "/t/1/v", #""feature""#))
        expectOK(try ws.cli.run("set", "/t/2/w", #""Y""#))
        expectOK(try ws.cli.run("commit", "-m", "feature work"))
        expectOK(try ws.cli.run("checkout", "main"))
        expectOK(try ws.cli.run("set", "/doc/a", "3"))
        expectOK(try ws.cli.run("set", "/doc/b", "5"))
        expectOK(try ws.cli.run("set", "/t/1/v", #""main""#))
        expectOK(try ws.cli.run("commit", "-m", "main work"))
        return ws
    }

    func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

    @Test func aConflictedMergeIsListedResolvedAndContinued() throws {
        let ws = try diverged()
        let r = try ws.cli.run("merge", "feature")
        #expect(r.code == 1)
        #expect(lines(r.stdout) == ["CONFLICT (both modified): /doc/a", "CONFLICT (both modified): /t/1/v"])
        #expect(r.stderr.hasPrefix("error: merge stopped with 2 conflicts"))
        // The working root holds ours at the conflicts, and theirs' other changes.
        #expect(try ws.cli.run("show", "/doc/a").stdout == "3\n")
        #expect(try ws.cli.run("show", "/t/2/w").stdout == "\"Y\"\n")
        let status = try JSONSerialization.jsonObject(with: Data(ws.cli.run("status", "--json").stdout.utf8)) as! [String: Any]
        #expect(status["conflicts"] as? Int == 2 && status["merging"] is String)
        #expect(try ws.cli.run("status").stdout.contains("2 conflicts left"))
        let conflicts = try lines(ws.cli.run("conflicts", "--json").stdout)
        #expect(conflicts == [#"{"path":"/doc/a","base":1,"ours":3,"theirs":2}"#,
                              #"{"path":"/t/1/v","base":"a","ours":"main","theirs":"feature"}"#])
        expectError(try ws.cli.run("commit", "-m", "too soon"), code: 1, contains: "2 conflicts left")
        expectError(try ws.cli.run("merge", "feature"), code: 1, contains: "a merge is in progress")
        expectError(try ws.cli.run("resolve", "/nothing", "--ours"), code: 2, contains: "no conflict at '/nothing'")
        expectError(try ws.cli.run("resolve", "/doc/a"), code: 2, contains: "exactly one of")
        expectOK(try ws.cli.run("resolve", "/doc/a", "--value", "10"))
        expectOK(try ws.cli.run("resolve", "/t", "--theirs"))
        #expect(try ws.cli.run("conflicts").stdout.isEmpty)
        expectOK(try ws.cli.run("merge", "--continue"))
        let head = try JSONSerialization.jsonObject(with: Data(lines(ws.cli.run("log", "--json", "-n", "1").stdout)[0].utf8)) as! [String: Any]
        #expect((head["parents"] as! [String]).count == 2)
        #expect(head["message"] as? String == "Merge branch 'feature' into main")
        #expect(try ws.cli.run("show", "HEAD:/doc").stdout.contains(#""a": 10"#) || ws.cli.run("show", "HEAD:/doc", "--json").stdout == "{\"a\":10,\"b\":5}\n")
        #expect(try ws.cli.run("show", "HEAD:/t/1/v").stdout == "\"feature\"\n")
        #expect(try ws.cli.run("status", "--json").stdout.contains(#""conflicts":0"#))
        // The graph draws the merge's two edges, as git does.
        let graph = try lines(ws.cli.run("log", "--graph", "--oneline").stdout)
        #expect(graph.count == 6 && graph[0].hasPrefix("*   ") && graph[1] == "|\\  " && graph[5].hasPrefix("* "))
        #expect(graph.contains("|/  "))
        // feature is merged now: -d deletes it and says where it pointed.
        let d = try ws.cli.run("branch", "-d", "feature")
        #expect(d.code == 0 && d.stdout.hasPrefix("Deleted branch feature (was "))
    }

    @Test func abortLeavesStatusLogAndShowAsBefore() throws {
        let ws = try diverged()
        expectOK(try ws.cli.run("set", "/other", "1"))  // uncommitted, untouched by the merge
        let before = try storeSnapshot(ws)
        let show = try ws.cli.run("show", "/doc", "--json").stdout
        #expect(try ws.cli.run("merge", "feature").code == 1)
        #expect(try storeSnapshot(ws) != before)
        expectOK(try ws.cli.run("merge", "--abort"))
        #expect(try storeSnapshot(ws) == before)
        #expect(try ws.cli.run("show", "/doc", "--json").stdout == show)
        expectError(try ws.cli.run("merge", "--abort"), code: 2, contains: "no merge in progress")
    }

    @Test func strategyNoCommitAndFastForward() throws {
        let ws = try diverged()
        // --strategy theirs settles both conflicts to feature; --no-commit leaves the commit to us.
        let r = try ws.cli.run("merge", "feature", "--strategy", "theirs", "--no-commit")
        expectOK(r)
        #expect(try ws.cli.run("show", "/doc/a").stdout == "2\n" && ws.cli.run("show", "/doc/b").stdout == "5\n")
        #expect(try ws.cli.run("log", "--oneline").stdout.split(separator: "\n").count == 2)
        expectOK(try ws.cli.run("commit"))
        #expect(try ws.cli.run("log", "--oneline").stdout.split(separator: "\n").count == 4)
        expectError(try ws.cli.run("merge", "feature", "--strategy", "mine"), code: 2, contains: "unknown strategy")
        // Up to date, then a fast-forward of a branch behind, and --no-ff.
        let up = try ws.cli.run("merge", "feature")
        #expect(up.code == 0 && up.stdout == "Already up to date.\n")
        expectOK(try ws.cli.run("checkout", "feature"))
        let ff = try ws.cli.run("merge", "main", "--json")
        #expect(ff.code == 0 && ff.stdout.contains(#""result":"fast-forward""#))
        #expect(try ws.cli.run("show", "HEAD", "--hash").stdout == ws.cli.run("show", "main", "--hash").stdout)
        expectOK(try ws.cli.run("branch", "behind", "HEAD~1"))
        expectOK(try ws.cli.run("checkout", "behind"))
        let noff = try ws.cli.run("merge", "feature", "--no-ff", "-m", "explicit", "--json")
        #expect(noff.code == 0 && noff.stdout.contains(#""result":"merged""#))
        #expect(try ws.cli.run("log", "-n", "1", "--oneline").stdout.hasSuffix(" explicit\n"))
        expectError(try ws.cli.run("merge", "nosuchrev"), code: 2, contains: "unknown revision")
    }

    @Test func uncommittedChangesAreKeptOrTheMergeIsRefused() throws {
        let ws = try diverged()
        expectOK(try ws.cli.run("set", "/t/2/w", #""mine""#))
        let before = try storeSnapshot(ws)
        expectError(try ws.cli.run("merge", "feature"), code: 1, contains: "/t/2/w")
        #expect(try storeSnapshot(ws) == before)
    }

    @Test func rulesAreDataAndSettleMerges() throws {
        let ws = try initializedWorkspace()
        expectOK(try ws.cli.run("set", "/players", #"{"ada": {"score": 10, "name": "Ada"}}"#))
        expectOK(try ws.cli.run("rules", "/players/*/score", "counter"))
        expectOK(try ws.cli.run("rules", "/players/*/name", "theirs"))
        #expect(try ws.cli.run("rules").stdout == "/players/*/name theirs\n/players/*/score counter\n")
        #expect(try ws.cli.run("rules", "--json").stdout == #"{"/players/*/name":"theirs","/players/*/score":"counter"}"# + "\n")
        expectError(try ws.cli.run("rules", "/x", "sometimes"), code: 2, contains: "unknown merge rule")
        expectError(try ws.cli.run("rules", "x", "ours"), code: 2, contains: "malformed rule pattern")
        expectError(try ws.cli.run("rules", "--rm", "/nope"), code: 2, contains: "no merge rule")
        // Rules show in status and diff like any data.
        #expect(try ws.cli.run("status").stdout.contains(".rules: 1 added"))
        expectOK(try ws.cli.run("commit", "-m", "base"))
        expectOK(try ws.cli.run("rules", "/players/*/name", "ours"))
        #expect(try ws.cli.run("diff").stdout.contains("/.rules"))
        expectOK(try ws.cli.run("rules", "--rm", "/players/*/name"))
        #expect(try ws.cli.run("diff", "--json").stdout.contains(#""op":"remove""#))
        expectOK(try ws.cli.run("rules", "/players/*/name", "theirs"))
        #expect(try ws.cli.run("status").stdout.contains("nothing to commit"))
        expectOK(try ws.cli.run("checkout", "-b", "other"))
        expectOK(try ws.cli.run("set", "/players/ada/score", "15"))
        expectOK(try ws.cli.run("set", "/players/ada/name", #""Ada L""#))
        expectOK(try ws.cli.run("commit", "-m", "other"))
        expectOK(try ws.cli.run("checkout", "main"))
        expectOK(try ws.cli.run("set", "/players/ada/score", "13"))
        expectOK(try ws.cli.run("set", "/players/ada/name", #""A. Lovelace""#))
        expectOK(try ws.cli.run("commit", "-m", "main"))
        expectOK(try ws.cli.run("merge", "other"))
        #expect(try ws.cli.run("show", "/players/ada", "--json").stdout == #"{"name":"Ada L","score":18}"# + "\n")
    }

    @Test func lwwValuesShowPlainAndCounterTagsMakeCounters() throws {
        let ws = try initializedWorkspace()
        expectOK(try ws.cli.run("set", "/doc", #"{"title": "a"}"#))
        expectOK(try ws.cli.run("rules", "/doc/title", "lww"))
        expectOK(try ws.cli.run("set", "/doc/title", #""b""#))
        #expect(try ws.cli.run("show", "/doc/title").stdout == "\"b\"\n")
        #expect(try ws.cli.run("show", "/doc/title", "--tagged", "--json").stdout.contains(#""$struct":"cairn.lww""#))
        #expect(try ws.cli.run("export", "WORKING:/doc").stdout.contains(#""title":"b""#) || ws.cli.run("export", "WORKING:/doc").stdout.contains(#""title": "b""#))
        // Paths see through a stamped value; a write under it stamps the whole register anew.
        expectOK(try ws.cli.run("rules", "/cfg", "lww"))
        expectOK(try ws.cli.run("set", "/cfg", #"{"a": 1}"#))
        #expect(try ws.cli.run("show", "/cfg/a").stdout == "1\n")
        expectOK(try ws.cli.run("set", "/cfg/b", "2"))
        #expect(try ws.cli.run("show", "/cfg", "--json").stdout == #"{"a":1,"b":2}"# + "\n")
        #expect(try ws.cli.run("show", "/cfg", "--tagged", "--json").stdout.contains(#""$struct":"cairn.lww""#))
        // An lww rule on rows applies to nothing: rows are still set as rows.
        try ws.write("t.csv", "id,v\n1,a\n")
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t"))
        expectOK(try ws.cli.run("rules", "/t/*", "lww"))
        expectOK(try ws.cli.run("set", "/t/2", #"{"v": "b"}"#))
        // A Struct's fields are set and removed by path, as show finds them.
        expectOK(try ws.cli.run("set", "--tagged", "/p", #"{"$struct": "P", "fields": {"x": 1}}"#))
        expectOK(try ws.cli.run("set", "/p/y", "2"))
        expectOK(try ws.cli.run("rm", "/p/x"))
        #expect(try ws.cli.run("show", "/p", "--tagged", "--json").stdout == #"{"$struct":"P","fields":{"y":2}}"# + "\n")
        expectOK(try ws.cli.run("set", "--tagged", "/hits", #"{"$counter": 5}"#))
        #expect(try ws.cli.run("show", "/hits", "--tagged").stdout == #"{"$counter":5}"# + "\n")
    }

    @Test func branchDeleteRefusesUnmergedOrDirtyBranches() throws {
        let ws = try diverged()
        expectError(try ws.cli.run("branch", "-d", "feature"), code: 1, contains: "not merged")
        expectOK(try ws.cli.run("branch", "clean", "HEAD~1"))
        expectOK(try ws.cli.run("checkout", "clean"))
        expectOK(try ws.cli.run("set", "/doc/z", "1"))
        expectOK(try ws.cli.run("checkout", "main"))
        expectError(try ws.cli.run("branch", "-d", "clean"), code: 1, contains: "uncommitted changes")
        let gone = try ws.cli.run("branch", "-D", "feature")
        #expect(gone.code == 0)
        // The printed hash brings it back.
        let hash = gone.stdout.split(separator: " ").last!.dropLast(2)
        expectOK(try ws.cli.run("branch", "feature", String(hash)))
        #expect(try ws.cli.run("log", "feature", "-n", "1", "--oneline").stdout.hasSuffix(" feature work\n"))
    }
}
