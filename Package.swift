// swift-tools-version: 6.0
import PackageDescription

// Each library module is one layer of ../shared/ARCHITECTURE.md and imports only the layers beneath it.
let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CairnStore", targets: ["CairnStore"]),
        .library(name: "CairnValues", targets: ["CairnValues"]),
        .library(name: "CairnTables", targets: ["CairnTables"]),
        .library(name: "CairnVersioning", targets: ["CairnVersioning"]),
        .library(name: "CairnSync", targets: ["CairnSync"]),
        .library(name: "CairnRemote", targets: ["CairnRemote"]),
        .library(name: "CairnServer", targets: ["CairnServer"]),
        .executable(name: "cairn", targets: ["cairn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // The SQLite VFS that fails reads or writes on cue, for the fault tests (CAIRN_FAULT_VFS).
        .target(name: "CFaultVFS", dependencies: ["CSQLite"], path: "Sources/CFaultVFS"),
        .target(
            name: "CairnStore",
            dependencies: ["CSQLite", "CZstd", "CFaultVFS", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CairnValues", dependencies: ["CairnStore"]),
        .target(name: "CairnTables", dependencies: ["CairnValues"]),
        .target(name: "CairnVersioning", dependencies: ["CairnTables"]),
        // Sync: the transfer algorithm and the wire format, with no network code.
        .target(name: "CairnSync", dependencies: ["CairnVersioning"]),
        // The HTTP client of a remote store.
        .target(
            name: "CairnRemote",
            dependencies: ["CairnSync", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")]),
        // `cairn serve`: Hummingbird over a store.
        .target(
            name: "CairnServer",
            dependencies: ["CairnSync", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdCore", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
        .executableTarget(
            name: "cairn",
            dependencies: ["CairnVersioning", "CairnSync", "CairnRemote", "CairnServer",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            path: "cmd/cairn"),
        // A child process that writes to a store until it is killed: the crash-safety tests drive it.
        .executableTarget(name: "cairn-crash-writer", dependencies: ["CairnStore"], path: "Tests/CrashWriter"),
        // libFuzzer's harness for the value decoder and tree nodes (`make libfuzzer`); an
        // ordinary build makes it a tool that replays saved inputs.
        .executableTarget(name: "cairn-fuzz-value", dependencies: ["CairnValues"], path: "Tests/FuzzHarness"),
        .executableTarget(name: "cairn-bench", dependencies: ["CairnStore", "CairnValues", "CairnVersioning", "CairnSync", "CairnRemote"],
                          path: "bench/cairn-bench"),
        .testTarget(name: "CairnStoreTests", dependencies: ["CairnStore", "CSQLite"]),
        .testTarget(name: "CairnValuesTests", dependencies: ["CairnValues"]),
        .testTarget(name: "CairnTablesTests", dependencies: ["CairnTables"]),
        .testTarget(name: "CairnVersioningTests", dependencies: ["CairnVersioning"]),
        .testTarget(name: "CairnSyncTests", dependencies: [
            "CairnSync", "CairnRemote", "CairnServer", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "HTTPTypes", package: "swift-http-types")]),
        .testTarget(name: "CairnCLITests", dependencies: ["CairnStore"]),
        // Seeded mutation fuzzing of every decoder (docs/fuzzing.md); `make fuzz` runs it longer.
        .testTarget(name: "CairnFuzzTests", dependencies: [
            "CairnStore", "CairnValues", "CairnTables", "CairnVersioning", "CairnSync", "CairnRemote", "CairnServer",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log")]),
    ]
)
