#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on stderr, for long commands. Exists only when stdout is a terminal, so
/// scripts and pipes see nothing.
final class ProgressBar {
    let label: String
    private var lastPercent = -1

    init?(label: String) {
        guard isatty(1) == 1 && isatty(2) == 1 else { return nil }
        self.label = label
    }

    /// `detail` follows the percentage (a transfer's chunks and bytes); the line is redrawn
    /// when the percentage or the detail changes.
    func update(_ done: Int, _ total: Int) { update(done, total, detail: "") }

    func update(_ done: Int, _ total: Int, detail: String) {
        guard total > 0 else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent || detail != lastDetail else { return }
        lastPercent = percent
        lastDetail = detail
        let width = 30
        let filled = percent * width / 100
        let line = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(percent)%"
            + (detail.isEmpty ? "" : " " + detail) + "\u{1b}[K"
        Terminal.writeStderr(line)
    }
    private var lastDetail = ""

    func finish() {
        // Clear the bar's line.
        if lastPercent >= 0 { Terminal.writeStderr("\r\u{1b}[K") }
    }
}
