import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning
#if canImport(Glibc)
import Glibc
#endif

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customShort("C"), help: ArgumentHelp("Run as if cairn was started in DIR.", valueName: "DIR"))
    var directory: [String] = []

    /// Applies `-C` by changing the working directory, as git does (each is relative to the last).
    func apply() throws {
        for dir in directory { try Self.changeDirectory(dir) }
    }

    static func changeDirectory(_ dir: String) throws {
        guard chdir(dir) == 0 else {
            throw CLIError.usage("cannot change to directory \(dir): \(String(cString: strerror(errno)))")
        }
    }

    /// `cairn -C DIR command …`: applies and strips the `-C` flags written before the command.
    static func applyLeadingDirectoryFlags(_ arguments: [String]) throws -> [String] {
        var rest = arguments[...]
        while let first = rest.first, first == "-C" || (first.hasPrefix("-C") && first.count > 2) {
            rest = rest.dropFirst()
            if first == "-C" {
                guard let dir = rest.first else { throw CLIError.usage("-C needs a directory (see 'cairn --help')") }
                rest = rest.dropFirst()
                try changeDirectory(dir)
            } else {
                try changeDirectory(String(first.dropFirst(2)))
            }
        }
        return Array(rest)
    }

    /// The store found by walking up from the working directory; exit 2 when there is none.
    func openStore(options: SQLiteChunkStore.Options = .init()) throws -> SQLiteChunkStore {
        try apply()
        let cwd = StoreDirectory.currentDirectory()
        guard let root = StoreDirectory.find(from: cwd) else {
            throw CLIError.usage("not in a cairn store (or any parent up to /): no .cairn folder found; run 'cairn init'")
        }
        return try StoreDirectory.open(in: root, options: options)
    }
}
