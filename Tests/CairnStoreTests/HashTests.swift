import Testing
@testable import CairnStore

@Suite struct HashTests {
    // Vectors from Python: base32 of sha256(x)[:20], alphabet swapped to 0-9a-v.
    @Test(arguments: [
        ("", "seoc8gkovge196nruj49irtp4gjqsgf4"),
        ("abc", "n9s1dfsf077ukga183f5rbh24eo06od3"),
        ("hello, world", "1757sjladq5ejhuic4b72a8o921m8j87"),
    ])
    func knownVectors(input: String, text: String) {
        let h = Hash(of: Array(input.utf8))
        #expect(h.description == text)
        #expect(Hash(text) == h)
    }

    @Test func allByteValues() {
        let h = Hash(of: (0...255).map { UInt8($0) })
        #expect(h.description == "82nv5qeir292shtfqhi8sqb795olgu2v")
    }

    @Test func bytesRoundTrip() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<200 {
            let bytes = randomBytes(20, &rng)
            let h = Hash(bytes: bytes)!
            #expect(h.bytes == bytes)
            #expect(Hash(h.description) == h)
        }
    }

    @Test(arguments: ["", "seoc8gkovge196nruj49irtp4gjqsgf", "seoc8gkovge196nruj49irtp4gjqsgf44",
                      "SEOC8GKOVGE196NRUJ49IRTP4GJQSGF4", "seoc8gkovge196nruj49irtp4gjqsgfw", "seoc8gkovge196nruj49irtp4gjqsg-4"])
    func rejectsMalformedText(text: String) {
        #expect(Hash(text) == nil)
    }

    @Test func rejectsWrongByteCount() {
        #expect(Hash(bytes: [UInt8](repeating: 1, count: 19)) == nil)
        #expect(Hash(bytes: [UInt8](repeating: 1, count: 21)) == nil)
    }

    /// Hashes, their bytes and their text form all sort the same way.
    @Test func orderMatchesBytesAndText() {
        var rng = SplitMix(seed: 11)
        let hashes = (0..<300).map { _ in Hash(bytes: randomBytes(20, &rng))! }
        let byHash = hashes.sorted()
        #expect(byHash.map(\.bytes) == hashes.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
        #expect(byHash.map(\.description) == hashes.map(\.description).sorted())
    }

    @Test func zero() {
        #expect(Hash.zero.isZero)
        #expect(Hash.zero.description == String(repeating: "0", count: 32))
        #expect(!Hash(of: [1]).isZero)
    }
}
