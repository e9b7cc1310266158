#if canImport(Glibc)
import Glibc
#endif

/// Where export writes: a file, written whole or not at all (to a temporary name beside it,
/// renamed into place by `finish`, removed by `abandon`), or stdout.
struct Sink {
    private let fd: Int32
    private let path: String?
    private let temp: String?
    private var buffer: [UInt8] = []
    /// errno of the first write that failed; later writes are dropped.
    private var failure: Int32 = 0
    private var done = false

    init(path: String?) throws {
        self.path = path
        if let path {
            let t = path + ".cairn-tmp"
            fd = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw CLIError.usage("cannot write \(path): \(String(cString: strerror(errno)))") }
            temp = t
        } else {
            fd = 1
            temp = nil
        }
    }

    mutating func write(_ b: [UInt8]) {
        buffer.append(contentsOf: b)
        if buffer.count > 1 << 16 { flush() }
    }

    private mutating func flush() {
        if failure == 0 { failure = writeAll(fd, buffer) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out what is buffered and, for a file, syncs it and renames it into place.
    /// Throws when any write failed; the file is then removed and the target left as it was.
    mutating func finish() throws {
        flush()
        if failure == 0, temp != nil, fsync(fd) != 0 { failure = errno }
        guard failure == 0 else {
            let reason = String(cString: strerror(failure))
            abandon()
            throw CLIError.failed("cannot write \(path ?? "to standard output"): \(reason)")
        }
        done = true
        if let temp, let path {
            Glibc.close(fd)
            guard rename(temp, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temp)
                throw CLIError.failed("cannot write \(path): \(reason)")
            }
        }
    }

    /// Drops an unfinished file. Does nothing after `finish`, or for stdout.
    mutating func abandon() {
        guard !done else { return }
        done = true
        if let temp {
            Glibc.close(fd)
            unlink(temp)
        }
    }
}
