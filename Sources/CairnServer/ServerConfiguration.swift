/// How `cairn serve` runs: where it listens, who may read and write, and its limits
/// (docs/protocol.md, Limits).
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 lets the system pick a free port (the tests do).
    public var port = 7070
    /// Bearer tokens that may write (and with `privateReads`, read). Empty: anyone may write.
    public var tokens: [String] = []
    /// Reads need a token too.
    public var privateReads = false
    /// Every write is refused (403).
    public var readOnly = false
    public var limits = Limits()

    public struct Limits: Sendable {
        /// The largest request body, in bytes (413 past it).
        public var maxBodyBytes = 64 << 20
        /// The most chunks one push request may carry (413 past it).
        public var maxChunksPerRequest = 65_536
        /// The most hashes one has, get-chunks or fetch request may name (413 past it).
        public var maxHashesPerRequest = 1 << 20
        /// Requests served at once; more get 429 until one ends.
        public var maxConcurrentRequests = 32
        /// Open connections; more wait in the listen queue.
        public var maxConnections = 256
        /// Seconds a connection may sit with nothing read or written before it is closed, so
        /// a stalled client cannot hold the server.
        public var idleTimeoutSeconds = 30
        /// After `slowBodyGraceSeconds`, a request body must have come at least this fast on
        /// average (408 past it).
        public var minBytesPerSecond = 16 << 10
        public var slowBodyGraceSeconds = 10.0
        /// The most wants and haves one fetch may name (have-chunks count in the hashes).
        public static let maxWants = 65_536
        public static let maxHaves = 4_096
        public init() {}
    }

    public init() {}
}
