import Testing
@testable import StreamtopAnalytics

/// The distinct counter builds its HyperLogLog sketch only when its exact set overflows, and the visits
/// task takes the union of recent windows from their sketches: both rely on a sketch depending on the set
/// of values alone, so the estimates must equal those of a sketch fed every value as it came.
@Suite struct SketchTests {
    func values(_ range: Range<Int>) -> [UInt64] { range.map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 ^ 0x5555 } }

    @Test func aLateSketchEstimatesLikeOneKeptAllAlong() {
        var counter = DistinctCounter()
        var always = HyperLogLog()
        for v in values(0..<20_000) {
            counter.add(v)
            always.add(v)
        }
        #expect(counter.count.estimated)
        #expect(counter.count.value == Int(always.estimate.rounded()))
        var small = DistinctCounter()
        for v in values(0..<4096) { small.add(v) }
        #expect(small.count == (4096, false))
    }

    @Test func theUnionOfSketchesIsTheSketchOfTheUnion() {
        // Overlapping windows of users, some exact, some past the exact limit.
        let windows = [values(0..<3000), values(2000..<7000), values(6500..<6600), values(100..<12_000)]
        var merged = DistinctCounter()
        var union = HyperLogLog()
        for w in windows {
            var c = DistinctCounter()
            for v in w { c.add(v) }
            merged.merge(c)
            union.merge(c.sketchOfValues)
        }
        #expect(merged.count.estimated)
        #expect(merged.count.value == Int(union.estimate.rounded()))
        // Exact while the union fits.
        var a = DistinctCounter(), b = DistinctCounter()
        for v in values(0..<2000) { a.add(v) }
        for v in values(1000..<3000) { b.add(v) }
        a.merge(b)
        #expect(a.count == (3000, false))
    }
}

/// The tables built on `SlotIndex` behave like a dictionary through growth, in-place filters and
/// evictions (backward-shift deletion).
@Suite struct SlotIndexTests {
    @Test func hashTable64MatchesADictionary() {
        let table = HashTable64()
        var model: [UInt64: Int64] = [:]
        var seed: UInt64 = 3
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 20
        }
        for round in 0..<20 {
            for _ in 0..<2000 {
                let key = next() % 5000 &* 0x9E37_79B9_7F4A_7C15
                let value = Int64(next() % 1000)
                if next() % 2 == 0 {
                    #expect(table.set(key, value) == (model[key] == nil))
                    model[key] = value
                } else {
                    table.update(key) { old in
                        #expect(old == model[key])
                        return value % 3 == 0 ? nil : value
                    }
                    if value % 3 != 0 { model[key] = value }
                }
            }
            if round % 4 == 3 {
                table.filter { $0 >= 500 }
                model = model.filter { $0.value >= 500 }
            }
            if round == 10 { table.reserve(20_000) }
            #expect(table.count == model.count)
            for (k, v) in model { #expect(table.get(k) == v) }
            var seen = 0
            table.forEach { k, v in
                seen += 1
                #expect(model[k] == v)
            }
            #expect(seen == model.count)
        }
    }

    @Test func spaceSavingKeepsEveryTrackedKeyFindableThroughEvictions() {
        let s = SpaceSaving(capacity: 64)
        var seed: UInt64 = 11
        for _ in 0..<50_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Skewed: a few hot keys, a long tail that keeps evicting.
            let k = (seed >> 33) % 4 == 0 ? (seed >> 40) % 8 : (seed >> 40) % 10_000
            let key = Array("k\(k)".utf8)
            key.withUnsafeBufferPointer { s.add($0.baseAddress!, $0.count) }
        }
        let all = s.topWithErrors(64)
        #expect(s.evicted)
        #expect(Set(all.map(\.key)).count == all.count)
        #expect(all.reduce(0) { $0 + $1.count } == s.total)  // Space-Saving's counts always sum to the total
        // The hot keys are tracked, and adding one again finds it (its count grows by one).
        for hot in 0..<8 { #expect(all.contains { $0.key == "k\(hot)" }) }
        let before = s.topWithErrors(64).first { $0.key == "k3" }!.count
        let key = Array("k3".utf8)
        key.withUnsafeBufferPointer { s.add($0.baseAddress!, $0.count) }
        #expect(s.topWithErrors(64).first { $0.key == "k3" }!.count == before + 1)
    }

    /// The top k are the first k of all tracked keys ordered by count, then by the key as a string —
    /// ASCII keys, non-ASCII ones (`é`, composed or not) and invalid UTF-8 among them, with many ties.
    @Test func spaceSavingsTopIsTheFirstKOfAllKeysInOrder() {
        let alphabet: [[UInt8]] = [Array("a".utf8), Array("B".utf8), Array("é".utf8), Array("e\u{301}".utf8), [0xFF], Array("/".utf8), Array("z".utf8)]
        var seed: UInt64 = 5
        for capacity in [8, 200] {
            let s = SpaceSaving(capacity: capacity)
            for _ in 0..<3_000 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let key = (0..<(1 + Int(seed >> 61))).flatMap { i in alphabet[Int((seed >> (20 + 3 * UInt64(i))) % 7)] }
                key.withUnsafeBufferPointer { s.add($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
            }
            let all = s.topWithErrors(capacity)
            let reference = all.sorted { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
            #expect(all.map(\.key) == reference.map(\.key), "capacity \(capacity)")
            for k in [1, 3, 10, capacity] {
                #expect(s.topWithErrors(k).map(\.key) == Array(reference.prefix(k)).map(\.key), "capacity \(capacity), k \(k)")
            }
        }
    }
}
