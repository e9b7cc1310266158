import CairnStore
/// The input line of each imported record, by record number, in memory that grows with the
/// irregularities of the file, not with its length: records usually follow each other one line
/// apart, so only the places where that changes (a blank line, a quoted newline) are kept.
struct LineIndex {
    /// (first record, line of that record − record number), by increasing record.
    private var breaks: [(record: Int, offset: Int)] = []
    private(set) var count = 0

    mutating func append(line: Int) {
        let offset = line - count
        if breaks.last?.offset != offset { breaks.append((count, offset)) }
        count += 1
    }

    /// The line of record `record` (0-based, < count).
    subscript(record: Int) -> Int {
        var lo = 0, hi = breaks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if breaks[mid].record <= record { lo = mid } else { hi = mid - 1 }
        }
        return record + breaks[lo].offset
    }
}
