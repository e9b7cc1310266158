@testable import CairnStore
import Testing
@testable import CairnValues

@Suite struct JSONTests {
    let store = memoryNodeStore()

    func roundTrip(_ text: String) throws -> String {
        try JSON.string(JSON.parse(text, store: store))
    }

    @Test func integersStayIntegersAndFloatsStayFloats() throws {
        #expect(try JSON.parse("1", store: store) == .int(1))
        #expect(try JSON.parse("1.0", store: store) == .float(1.0))
        #expect(try JSON.parse("-0.0", store: store) == .float(-0.0))
        #expect(try JSON.parse("1e3", store: store) == .float(1000))
        #expect(try JSON.parse("9223372036854775807", store: store) == .int(.max))
        #expect(try roundTrip("[1,1.0,-0.0,0.1,1e-05,123456789012345680000.0]") == "[1,1.0,-0.0,0.1,1e-05,1.2345678901234568e+20]")
    }

    @Test func objectsAndNesting() throws {
        let text = #"{"b":[true,false,null],"a":{"x":"y\n\"z\"","é":1}}"#
        // Keys come out sorted by UTF-8 bytes.
        #expect(try roundTrip(text) == #"{"a":{"x":"y\n\"z\"","é":1},"b":[true,false,null]}"#)
    }

    @Test func taggedKindsRoundTrip() throws {
        let set = try ProllySet.build([.int(2), .int(1)], store: store)
        let big = try Blob.build((0..<5000).map { UInt8($0 % 251) }, store: store)
        try store.flush()
        let nonStringKeys = try ProllyMap.build([(.int(1), .string("one"))], store: store)
        let looksLikeATag = try ProllyMap.build([(.string("$set"), .int(1))], store: store)
        let values: [Value] = [
            .set(set), .counter(-4), .float(.nan), .float(.infinity), .float(-.infinity),
            .struct(StructValue(name: "P", fields: [("x", .int(1))])),
            .ref(ValueRef(target: set.hash, targetKind: .set)),
            .blob(try Blob.build([1, 2, 3], store: store)), .blob(big),
            .map(nonStringKeys), .map(looksLikeATag),
        ]
        for v in values {
            let text = try JSON.string(v, tagged: true)
            #expect(try JSON.parse(text, store: store, tagged: true) == v, "\(text)")
        }
        #expect(try JSON.string(.counter(3), tagged: true) == #"{"$counter":3}"#)
        #expect(try JSON.string(.map(looksLikeATag), tagged: true) == #"{"$map":[["$set",1]]}"#)
        // An object with "$" keys that is not exactly a tag is an ordinary object.
        #expect(try JSON.parse(#"{"$set":[1],"other":2}"#, store: store, tagged: true).kind == .map)
    }

    /// Plain JSON, the default: every key is an ordinary key in and out, and kinds JSON lacks
    /// are written in their nearest JSON form.
    @Test func plainJSONKeepsDollarKeysAndWritesNearestForms() throws {
        for text in [#"{"tags":{"$set":["b","a","a"]}}"#, #"{"op":{"$set":{"a":1}}}"#, ##"{"$ref":"#/x","kind":"map"}"##,
                     #"{"$bytes":"abc"}"#, #"{"$counter":1}"#, #"{"$map":[[1,2]]}"#] {
            let v = try JSON.parse(text, store: store)
            #expect(try JSON.string(v) == text, "\(text)")
        }
        let set = try ProllySet.build([.int(2), .int(1)], store: store)
        #expect(try JSON.string(.set(set)) == "[1,2]")
        #expect(try JSON.string(.counter(-4)) == "-4")
        #expect(try JSON.string(.float(.nan)) == "null")
        #expect(try JSON.string(.tuple([.int(1), .string("a")])) == #"[1,"a"]"#)
        #expect(try JSON.string(.tuple([.int(1)]), tagged: true) == #"{"$tuple":[1]}"#)
        #expect(try JSON.string(.blob(try Blob.build([1, 2, 3], store: store))) == #""AQID""#)
        #expect(try JSON.string(.struct(StructValue(name: "P", fields: [("x", .int(1))]))) == #"{"x":1}"#)
        let intKeyed = try ProllyMap.build([(.int(1), .string("one")), (.float(0.5), .bool(true))], store: store)
        #expect(try JSON.string(.map(intKeyed)) == #"{"1":"one","0.5":true}"#)
    }

    @Test(arguments: [
        ("", 0), ("{", 1), ("[1,]", 3), ("[1 2]", 3), ("{\"a\" 1}", 5), ("tru", 0), ("01", 0), ("1.", 0), ("-", 0),
        ("\"abc", 0), ("\"\\x\"", 1), ("[1] 2", 4), ("9223372036854775808", 0), ("1e999", 0), ("\"\\ud800\"", 7),
        ("{\"a\":1,}", 7), ("\"a\u{01}\"", 2),
    ])
    func malformedInputReportsItsOffset(text: String, offset: Int) {
        do {
            _ = try JSON.parse(text, store: store)
            Issue.record("accepted \(text)")
        } catch let e as JSONError {
            #expect(e.offset == offset, "\(text): \(e)")
        } catch {
            Issue.record("\(text): \(error)")
        }
    }

    /// Strings: ASCII, UTF-8 and escapes decode, one parser reuses its buffer across them, and
    /// bytes that are not UTF-8 are refused with the string's offset.
    @Test func stringsAreDecodedAndValidated() throws {
        let doc = try JSON.parse(Array(#"["plain","h\u00e9","hé","a\"b","😀x",""]"#.utf8), store: store)
        guard case .list(let l) = doc else { Issue.record("not a list"); return }
        #expect(try l.elements() == ["plain", "hé", "hé", "a\"b", "😀x", ""].map { Value.string($0) })
        for bad: [UInt8] in [[0x22, 0xFF, 0x22], [0x5B, 0x22, 0x61, 0x22, 0x2C, 0x22, 0xC3, 0x22, 0x5D], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            do {
                _ = try JSON.parse(bad, store: store)
                Issue.record("accepted \(bad)")
            } catch let e as JSONError {
                #expect(e.message.contains("UTF-8"), "\(e)")
                #expect(e.offset == (bad[0] == 0x5B ? 5 : 0))
            }
        }
    }

    /// With a drain, a large value streams out in pieces of about 64 KiB, and the pieces put
    /// together are exactly the text written in one go, pretty or not, `$map` form included.
    @Test func writerStreamsLargeValues() throws {
        let rows = try ProllyMap.build((0..<10_000).map { i in
            (Value.string("k\(i)"), Value.map(try! ProllyMap.build([(.string("n"), .int(Int64(i))), (.string("s"), .string("v\(i)"))], store: store)))
        }, store: store)
        let intKeyed = try ProllyMap.build((0..<12_000).map { (Value.int(Int64($0)), Value.list(try! ProllyList.build([.int(Int64($0))], store: store))) }, store: store)
        for value in [Value.map(rows), .map(intKeyed), .list(try ProllyList.build((0..<40_000).map { Value.int(Int64($0)) }, store: store))] {
            for pretty in [false, true] {
                var whole = JSONWriter(pretty: pretty)
                try whole.write(value)
                var pieces: [[UInt8]] = []
                var w = JSONWriter(pretty: pretty) { pieces.append($0) }
                try w.write(value)
                #expect(w.out.count < 1 << 17)
                w.flush()
                #expect(pieces.count >= 2)
                #expect(pieces.dropLast().allSatisfy { $0.count >= 1 << 16 && $0.count < 1 << 17 })
                #expect(Array(pieces.joined()) == whole.out)
            }
        }
        #expect(try JSON.string(.map(intKeyed), tagged: true).hasPrefix(#"{"$map":[[0,[0]],[1,[1]]"#))
    }

    /// Writing a value from its encoding gives exactly the text of writing the decoded value,
    /// for rows of every shape: scalars with escapes, non-ASCII, NaN, nested values, tiny maps
    /// and maps whose keys spell a tag.
    @Test func writingFromTheEncodingMatchesTheValuePath() throws {
        var rng = SplitMix(seed: 77)
        let scalars: [Value] = [.int(0), .int(-42), .int(.min), .float(1.0), .float(-0.0), .float(2.5e-300), .float(.nan),
                                .float(.infinity), .bool(true), .bool(false), .null, .string(""), .string("plain"),
                                .string("q\"b\\s\n\t\u{01}"), .string("héllo"), .counter(3)]
        let keys = ["id", "name", "a", "$set", "fields", "$struct", "é", "x y", "z"]
        for round in 0..<300 {
            var entries: [(Value, Value)] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let k: Value = Int.random(in: 0..<12, using: &rng) == 0 ? .int(7) : .string(keys.randomElement(using: &rng)!)
                var v = scalars.randomElement(using: &rng)!
                if Int.random(in: 0..<10, using: &rng) == 0 { v = .list(try ProllyList.build([.int(1), v], store: store)) }
                entries.append((k, v))
            }
            if round % 50 == 0 { entries = [(.string("$set"), .list(try ProllyList.build([.int(1)], store: store)))] }
            let value = Value.map(try ProllyMap.build(entries, store: store))
            let encoded = try value.encoded(store: store)
            for pretty in [false, true] { for tagged in [false, true] {
                var a = JSONWriter(pretty: pretty, tagged: tagged), b = JSONWriter(pretty: pretty, tagged: tagged)
                try a.write(value)
                try encoded.withUnsafeBytes { try b.write(encoded: $0, store: store) }
                #expect(String(decoding: b.out, as: UTF8.self) == String(decoding: a.out, as: UTF8.self), "round \(round)")
            } }
        }
    }

    /// A map of maps written compact and pretty, spelled out by hand.
    @Test func nestedMapsAreWrittenAsNestedObjects() throws {
        let row1 = Value.map(try ProllyMap.build([(.string("a"), .int(1)), (.string("b"), .string("x\"y")), (.string("c"), .bool(true))], store: store))
        let row2 = Value.map(try ProllyMap.build([(.string("a"), .float(2.0)), (.string("b"), .null), (.string("c"), .string("é"))], store: store))
        let row3 = Value.map(try ProllyMap.build([(.string("$set"), .int(1))], store: store))
        let table = Value.map(try ProllyMap.build([(.string("k1"), row1), (.string("k2"), row2), (.string("k3"), row3)], store: store))
        #expect(try JSON.string(table) == #"{"k1":{"a":1,"b":"x\"y","c":true},"k2":{"a":2.0,"b":null,"c":"é"},"k3":{"$set":1}}"#)
        #expect(try JSON.string(table, pretty: true, tagged: true) == """
            {
              "k1": {
                "a": 1,
                "b": "x\\"y",
                "c": true
              },
              "k2": {
                "a": 2.0,
                "b": null,
                "c": "é"
              },
              "k3": {
                "$map": [["$set",1]]
              }
            }
            """)
    }

    /// Parsing straight to the encoding gives the bytes of the value built by hand, for random
    /// nested documents: small and large objects, arrays, long strings, keys that look like tags.
    @Test func parsingToTheEncodingMatchesBuiltValues() throws {
        var rng = SplitMix(seed: 91)
        func randomValue(_ depth: Int) throws -> Value {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &rng) {
            case 0: return .int(Int64.random(in: -1_000_000...1_000_000, using: &rng))
            case 1: return .float(Double(Int.random(in: -999...999, using: &rng)) / 8)
            case 2: return .string(Int.random(in: 0..<20, using: &rng) == 0 ? String(repeating: "long ", count: 1200) : "s\(Int.random(in: 0..<50, using: &rng))")
            case 3: return [.null, .bool(true), .bool(false)].randomElement(using: &rng)!
            case 4: return .string("é\"\\\n")
            case 5: return .list(try ProllyList.build((0..<Int.random(in: 0..<6, using: &rng)).map { _ in try randomValue(depth + 1) }, store: store))
            default:
                let n = Int.random(in: 0..<(Int.random(in: 0..<8, using: &rng) == 0 ? 300 : 6), using: &rng)
                let keys = ["a", "b", "$x", "$set", "k", "é", ""]
                var entries: [(Value, Value)] = []
                for i in 0..<n {
                    let k = n > 6 ? "key\(i)" : keys.randomElement(using: &rng)!
                    entries.append((.string(k), try randomValue(depth + 1)))
                }
                // A lone "$set" key would read as a tag: the writer spells such maps as $map.
                return .map(try ProllyMap.build(entries, store: store))
            }
        }
        for round in 0..<150 {
            let value = try randomValue(0)
            let text = try JSON.string(value)
            var p = JSONParser(source: ByteSource(bytes: Array(text.utf8)), store: store)
            let (bytes, refs) = try p.encodedDocument()
            let (expected, expectedRefs) = try value.encodedWithRefs(store: store)
            #expect(bytes == expected, "round \(round): \(text.prefix(200))")
            #expect(Set(refs) == Set(expectedRefs))
        }
    }

    /// Objects with "$" keys that are not exactly a tag's keys are ordinary objects, whatever
    /// sorts first (an empty key used to send the tag check into endless recursion).
    @Test func dollarKeysThatAreNotTags() throws {
        for text in [#"{"":1,"$x":2}"#, #"{"$x":2,"":1}"#, #"{"a":1,"$set":[1]}"#, #"{"$set":[1],"$x":1,"b":2}"#] {
            guard case .map(let m) = try JSON.parse(text, store: store) else { Issue.record("\(text) is not a map"); continue }
            #expect(m.count >= 2, "\(text)")
        }
        #expect(try JSON.parse(#"{"$counter":1,"$counter":2}"#, store: store, tagged: true) == .counter(2))
    }

    /// Mutated JSON (bytes flipped, cut, duplicated, spliced from other documents): either a
    /// value or a JSONError, never a crash or another error.
    @Test func mutatedJSONNeverCrashes() throws {
        var rng = SplitMix(seed: 404)
        let seeds = [#"{"a":[1,2.5,{"$set":[1,"x"]}],"":{"$x":null},"b":"é\u00e9\ud83d\ude00"}"#,
                     #"[{"$struct":"P","fields":{"x":1}},{"$counter":-3},{"$float":"nan"},{"$map":[[1,2]]}]"#,
                     #"{"$bytes":"Zm9v","k":[[],{},[[[]]]],"n":-0.0e+10}"#]
            .map { Array($0.utf8) }
        let alphabet = Array(#"{}[]:,"\$-+.eE0123456789abtrufnl "#.utf8) + [0x00, 0xff, 0xc3]
        for _ in 0..<3000 {
            var b = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !b.isEmpty else { break }
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: b[i] = alphabet.randomElement(using: &rng)!
                case 1: b.remove(at: i)
                case 2: b.insert(alphabet.randomElement(using: &rng)!, at: i)
                case 3: b = Array(b[..<i])
                default:
                    let other = seeds.randomElement(using: &rng)!
                    let j = Int.random(in: 0..<other.count, using: &rng)
                    b = Array(b[..<i]) + other[j...]
                }
            }
            do {
                _ = try JSON.parse(b, store: store)
            } catch is JSONError {
            } catch {
                Issue.record("\(String(decoding: b, as: UTF8.self)): \(error)")
            }
        }
    }

    @Test func parsesFromPieces() throws {
        let text = Array(#"{"list":[1,2,3,"four",{"five":5.5}],"s":"\u00e9\ud83d\ude00"}"#.utf8)
        var pieces = stride(from: 0, to: text.count, by: 3).map { Array(text[$0..<min(text.count, $0 + 3)]) }
        var p = JSONParser(source: ByteSource { pieces.isEmpty ? [] : pieces.removeFirst() }, store: store)
        let v = try p.document()
        #expect(v == (try JSON.parse(text, store: store)))
        guard case .map(let m) = v else { Issue.record("not a map"); return }
        #expect(try m.get(.string("s")) == .string("é😀"))
    }

    @Test func deepNestingIsRefused() {
        let text = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONError.self) { try JSON.parse(text, store: store) }
    }

    @Test func base64() {
        for n in 0..<10 {
            let bytes = (0..<n).map { UInt8($0 * 37 % 256) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.decode("Zm9=v") == nil)
    }
}
