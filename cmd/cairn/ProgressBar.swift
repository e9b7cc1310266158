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

    func update(_ done: Int, _ total: Int) {
        guard total > 0 else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 30
        let filled = percent * width / 100
        let line = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(percent)%"
        Terminal.writeStderr(line)
    }

    func finish() {
        // Clear the bar's line.
        if lastPercent >= 0 { Terminal.writeStderr("\r\u{1b}[K") }
    }
}
