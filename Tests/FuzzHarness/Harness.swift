// libFuzzer's entry point for the value decoder and tree nodes (docs/fuzzing.md). Built by
// `make libfuzzer` with `-sanitize=fuzzer -parse-as-library -DCAIRN_LIBFUZZER`, libFuzzer
// supplies `main`; in an ordinary build this is a tool that replays input files through the
// same function (`cairn-fuzz-value FILE...`), so a crash libFuzzer saves can be run again.
import CairnStore
import CairnValues

/// One input: decoded as a value, and as a chunk (a tree node or a value chunk), then read
/// through. Any error is fine; a trap is the bug.
func fuzzOne(_ bytes: [UInt8]) {
    let store = NodeStore(MemoryChunkStore())
    if let v = try? Value.decode(bytes, store: store) {
        _ = try? v.treeProblems(memo: TreeCheckMemo())
        _ = try? v.encodedWithRefs(store: store)
    }
    let chunk = Chunk(hash: Hash(of: bytes), data: bytes)
    _ = try? ChunkReferences.describe(chunk)
}

#if CAIRN_LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzOne(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

public typealias FuzzArgv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<FuzzArgv>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

/// SwiftPM links an executable's entry point under this name: here it hands over to
/// libFuzzer's driver (its own `main` is then not linked in).
@_cdecl("cairn_fuzz_value_main")
public func fuzzMain(_ argc: Int32, _ argv: FuzzArgv) -> Int32 {
    var count = argc, args = argv
    return runFuzzerDriver(&count, &args) { data, size in fuzzerTestOneInput(data, size) }
}
#else
import Foundation

@main struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("cannot read \(path)")
                continue
            }
            fuzzOne([UInt8](data))
            print("ok \(path)")
        }
    }
}
#endif
