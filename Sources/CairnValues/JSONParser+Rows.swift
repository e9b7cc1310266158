import CairnStore
/// Reading objects field by field, in document order, for imports that make tables: each
/// field's value goes straight to its encoding, and no Map is built for the object.
extension JSONParser {
    /// Reads one object, appending each field's value encoding (as inside a parent) to `out`
    /// and the chunks those reference to `refs`. `body` gets each field's name (UTF-8, valid
    /// only during the call), where its value lies in `out` and its refs in `refs`, in
    /// document order. Throws when
    /// the next value is not an object.
    package mutating func forEachField(appendingTo out: inout [UInt8], refs: inout [Hash],
                                      _ body: (_ name: UnsafeRawBufferPointer, _ value: Range<Int>, _ refs: Range<Int>) throws -> Void) throws {
        try skipSpace()
        guard try src.peek() == UInt8(ascii: "{") else { throw fail("expected a JSON object") }
        try enter()
        defer { depth -= 1 }
        src.pos += 1
        try skipSpace()
        if try src.peek() == UInt8(ascii: "}") {
            src.pos += 1
            return
        }
        var w = ByteWriter()
        swap(&w.bytes, &out)
        defer { swap(&w.bytes, &out) }
        var name: [UInt8] = []
        while true {
            try skipSpace()
            guard try src.peek() == UInt8(ascii: "\"") else { throw fail("expected a string key in an object") }
            try stringBytes()
            swap(&name, &scratch)
            try skipSpace()
            guard try src.next() == UInt8(ascii: ":") else { throw fail("expected ':' after an object key", at: src.offset - 1) }
            let start = w.bytes.count, refStart = refs.count
            try encodeValue(into: &w, refs: &refs)
            try name.withUnsafeBytes { try body($0, start..<w.bytes.count, refStart..<refs.count) }
            swap(&name, &scratch)
            try skipSpace()
            switch try src.next() {
            case UInt8(ascii: ",")?: continue
            case UInt8(ascii: "}")?: return
            case nil: throw fail("unexpected end of input in an object")
            case let c?: throw fail("expected ',' or '}' in an object, found '\(printable(c))'", at: src.offset - 1)
            }
        }
    }

    /// Reads an array, calling `element` at the start of each element to read it (it must
    /// consume exactly one value); then checks that nothing but white space follows.
    package mutating func forEachElementOfDocument(_ element: (inout JSONParser) throws -> Void) throws {
        try skipSpace()
        guard try src.next() == UInt8(ascii: "[") else { throw fail("expected a JSON array", at: max(0, src.offset - 1)) }
        try skipSpace()
        if try src.peek() == UInt8(ascii: "]") {
            src.pos += 1
        } else {
            loop: while true {
                try element(&self)
                try skipSpace()
                switch try src.next() {
                case UInt8(ascii: ",")?: continue
                case UInt8(ascii: "]")?: break loop
                case nil: throw fail("unexpected end of input in an array")
                case let c?: throw fail("expected ',' or ']' in an array, found '\(printable(c))'", at: src.offset - 1)
                }
            }
        }
        try skipSpace()
        if try src.peek() != nil { throw fail("unexpected data after the JSON value") }
    }

    /// Checks that nothing but white space is left.
    package mutating func expectEnd() throws {
        try skipSpace()
        if try src.peek() != nil { throw fail("unexpected data after the JSON value") }
    }

    /// The byte offset where reading is.
    package var offset: Int { src.offset }
}
