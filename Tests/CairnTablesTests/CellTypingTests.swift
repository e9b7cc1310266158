import Testing
@testable import CairnTables
import CairnValues

@Suite struct CellTypingTests {
    @Test(arguments: ["0", "-0", "007", "+3", "12", "-12", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                      "1.5", "1.50", "1e5", "0.1", "-0.0", "1.0", "inf", "nan", "-", "", "abc", "12a", "héllo", "1,2"])
    func typingRules(text: String) {
        let v = typedCell(text, infer: true)
        // Exported text is exactly the imported text.
        #expect((try? cellText(v)) == text)
        // The byte path agrees with the String path.
        let bytes = Array(text.utf8)
        guard !text.isEmpty, let cell = bytes.withUnsafeBytes({ typedCell(bytes: $0, at: 0, infer: true) }) else { return }
        switch (cell, v) {
        case let (.int(a), .int(b)): #expect(a == b)
        case let (.float(a), .float(b)): #expect(a.bitPattern == b.bitPattern)
        case let (.text(r), .string(b)): #expect(Array(bytes[r]) == Array(b.utf8))
        default: Issue.record("\(text): byte path \(cell), string path \(v)")
        }
    }

    @Test func expectedKinds() {
        #expect(typedCell("12", infer: true) == .int(12))
        #expect(typedCell("007", infer: true) == .string("007"))
        #expect(typedCell("1.5", infer: true) == .float(1.5))
        #expect(typedCell("1e5", infer: true) == .string("1e5"))
        #expect(typedCell("12", infer: false) == .string("12"))
        #expect(typedCell("inf", infer: true) == .string("inf"))
        #expect([UInt8]([0xff, 0xfe]).withUnsafeBytes { typedCell(bytes: $0, at: 0, infer: true) } == nil)
    }
}
