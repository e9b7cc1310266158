import CairnStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file in pieces of 1 MiB: imports stream, never holding the whole file.
package final class FileReader {
    let fd: Int32
    package let path: String
    /// The file's size when opened (0 if unknown), and how much has been read: for progress.
    package let size: Int
    package private(set) var bytesRead = 0
    private var dropsByteOrderMark: Bool

    /// Text formats drop a UTF-8 byte order mark at the start of the file, as spreadsheet
    /// exports often begin with one; a Blob keeps every byte.
    /// `-` reads standard input.
    package init(path: String, text: Bool = false) throws {
        dropsByteOrderMark = text
        fd = path == "-" ? dup(0) : open(path, O_RDONLY)
        guard fd >= 0 else { throw ImportError("cannot open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw ImportError("\(path) is a directory")
        }
        size = Int(st.st_size)
        self.path = path
    }

    deinit { close(fd) }

    /// Called after each piece with (bytes read, file size).
    package var progress: ((Int, Int) -> Void)?

    /// The next piece; empty at the end.
    package func read() throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw ImportError("cannot read \(path): \(String(cString: strerror(errno)))") }
        buf.removeSubrange(n...)
        if dropsByteOrderMark {
            dropsByteOrderMark = false
            if buf.starts(with: [0xEF, 0xBB, 0xBF]) { buf.removeFirst(3) }
        }
        bytesRead += n
        // Only a dropped mark was read: empty would mean the end, so read on.
        if buf.isEmpty && n > 0 { return try read() }
        progress?(bytesRead, size)
        return buf
    }
}
