import CairnServer
import CairnRemote
import CairnSync
import Foundation
import Logging
import Testing

/// `cairn serve` inside the test process, on 127.0.0.1 and a port the system picks.
final class TestServer: @unchecked Sendable {
    let task: Task<Void, any Error>
    let port: Int
    let directory: String

    var url: String { "http://127.0.0.1:\(port)" }

    init(directory: String, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        var config = ServerConfiguration()
        config.port = 0
        configure(&config)
        let server = try SyncServer(directory: directory, configuration: config,
                                    logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        task = Task { try await server.run(handleSignals: false) { continuation.yield($0) } }
        var it = ports.makeAsyncIterator()
        guard let p = await it.next() else { throw SyncError.unavailable("the test server did not start") }
        port = p
        self.directory = directory
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
