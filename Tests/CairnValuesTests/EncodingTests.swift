@testable import CairnStore
import Testing
@testable import CairnValues

@Suite struct XXHash64Tests {
    // From Python's xxhash package.
    @Test func knownVectors() {
        #expect(XXHash64.hash([]) == 0xef46db3751d8e999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xd24ec4f1a98c6e5b)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44bc2cf5ad770999)
        #expect(XXHash64.hash(Array("abc".utf8), seed: 1) == 0xbea9ca8199328908)
        #expect(XXHash64.hash((0..<100).map { UInt8($0) }) == 0x6ac1e58032166597)
        #expect(XXHash64.hash((0..<100).map { UInt8($0) }, seed: 7) == 0x80653e7e9b887cdd)
        #expect(XXHash64.hash(Array("0123456789abcdefghijklmnopqrstuvwxyz0123".utf8), seed: 3) == 0x15836ee0bfeec6c3)
    }
}

@Suite struct EncodingTests {
    let store = memoryNodeStore()

    /// Exact bytes, as docs/format.md specifies them.
    @Test func canonicalBytes() throws {
        #expect(try Value.null.encoded(store: store) == [0x00])
        #expect(try Value.bool(false).encoded(store: store) == [0x01])
        #expect(try Value.bool(true).encoded(store: store) == [0x02])
        #expect(try Value.int(0).encoded(store: store) == [0x03, 0x00])
        #expect(try Value.int(-1).encoded(store: store) == [0x03, 0x01])
        #expect(try Value.int(1).encoded(store: store) == [0x03, 0x02])
        #expect(try Value.int(300).encoded(store: store) == [0x03, 0xd8, 0x04])
        #expect(try Value.float(1.0).encoded(store: store) == [0x04, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0])
        #expect(try Value.float(.nan).encoded(store: store) == [0x04, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0])
        #expect(try Value.float(-.nan).encoded(store: store) == [0x04, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0])
        #expect(try Value.string("hé").encoded(store: store) == [0x05, 0x03, 0x68, 0xc3, 0xa9])
        #expect(try Value.counter(-2).encoded(store: store) == [0x11, 0x03])
        let m = try ProllyMap.build([(.string("b"), .int(2)), (.string("a"), .int(1))], store: store)
        #expect(try Value.map(m).encoded(store: store) == [0x0b, 0x02, 0x05, 0x01, 0x61, 0x03, 0x02, 0x05, 0x01, 0x62, 0x03, 0x04])
        let s = StructValue(name: "P", fields: [("y", .int(2)), ("x", .int(1))])
        #expect(try Value.struct(s).encoded(store: store) == [0x0f, 0x01, 0x50, 0x02, 0x01, 0x78, 0x03, 0x02, 0x01, 0x79, 0x03, 0x04])
    }

    @Test func roundTripsEveryKind() throws {
        let list = try ProllyList.build([.int(1), .string("x"), .null], store: store)
        let set = try ProllySet.build([.int(3), .int(1), .int(3)], store: store)
        let blob = try Blob.build(Array(0..<200), store: store)
        let map = try ProllyMap.build([(.int(1), .list(list)), (.string("s"), .set(set))], store: store)
        let values: [Value] = [
            .null, .bool(true), .int(.min), .int(.max), .float(-0.0), .float(0.0), .float(.infinity), .float(.nan),
            .string(""), .string("日本語"), .string(String(repeating: "long ", count: 3000)),
            .blob(blob), .list(list), .set(set), .map(map), .counter(7),
            .struct(StructValue(name: "Pt", fields: [("x", .float(1.5)), ("tags", .set(set))])),
            .ref(ValueRef(target: map.hash, targetKind: .map)),
        ]
        for v in values {
            let bytes = try v.encoded(store: store)
            let back = try Value.decode(bytes, store: store)
            #expect(back == v, "\(v)")
            #expect(try back.encoded(store: store) == bytes)
        }
        #expect(set.count == 2)
    }

    @Test func negativeZeroAndNaN() throws {
        #expect(Value.float(-0.0) != Value.float(0.0))
        #expect(Value.float(.nan) == Value.float(-.nan))
        #expect(Value.int(1) != Value.float(1.0))
    }

    @Test func longStringsGoOutOfLine() throws {
        let long = String(repeating: "abcdefgh", count: 1000)
        let bytes = try Value.string(long).encoded(store: store)
        #expect(bytes[0] == 0x06)
        #expect(bytes.count < 40)
        try store.flush()
        #expect(try Value.decode(bytes, store: store) == .string(long))
    }

    /// The order of kinds, and the corner cases docs/format.md fixes.
    @Test func totalOrder() throws {
        let ordered: [Value] = [
            .null, .bool(false), .bool(true), .int(-5), .int(0), .int(3),
            .float(-.infinity), .float(-1), .float(-0.0), .float(0.0), .float(2.5), .float(.infinity), .float(.nan),
            .string(""), .string("A"), .string("a"), .string("ab"), .string("é"),
        ]
        let enc = try ordered.map { try $0.encoded(store: store) }
        for i in 0..<enc.count {
            for j in 0..<enc.count {
                let c = KeyOrder.compare(enc[i], enc[j])
                #expect(c.signum() == (i < j ? -1 : (i == j ? 0 : 1)).signum(), "\(ordered[i]) vs \(ordered[j])")
            }
        }
    }

    /// Random bytes and mutations of valid encodings: an error or a value, never a crash.
    @Test func decoderSurvivesGarbage() throws {
        var rng = SplitMix(seed: 99)
        let list = try ProllyList.build((0..<20).map { Value.int(Int64($0)) }, store: store)
        let samples: [[UInt8]] = try [
            Value.map(ProllyMap.build([(.string("a"), .list(list)), (.int(2), .float(1))], store: store)).encoded(store: store),
            Value.struct(StructValue(name: "S", fields: [("f", .string("hello"))])).encoded(store: store),
            Value.string("plain").encoded(store: store),
        ]
        var decoded = 0, refused = 0
        for trial in 0..<4000 {
            var bytes: [UInt8]
            if trial % 4 == 0 {
                bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = samples[trial % samples.count]
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                    case 1 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
                    default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                    }
                }
            }
            do {
                _ = try Value.decode(bytes, store: store)
                decoded += 1
            } catch is DecodeError {
                refused += 1
            } catch is StoreError {
                refused += 1
            } catch is ValueError {
                refused += 1
            }
            var chunk = [Format.version]
            chunk.append(contentsOf: bytes)
            _ = try? Node(hash: Hash(of: chunk), bytes: chunk)
        }
        #expect(refused > 1000)
        #expect(decoded + refused == 4000)
    }

    @Test func deepNestingIsRefused() {
        let bytes = [UInt8](repeating: Tag.listLeaf.rawValue, count: 1) + [UInt8](repeating: 0, count: 0)
        _ = bytes
        var nested: [UInt8] = [0x00]
        for _ in 0..<200 { nested = [0x09, 0x01] + nested }
        #expect(throws: DecodeError.self) { try Value.decode(nested, store: store) }
    }

    /// An internal node whose subtree counts add past 2⁶⁴ is refused, so positional lookups
    /// can never underflow.
    @Test func overflowingSubtreeCountsAreRefused() {
        var chunk: [UInt8] = [Format.version, Tag.listNode.rawValue, 0x01, 0x02]
        for _ in 0..<2 {
            chunk += [UInt8](repeating: 7, count: 20)
            chunk += [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]  // 2^64 - 1
        }
        #expect(throws: DecodeError.self) { try Node(hash: Hash(of: chunk), bytes: chunk) }
    }

    @Test func nonMinimalVarintIsRefused() {
        #expect(throws: DecodeError.self) { try Value.decode([0x03, 0x80, 0x00], store: store) }
        #expect(throws: DecodeError.self) { try Value.decode([0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], store: store) }
    }
}
