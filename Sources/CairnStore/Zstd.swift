import CZstd

/// zstd compression with a reusable context. One instance per thread.
final class ZstdCompressor {
    private let context: OpaquePointer
    let level: Int32

    init(level: Int32) {
        context = ZSTD_createCCtx()
        self.level = level
        // Chunks are hashed already; zstd's own checksum would only cost time.
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0)
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        return [UInt8](unsafeUninitializedCapacity: bound) { out, written in
            let n = ZSTD_compress2(context, out.baseAddress, bound, input.baseAddress, input.count)
            // Compression into a buffer of compressBound cannot fail for valid parameters.
            precondition(ZSTD_isError(n) == 0, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
            written = n
        }
    }
}

/// zstd decompression, capped: it never allocates more than `limit` bytes, whatever the frame says.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() { context = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(context) }

    enum Failure: Error { case malformed(String), tooLarge(UInt64), sizeMismatch(expected: Int, got: Int) }

    /// Decompresses a frame that must expand to exactly `expectedSize` bytes (at most `limit`).
    func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int, limit: Int) throws(Failure) -> [UInt8] {
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        if declared == ZSTD_CONTENTSIZE_ERROR { throw .malformed("not a zstd frame") }
        if declared == ZSTD_CONTENTSIZE_UNKNOWN { throw .malformed("frame without a content size") }
        if declared > UInt64(limit) { throw .tooLarge(declared) }
        if declared != UInt64(expectedSize) { throw .sizeMismatch(expected: expectedSize, got: Int(declared)) }
        var failure: Failure?
        let out = [UInt8](unsafeUninitializedCapacity: expectedSize) { buf, written in
            let n = ZSTD_decompressDCtx(context, buf.baseAddress, expectedSize, input.baseAddress, input.count)
            if ZSTD_isError(n) != 0 {
                failure = .malformed(String(cString: ZSTD_getErrorName(n)))
                written = 0
            } else {
                written = n
            }
        }
        if let failure { throw failure }
        if out.count != expectedSize { throw .sizeMismatch(expected: expectedSize, got: out.count) }
        return out
    }
}
