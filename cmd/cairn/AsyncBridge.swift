import CairnSync
import Dispatch

/// Runs async library work from a synchronous command: the sync and serve commands.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, any Error>? }

/// A progress bar for a transfer: chunks against the total when known, and bytes.
final class TransferProgress: @unchecked Sendable {
    private let bar: ProgressBar?
    init(_ label: String) { bar = ProgressBar(label: label) }

    var callback: (@Sendable (SyncProgress) -> Void)? {
        guard let bar else { return nil }
        nonisolated(unsafe) let b = bar
        return { p in
            b.update(p.chunks, max(p.totalChunks, p.chunks), detail: "\(p.chunks) chunks, \(ByteCount(p.bytes))")
        }
    }

    func finish() { bar?.finish() }
}
