import Testing
@testable import CairnTables

/// RFC 4180 as the reader takes it: quotes, embedded commas and newlines, CRLF or LF, and
/// pieces of input that split a record anywhere.
@Suite struct CSVReaderTests {
    /// Reads `text` fed in pieces of `piece` bytes.
    func records(_ text: String, piece: Int) throws -> [(fields: [String], line: Int)] {
        var bytes = Array(text.utf8)[...]
        var r = CSVReader(refill: {
            let out = Array(bytes.prefix(piece))
            bytes = bytes.dropFirst(piece)
            return out
        })
        var out: [(fields: [String], line: Int)] = []
        while let rec = try r.next() { out.append(rec) }
        return out
    }

    @Test(arguments: [1, 2, 3, 7, 1 << 20])
    func quotesCommasAndNewlines(piece: Int) throws {
        let text = "id,note\r\na,\"x, y\"\nb,\"line1\nline2\"\r\nc,\"say \"\"hi\"\"\"\nd,\n"
        let got = try records(text, piece: piece)
        #expect(got.map(\.fields) == [["id", "note"], ["a", "x, y"], ["b", "line1\nline2"], ["c", "say \"hi\""], ["d", ""]])
        // A record's line is where it starts, quoted newlines counted.
        #expect(got.map(\.line) == [1, 2, 3, 5, 6])
    }

    @Test func lastRecordWithoutNewlineAndEmptyFields() throws {
        #expect(try records("a,b\n,\n1,2", piece: 3).map(\.fields) == [["a", "b"], ["", ""], ["1", "2"]])
    }

    @Test(arguments: ["a,\"b\n", "a,\"b\"c\n", "a\"b,c\n"])
    func malformedQuotesAreRefusedWithTheirLine(text: String) throws {
        #expect(throws: ImportError.self) { _ = try records("h1,h2\n" + text, piece: 4) }
    }
}
