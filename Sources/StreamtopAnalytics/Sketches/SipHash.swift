/// SipHash-2-4 (Aumasson and Bernstein), a keyed pseudo-random function: its output reveals nothing
/// usable about the key. streamtop uses it only where a value derived from the secret hash seed leaves
/// the process (`ClusterShare.seedFingerprint`); the tables use the faster `ByteKeyCounter.hash`.
public enum SipHash {
    /// The 64-bit SipHash-2-4 of `message` under the 128-bit key `(k0, k1)` (little-endian halves).
    public static func hash(_ message: [UInt8], k0: UInt64, k1: UInt64) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1
        func round() {
            v0 = v0 &+ v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 = v2 &+ v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 = v0 &+ v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 = v2 &+ v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        }
        func absorb(_ m: UInt64) {
            v3 ^= m
            round()
            round()
            v0 ^= m
        }
        let whole = message.count / 8 * 8
        var i = 0
        while i < whole {
            var m: UInt64 = 0
            for j in 0..<8 { m |= UInt64(message[i + j]) << (8 * UInt64(j)) }
            absorb(m)
            i += 8
        }
        // The last block: the remaining bytes, and the length's low byte on top.
        var last = UInt64(truncatingIfNeeded: message.count) << 56
        for j in 0..<(message.count - whole) { last |= UInt64(message[whole + j]) << (8 * UInt64(j)) }
        absorb(last)
        v2 ^= 0xff
        for _ in 0..<4 { round() }
        return v0 ^ v1 ^ v2 ^ v3
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }
}
