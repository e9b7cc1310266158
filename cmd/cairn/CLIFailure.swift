import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
import CairnSync
#if canImport(Glibc)
import Glibc
#endif

/// Exit codes of CLI.md.
enum CLIExit {
    static let success: Int32 = 0
    /// The operation ran but did not succeed: conflicts, a refused push, nothing to commit.
    static let failed: Int32 = 1
    /// A bad flag, a malformed file, an unknown revision or path, no store found.
    static let usage: Int32 = 2
    /// A corrupt chunk, a file that is not a store, a busy store, an unreachable server.
    static let store: Int32 = 3
}

/// An error a command raises on purpose, with its exit code.
struct CLIError: Error {
    let code: Int32
    let message: String?

    /// Usage or input error: exit 2.
    static func usage(_ message: String) -> CLIError { CLIError(code: CLIExit.usage, message: message) }
    /// Ran but did not succeed: exit 1.
    static func failed(_ message: String?) -> CLIError { CLIError(code: CLIExit.failed, message: message) }
}

/// Maps any error to the one-line message and exit code a user sees.
struct CLIFailure {
    let code: Int32
    let message: String?

    /// Nil for errors of the argument parser (help requested, bad usage): it classifies those.
    init?(_ error: Error) {
        switch error {
        case let e as CLIError:
            code = e.code
            message = e.message
        case let e as SyncError:
            code = e.exitCode
            message = e.description
        case let e as WireError:
            code = CLIExit.store
            message = e.description
        case let e as StoreError:
            switch e {
            case .storeExists, .invalidRefName: code = CLIExit.usage
            default: code = CLIExit.store
            }
            message = e.description
        case let e as SQLiteError:
            code = CLIExit.store
            message = e.description
        case let e as ExitCode:
            code = e.rawValue
            message = nil
        case let e as RepositoryError:
            code = e.isOperationFailure ? CLIExit.failed : CLIExit.usage
            message = e.description
        case let e as ImportError:
            code = CLIExit.usage
            message = e.description
        case let e as ExportError:
            code = CLIExit.usage
            message = e.description
        case let e as SchemaError:
            code = CLIExit.usage
            message = e.description
        case let e as MergeRulesError:
            code = CLIExit.usage
            message = e.description
        case let e as JSONError:
            code = CLIExit.usage
            message = "invalid JSON: \(e)"
        case let e as ValueError:
            switch e {
            case .missingChunk: code = CLIExit.store
            default: code = CLIExit.usage
            }
            message = e.description
        case let e as DecodeError:
            code = CLIExit.store
            message = "corrupt data: \(e)"
        default:
            // The network libraries' own errors (a connection that broke) are network failures.
            let type = String(reflecting: Swift.type(of: error))
            guard type.hasPrefix("AsyncHTTPClient.") || type.hasPrefix("NIO") else { return nil }
            code = CLIExit.store
            message = "network failure: \(error)"
        }
    }
}

enum Foundationless {
    static func exit(_ code: Int32) -> Never {
        fflush(nil)
        Glibc.exit(code)
    }
}

enum Terminal {
    /// One line on stderr, starting with `error:`. Newlines inside are flattened so it stays one.
    static func error(_ message: String) {
        writeStderr("error: " + message.split(whereSeparator: \.isNewline).joined(separator: " ") + "\n")
    }

    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org) or the
    /// terminal is `dumb`.
    static var colorsStdout: Bool {
        guard stdoutIsTerminal else { return false }
        if let v = getenv("NO_COLOR"), v.pointee != 0 { return false }
        if let t = getenv("TERM"), String(cString: t) == "dumb" { return false }
        return true
    }

    static func writeStderr(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
