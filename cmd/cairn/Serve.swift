import ArgumentParser
import CairnStore
import CairnServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve stores over HTTP for push, pull, fetch and clone.",
        discussion: """
            Serves the store in DIR (default: the current store's folder) at http://HOST:PORT, or, when \
            DIR holds no store, every store in DIR's subfolders at http://HOST:PORT/NAME. Binds \
            127.0.0.1 unless --bind says otherwise. With a token (--token, repeatable, or --token-file, \
            one a line), writes need 'Authorization: Bearer TOKEN'; with --private, reads too. \
            --read-only refuses every write. Logs every request to stderr. Runs until SIGINT or \
            SIGTERM, then finishes the requests in flight. The protocol is docs/protocol.md.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The address to listen on.") var bind = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).") var port = 7070
    @Option(help: "A bearer token that may write (repeatable).") var token: [String] = []
    @Option(help: "A file of tokens, one a line.") var tokenFile: String?
    @Flag(help: "Reads need a token too.") var `private` = false
    @Flag(help: "Refuse every write.") var readOnly = false
    @Option(help: "The largest request body in bytes.") var maxBody = 64 << 20
    @Option(help: "Requests served at once; more are answered 429.") var maxRequests = 32
    @Argument(help: "The folder to serve (default: the current store's folder).") var directory: String?

    func run() throws {
        try global.apply()
        var config = ServerConfiguration()
        config.host = bind
        config.port = port
        config.tokens = token
        if let tokenFile {
            guard let text = try? readWholeFile(tokenFile) else { throw CLIError.usage("cannot read the token file \(tokenFile)") }
            config.tokens += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: " \t\r") }.filter { !$0.isEmpty }
        }
        if (`private` || tokenFile != nil) && config.tokens.isEmpty {
            throw CLIError.usage(tokenFile != nil ? "the token file \(tokenFile!) holds no token" : "--private needs a token (--token or --token-file)")
        }
        config.privateReads = `private`
        config.readOnly = readOnly
        guard maxBody >= 8 << 20 else { throw CLIError.usage("--max-body must be at least 8 MiB (8388608), the least a client may send") }
        config.limits.maxBodyBytes = maxBody
        config.limits.maxConcurrentRequests = max(1, maxRequests)
        let dir = directory ?? StoreDirectory.find(from: StoreDirectory.currentDirectory()) ?? "."
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let server = try CairnServer.SyncServer(directory: dir, configuration: config, logger: Logger(label: "cairn.serve"))
        let single = server.servesSingleStore
        let host = bind
        try runBlocking {
            try await server.run { port in
                let what = single ? "the store in \(StoreDirectory.absolute(dir))" : "the stores in \(StoreDirectory.absolute(dir))"
                Terminal.writeStderr("Serving \(what) at http://\(host):\(port)\(single ? "" : "/NAME")\n")
            }
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

func readWholeFile(_ path: String) throws -> String {
    guard let f = fopen(path, "rb") else { throw CLIError.usage("cannot open \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
        if out.count > 1 << 20 { throw CLIError.usage("\(path) is over 1 MiB") }
    }
    return String(decoding: out, as: UTF8.self)
}
