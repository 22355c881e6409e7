import Testing
@testable import StreamtopAnalytics

/// Keys come from strangers: a set of keys crafted to collide under a known hash must not collide under
/// the process's seeded one (the tables probe linearly, so collisions would make counting quadratic).
@Suite struct KeyHashTests {
    static let c1: UInt64 = 0xFF51_AFD7_ED55_8CCD

    /// The multiplicative inverse of an odd number modulo 2^64 (Newton's iteration).
    static func inverse(_ a: UInt64) -> UInt64 {
        var x = a
        for _ in 0..<6 { x = x &* (2 &- a &* x) }
        return x
    }

    /// One 8-byte round of the hash, and its inverse.
    static func round(_ h: UInt64, _ v: UInt64) -> UInt64 {
        var x = (h ^ v) &* c1
        x ^= x >> 32
        return x
    }

    static func unround(_ y: UInt64) -> UInt64 { (y ^ (y >> 32)) &* inverse(c1) }

    /// `count` distinct 32-byte keys that all hash to the same value under seed 0: bytes 8–16 and 24–32
    /// (the second lane and the tail) are the same in all, and bytes 16–24 undo the first lane's round
    /// over bytes 0–8, so the first lane ends at one value.
    static func collidingKeys(_ count: Int) -> [[UInt8]] {
        let start: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ 0
        let target: UInt64 = 0x1234_5678_9ABC_DEF0
        let fixed = withUnsafeBytes(of: UInt64(0x5A5A_5A5A_5A5A_5A5A).littleEndian) { Array($0) }
        return (0..<count).map { i in
            let v1 = UInt64(i) &* 0x0101_0101_0101_0101 ^ 0x4142_4344_4546_4748
            let a = round(start, v1)
            let v3 = unround(target) ^ a
            return withUnsafeBytes(of: v1.littleEndian) { Array($0) } + fixed + withUnsafeBytes(of: v3.littleEndian) { Array($0) } + fixed
        }
    }

    /// Short keys of other lengths, and keys that differ only in their last one or two bytes (addresses,
    /// numbered paths), hash apart and spread over a table's first slots (the low bits), seeded or not.
    @Test func similarKeysSpreadOverTheFirstSlots() {
        for seed in [UInt64(0), KeyHashSeed.value] {
            func h(_ s: String) -> UInt64 { Array(s.utf8).withUnsafeBufferPointer { ByteKeyCounter.hash($0.baseAddress!, $0.count, seed: seed) } }
            for (x, y) in [("ab", "abc"), ("/1", "/10"), ("a", "aac"), ("bccc", "bcccc"), ("", "a")] {
                #expect(h(x) != h(y), "\(x) / \(y)")
            }
            for prefix in ["10.0.0.", "192.168.1.", "/api/v1/users/", "/static/", String(repeating: "x", count: 37)] {
                let keys = (100..<200).map { prefix + String($0) }
                let firstSlots = Set(keys.map { h($0) & 4095 })
                // 100 random keys in 4,096 slots: ~99 distinct expected.
                #expect(firstSlots.count > 90, "\(prefix)…: \(firstSlots.count) first slots")
            }
        }
    }

    @Test func craftedCollisionsSpreadUnderTheSeededHash() {
        let keys = Self.collidingKeys(5000)
        #expect(Set(keys).count == 5000)
        func buckets(_ seed: UInt64) -> Int {
            Set(keys.map { k in k.withUnsafeBufferPointer { ByteKeyCounter.hash($0.baseAddress!, 32, seed: seed) & 0xFFFF } }).count
        }
        // Unseeded (seed 0) every key lands in one bucket: a table would probe 5000²/2 times.
        #expect(buckets(0) == 1)
        // With the process's seed they spread like random keys (~4,820 distinct of 65,536 expected).
        #expect(KeyHashSeed.value != 0)
        #expect(buckets(KeyHashSeed.value) > 4500)
        // And every key is counted as itself.
        let counter = ByteKeyCounter(initialCapacity: 16)
        for k in keys { k.withUnsafeBufferPointer { counter.add($0.baseAddress!, 32) } }
        #expect(counter.count == 5000)
    }

    /// Keys are compared with overlapping loads up to 16 bytes: a key differing from another in any one
    /// byte, at any length, is a different key, and equal keys at different addresses are the same.
    @Test func keysDifferingInAnyOneByteAreDifferentKeys() {
        for n in 0...40 {
            let a = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            // Copied at an odd offset, so that the loads are unaligned.
            let b = [0xAA] + a
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let p = pa.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    #expect(ByteKeyCounter.equal(p, pb.baseAddress! + 1, n), "length \(n)")
                }
            }
            for i in 0..<n {
                var c = a
                c[i] ^= 0x01
                a.withUnsafeBufferPointer { pa in
                    c.withUnsafeBufferPointer { pc in
                        #expect(!ByteKeyCounter.equal(pa.baseAddress!, pc.baseAddress!, n), "length \(n), byte \(i)")
                    }
                }
            }
        }
        // Counted as distinct keys in a table as well.
        let table = ByteKeyCounter()
        for key in ["10.0.0.1", "10.0.0.2", "10.0.0.10", "10.0.0.1", "/index.html", "/index.htm1"] { table.add(key: Array(key.utf8)) }
        #expect(table.count == 5)
        #expect(table.top(1).first?.key == "10.0.0.1" && table.top(1).first?.count == 2)
    }
}
