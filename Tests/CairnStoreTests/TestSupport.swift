import Foundation
@testable import CairnStore

/// A fresh temporary directory, removed when the returned object goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cairn-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A small deterministic generator, so a failing property test can be replayed from its seed.
typealias SplitMix = SplitMix64

func randomBytes(_ count: Int, _ rng: inout SplitMix) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Bytes that compress: runs of a few letters.
func compressibleBytes(_ count: Int, _ rng: inout SplitMix) -> [UInt8] {
    var out: [UInt8] = []
    while out.count < count {
        out.append(contentsOf: repeatElement(UInt8.random(in: 97...122, using: &rng), count: Int.random(in: 1...12, using: &rng)))
    }
    return Array(out.prefix(count))
}

/// The directory holding the package's built products (cairn, cairn-crash-writer).
func builtProductsDirectory() -> String {
    if let dir = ProcessInfo.processInfo.environment["CAIRN_BIN_DIR"] { return dir }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // The test bundle may sit inside a .xctest folder.
    if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
    return dir.path
}
