#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// With `CAIRN_SYNC_TRACE=1`, each phase of a transfer prints its time to stderr: what the
/// bench reads to tell planning from sending.
package enum SyncTrace {
    static let enabled = getenv("CAIRN_SYNC_TRACE") != nil
    nonisolated(unsafe) static var last = now()

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
    }

    package static func mark(_ phase: String) {
        guard enabled else { return }
        let t = now()
        var line = Array("sync: \(phase) \(Double(Int((t - last) * 100)) / 100) ms\n".utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        last = t
    }
}
