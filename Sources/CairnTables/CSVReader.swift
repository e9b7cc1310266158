import CairnStore
import CairnValues
/// An RFC 4180 CSV reader: fields separated by commas, records by CRLF or LF, fields quoted
/// with `"` (a quote inside written twice) and free to hold commas and newlines.
package struct CSVReader {
    private let refill: () throws -> [UInt8]
    private var buf: [UInt8] = []
    private var pos = 0
    private var done = false
    /// The 1-based line where the next record starts.
    package private(set) var line = 1

    package init(refill: @escaping () throws -> [UInt8]) { self.refill = refill }

    private mutating func peek() throws -> UInt8? {
        if pos < buf.count { return buf[pos] }
        if done { return nil }
        buf = try refill()
        pos = 0
        if buf.isEmpty { done = true; return nil }
        return buf[0]
    }

    /// The next record into `record` (its bytes and field ends, reused between calls); returns
    /// the record's first line, or nil at the end of input. Fields are not checked for UTF-8.
    package mutating func next(into record: inout CSVRecord) throws -> Int? {
        guard try peek() != nil else { return nil }
        let start = line
        record.bytes.removeAll(keepingCapacity: true)
        record.ends.removeAll(keepingCapacity: true)
        var quoted = false
        var afterQuote = false
        var fieldStart = 0
        while true {
            // Fast path: copy a run of plain bytes at once.
            if !quoted && pos < buf.count {
                let start = pos
                let j = buf.withUnsafeBufferPointer { b in
                    var j = start
                    while j < b.count {
                        let c = b[j]
                        if c == 0x2C || c == 0x0A || c == 0x22 || c == 0x0D { break }
                        j += 1
                    }
                    if j > start { record.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<j])) }
                    return j
                }
                if j > pos {
                    if afterQuote { throw ImportError("line \(line): characters after a closing quote") }
                    pos = j
                }
            }
            if record.bytes.count > Format.maxImportedTextBytes {
                throw ImportError("line \(start): a record longer than \(Format.maxImportedTextBytes >> 20) MiB (import long text as a blob)")
            }
            guard let c = try peek() else {
                if quoted { throw ImportError("line \(start): a quoted field is not closed before the end of the file") }
                record.ends.append(record.bytes.count)
                return start
            }
            pos += 1
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if try peek() == UInt8(ascii: "\"") {
                        pos += 1
                        record.bytes.append(c)
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if c == 0x0A { line += 1 }
                    record.bytes.append(c)
                }
                continue
            }
            switch c {
            case UInt8(ascii: ","):
                record.ends.append(record.bytes.count)
                fieldStart = record.bytes.count
                afterQuote = false
            case 0x0A:
                line += 1
                if record.bytes.count > fieldStart && record.bytes.last == 0x0D && !afterQuote { record.bytes.removeLast() }
                record.ends.append(record.bytes.count)
                return start
            case 0x0D:
                if !afterQuote { record.bytes.append(c) }
            case UInt8(ascii: "\""):
                guard record.bytes.count == fieldStart && !afterQuote else {
                    throw ImportError("line \(line): a quote inside an unquoted field (quote the whole field and double the quote)")
                }
                quoted = true
            default:
                if afterQuote { throw ImportError("line \(line): characters after a closing quote") }
                record.bytes.append(c)
            }
        }
    }

    /// The next record's fields and its first line; nil at the end of input.
    package mutating func next() throws -> (fields: [String], line: Int)? {
        guard try peek() != nil else { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var afterQuote = false
        func finish(_ f: inout [UInt8]) throws -> String {
            guard let s = String(validating: f, as: UTF8.self) else { throw ImportError("line \(start): not valid UTF-8") }
            f.removeAll(keepingCapacity: true)
            return s
        }
        while true {
            guard let c = try peek() else {
                if quoted { throw ImportError("line \(start): a quoted field is not closed before the end of the file") }
                fields.append(try finish(&field))
                return (fields, start)
            }
            pos += 1
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if try peek() == UInt8(ascii: "\"") {
                        pos += 1
                        field.append(c)
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if c == 0x0A { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case UInt8(ascii: ","):
                fields.append(try finish(&field))
                afterQuote = false
            case 0x0A:
                line += 1
                if field.last == 0x0D && !afterQuote { field.removeLast() }
                fields.append(try finish(&field))
                return (fields, start)
            case 0x0D where afterQuote:
                continue
            case UInt8(ascii: "\""):
                guard field.isEmpty && !afterQuote else {
                    throw ImportError("line \(line): a quote inside an unquoted field (quote the whole field and double the quote)")
                }
                quoted = true
            default:
                if afterQuote { throw ImportError("line \(line): characters after a closing quote") }
                field.append(c)
            }
        }
    }
}

/// One CSV record: the bytes of its fields, back to back, and where each field ends.
package struct CSVRecord {
    package var bytes: [UInt8] = []
    package var ends: [Int] = []

    package init() {}

    package var count: Int { ends.count }

    package func field(_ i: Int) -> ArraySlice<UInt8> { bytes[range(i)] }

    /// Where field `i` lies in `bytes`.
    package func range(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }
}
