import CairnStore
/// Where prolly-tree nodes end: Dolt's published rule, with content-only inputs.
///
/// After an item of encoded size `a` brings the node to `s` bytes:
/// - no split while `s` < 512;
/// - always split once `s` ≥ 16 KiB;
/// - otherwise split when the item's 32-bit key hash, as a fraction of 2³² − 1, falls below
///   (F(s) − F(s − a)) / (1 − F(s − a)), with F the Weibull CDF, k = 4, λ = 4096. That is
///   1 − exp((s−a)⁴/λ⁴ − s⁴/λ⁴), computed here with IEEE +, ×, ÷ only, so every machine
///   decides alike (a libm `exp` may differ by an ulp between platforms).
///
/// Node sizes then cluster around λ·Γ(1.25) ≈ 3.6 KiB.
enum Boundary {
    static let minSize = 512
    static let maxSize = 16 * 1024
    static let lambda = 4096.0

    @inline(__always)
    static func splits(sizeBefore s0: Int, itemSize a: Int, keyHash h: UInt32) -> Bool {
        let s = s0 + a
        if s < minSize { return false }
        if s >= maxSize { return true }
        let x0 = Double(s0) / lambda, x1 = Double(s) / lambda
        let x0sq = x0 * x0, x1sq = x1 * x1
        let d = x1sq * x1sq - x0sq * x0sq
        let f = Double(h) / 4_294_967_295.0
        // 1 − e^(−d) ≤ d, and the computed value is within 1e-7 of the true one, so a hash
        // fraction at or above d + 1e-6 cannot split: most items end here, without the series.
        // The decision is the same as the full computation's (tested).
        if f >= d + 1e-6 { return false }
        return f < 1 - expNeg(d)
    }

    /// The rule without the shortcut, for tests.
    static func splitsExactly(sizeBefore s0: Int, itemSize a: Int, keyHash h: UInt32) -> Bool {
        let s = s0 + a
        if s < minSize { return false }
        if s >= maxSize { return true }
        let x0 = Double(s0) / lambda, x1 = Double(s) / lambda
        let x0sq = x0 * x0, x1sq = x1 * x1
        let d = x1sq * x1sq - x0sq * x0sq
        return Double(h) / 4_294_967_295.0 < 1 - expNeg(d)
    }

    /// e^(−d) for d ≥ 0, from basic IEEE operations: a Taylor series on d/256, squared 8 times.
    @inline(__always)
    static func expNeg(_ d: Double) -> Double {
        if d > 700 { return 0 }
        let x = -d / 256
        // d is at most (16384/4096)⁴ = 256 below the forced split, so |x| ≤ 1 and twelve terms
        // of the series leave a relative error near 1e-10 before squaring.
        var term = 1.0, sum = 1.0
        for k in 1...12 {
            term = term * x / Double(k)
            sum += term
        }
        for _ in 0..<8 { sum *= sum }
        return sum
    }

    /// The 32-bit boundary hash of an item's key bytes, salted by tree level.
    @inline(__always)
    static func keyHash(_ key: UnsafeRawBufferPointer, level: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: XXHash64.hash(key, seed: UInt64(level) &* 0x9E37_79B9_7F4A_7C15 &+ 1) >> 32)
    }
}

/// Content-defined chunking for Blob bytes: a gear hash over the last 64 bytes, a boundary
/// where its top 12 bits are zero, at least 1 KiB and at most 16 KiB a leaf.
enum BlobBoundary {
    static let minSize = 1024
    static let maxSize = 16 * 1024
    static let mask: UInt64 = 0xFFF0_0000_0000_0000

    /// 256 pseudo-random words from SplitMix64 with a fixed seed: the same on every machine.
    static let gear: [UInt64] = {
        var rng = SplitMix64(seed: 0x6361_6972_6E5F_6765)  // "cairn_ge"
        return (0..<256).map { _ in rng.next() }
    }()
}
