import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The repository a command runs against, found from the working directory.
struct Context {
    let repo: Repository
    let chunks: SQLiteChunkStore
    let root: String

    init(_ global: GlobalOptions, options: SQLiteChunkStore.Options = .init()) throws {
        chunks = try global.openStore(options: options)
        root = StoreDirectory.find(from: StoreDirectory.currentDirectory()) ?? "."
        repo = Repository(chunks: chunks)
        // CAIRN_BRANCH: this process works on that branch instead of the store's current one,
        // as each of git's worktrees has its own HEAD (writers on several branches at once).
        if let b = getenv("CAIRN_BRANCH").map({ String(cString: $0) }), !b.isEmpty { repo.branch = b }
    }

    /// Where imports spill sorted runs: inside the store's folder, on the same disk.
    func tempDirectory() throws -> String {
        let dir = root + "/" + StoreDirectory.folderName + "/tmp"
        try StoreDirectory.makeDirectories(dir)
        return dir
    }

    func close() { chunks.close() }
}

/// `REV:PATH`, split at the first `:`; a bare PATH (starting with `/`) means the working set.
struct RevPath {
    let rev: String?
    let path: ValuePath?

    init(_ text: String) throws {
        if text.hasPrefix("/") {
            rev = nil
            path = try ValuePath(parsing: text)
        } else if let colon = text.firstIndex(of: ":") {
            rev = String(text[..<colon])
            path = try ValuePath(parsing: String(text[text.index(after: colon)...]))
        } else {
            rev = text
            path = nil
        }
    }
}

extension Repository {
    /// The root value a REV names (its commit's root, or the working set).
    func rootValue(_ rev: String?) throws -> ProllyMap {
        guard let rev else { return try workingRoot() }
        switch try resolve(rev) {
        case .working: return try workingRoot()
        case .commit(let c): return try root(of: c)
        }
    }
}

/// The author of a commit: `--author`, else `CAIRN_AUTHOR`, else the store's `user.name`
/// setting, else the user running the process.
func defaultAuthor(_ flag: String?, _ repo: Repository) throws -> String {
    if let flag, !flag.isEmpty { return flag }
    if let env = getenv("CAIRN_AUTHOR"), let s = String(validatingCString: env), !s.isEmpty { return s }
    if let s = try repo.chunks.setting("user.name"), !s.isEmpty { return s }
    if let pw = getpwuid(getuid()), let name = String(validatingCString: pw.pointee.pw_name) { return name }
    return "unknown"
}

/// RFC 3339 in UTC: 2026-11-25T04:30:17Z.
func rfc3339(_ seconds: Int64) -> String {
    let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
    let secs = seconds - days * 86400
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))Z"
}

/// Writes to stdout in large pieces.
struct Output {
    private var buffer: [UInt8] = []

    mutating func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(0x0A)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func bytes(_ b: [UInt8]) {
        buffer.append(contentsOf: b)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        if StandardOutput.failure == 0 { StandardOutput.failure = writeAll(1, buffer) }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Writes all of `bytes` to `fd`, retrying short and interrupted writes. Returns 0, or the
/// errno of the write that failed.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            off += n
        } else if !(n < 0 && errno == EINTR) {
            return n < 0 ? errno : EIO
        }
    }
    return 0
}

/// Whether everything a command printed reached stdout (a full disk, a closed file), so a
/// command whose output was lost does not exit 0.
enum StandardOutput {
    /// errno of the first write to stdout that failed, through `Output` or stdio.
    nonisolated(unsafe) static var failure: Int32 = 0

    /// Flushes stdio, and throws when any write to stdout failed.
    static func check() throws {
        if fflush(stdout) != 0 || ferror(stdout) != 0, failure == 0 { failure = errno == 0 ? EIO : errno }
        guard failure == 0 else {
            throw CLIError.failed("cannot write to standard output: \(String(cString: strerror(failure)))")
        }
    }
}

enum Color {
    static func wrap(_ s: String, _ code: String, enabled: Bool) -> String { enabled ? "\u{1b}[\(code)m\(s)\u{1b}[0m" : s }
}
