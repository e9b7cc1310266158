import Foundation
import Testing

/// What one run of `cairn` gave.
struct CLIResult {
    let code: Int32
    let stdout: String
    let stderr: String
}

/// Runs the debug `cairn` that `swift build --build-tests` made, in a directory, as a user would.
struct CLIRunner {
    static let binary: String = {
        if let dir = ProcessInfo.processInfo.environment["CAIRN_BIN_DIR"] { return dir + "/cairn" }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("cairn").path
    }()

    let directory: String

    @discardableResult
    func run(_ arguments: String..., stdin: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        try run(arguments, stdin: stdin, environment: environment)
    }

    /// `stdoutFile` sends stdout to that file (such as `/dev/full`) instead of capturing it.
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], stdoutFile: String? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        if let stdoutFile {
            guard let handle = FileHandle(forWritingAtPath: stdoutFile) else { throw CocoaError(.fileNoSuchFile) }
            process.standardOutput = handle
            try? out.fileHandleForWriting.close()
        } else {
            process.standardOutput = out
        }
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let outBox = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { outBox.set(out.fileHandleForReading.readDataToEndOfFile()) }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = outBox.get()
        process.waitUntilExit()
        return CLIResult(code: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}

extension CLIRunner {
    /// Starts `cairn` without waiting for it, its output discarded: for tests that kill it.
    func start(_ arguments: String...) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A temporary directory for one test, removed afterwards.
final class Workspace {
    let path: String
    var cli: CLIRunner { CLIRunner(directory: path) }

    init() {
        path = NSTemporaryDirectory() + "cairn-cli-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path + "/" + name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

/// Bytes handed from the reader thread to the test.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// A workspace with a fresh store in it.
func initializedWorkspace() throws -> Workspace {
    let ws = Workspace()
    try ws.cli.run("init")
    return ws
}

/// The command failed with `code` and one `error:` line that contains `text`.
func expectError(_ r: CLIResult, code: Int32, contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.code == code, "exit \(r.code), stdout: \(r.stdout), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n")
    #expect(lines.count == 1 && r.stderr.hasPrefix("error: "), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.contains(text), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
}

/// Everything a failed command must leave alone: history, status, the working set, tags and
/// branches.
func storeSnapshot(_ ws: Workspace) throws -> String {
    let log = try ws.cli.run("log", "--json").stdout
    let status = try ws.cli.run("status", "--json").stdout
    let working = try ws.cli.run("show", "WORKING:", "--hash").stdout
    let tags = try ws.cli.run("tag").stdout
    let branches = try ws.cli.run("branch").stdout
    return log + status + working + tags + branches
}
