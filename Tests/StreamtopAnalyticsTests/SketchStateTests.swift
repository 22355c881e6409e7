import Histogram
import StreamtopEngine
import Testing
@testable import StreamtopAnalytics

/// A checkpoint stores each sketch and a resumed run restores it: the restored sketch must not only
/// answer the same, it must go on exactly as the original would (same evictions, same estimates), or a
/// restart would show in the results.
@Suite struct SketchStateTests {
    /// Keys with a skewed distribution, so Space-Saving evicts.
    func keys(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var x = seed
        return (0..<n).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let r = Int(x >> 33) % 1000
            return Array("/k/\(r * r % 997)".utf8)
        }
    }

    func roundTrip(_ save: (inout StateWriter) -> Void) -> StateReader {
        var w = StateWriter()
        save(&w)
        return StateReader(w.bytes)
    }

    @Test func aRestoredSpaceSavingEvictsAsTheOriginalWould() throws {
        let first = keys(20_000, seed: 1), second = keys(20_000, seed: 2)
        let whole = SpaceSaving(capacity: 50)
        for k in first + second { k.withUnsafeBufferPointer { whole.add($0.baseAddress!, $0.count) } }
        let half = SpaceSaving(capacity: 50)
        for k in first { k.withUnsafeBufferPointer { half.add($0.baseAddress!, $0.count) } }
        var r = roundTrip { half.saveState(&$0) }
        let restored = SpaceSaving(capacity: 50)
        try restored.restoreState(&r)
        #expect(r.isAtEnd)
        for k in second { k.withUnsafeBufferPointer { restored.add($0.baseAddress!, $0.count) } }
        #expect(whole.evicted)
        #expect(restored.topWithErrors(50).map { "\($0.key) \($0.count) \($0.error)" } == whole.topWithErrors(50).map { "\($0.key) \($0.count) \($0.error)" })
        #expect(restored.total == whole.total)
        // Another capacity is another sketch: refused.
        var again = roundTrip { half.saveState(&$0) }
        #expect(throws: StateReader.Damaged.self) { try SpaceSaving(capacity: 10).restoreState(&again) }
    }

    @Test func aRestoredKeyCounterKeepsKeysCountsAndOrder() throws {
        let counter = ByteKeyCounter()
        for k in keys(5000, seed: 3) + [[0xFF, 0xFE, 0x41], []] { counter.add(key: k) }
        var r = roundTrip { counter.saveState(&$0) }
        let restored = ByteKeyCounter()
        try restored.restoreState(&r)
        #expect(restored.count == counter.count)
        #expect(restored.top(30) == counter.top(30))
        #expect((0..<counter.count).allSatisfy { restored.keyBytes(at: $0) == counter.keyBytes(at: $0) && restored.count(at: $0) == counter.count(at: $0) })
        // It goes on counting the same keys under the same indices.
        for k in keys(1000, seed: 4) {
            counter.add(key: k)
            restored.add(key: k)
        }
        #expect(restored.top(30) == counter.top(30))
        #expect(restored.count == counter.count)
    }

    @Test func aRestoredDistinctCounterGoesOnExactOrEstimated() throws {
        for n in [100, 10_000] {
            var original = DistinctCounter()
            for i in 0..<n { original.add(UInt64(i) &* 0x9E37_79B9_7F4A_7C15) }
            var r = roundTrip { original.saveState(&$0) }
            var restored = try DistinctCounter(restoring: &r)
            #expect(restored.count == original.count)
            for i in n..<(n + 3000) {
                original.add(UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                restored.add(UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
            }
            #expect(restored.count == original.count)
        }
    }

    @Test func aRestoredHistogramAnswersAsTheOriginal() throws {
        var h = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
        var x: UInt64 = 99
        for _ in 0..<50_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1
            _ = h.record((x >> 40) % 5_000_000 + 1)
        }
        var r = roundTrip { $0.histogram(h) }
        let back = try r.histogram(into: Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two))
        #expect(back.totalCount == h.totalCount)
        #expect(back.max == h.max)
        for p in [0.0, 1, 50, 90, 99, 99.9, 100] { #expect(back.valueAtPercentile(p) == h.valueAtPercentile(p), "p\(p)") }
        // A value outside the layout (a hand-edited checkpoint) is refused, not recorded out of range.
        var w = StateWriter()
        w.numbers([UInt64(1) << 50])
        w.numbers([UInt64(1)])
        var bad = StateReader(w.bytes)
        #expect(throws: StateReader.Damaged.self) { try bad.histogram(into: Histogram<UInt64>(highestTrackableValue: 1000, numberOfSignificantValueDigits: .two)) }
    }

    @Test func aDamagedSketchFailsCleanlyAtEveryCut() throws {
        let counter = ByteKeyCounter()
        for k in keys(300, seed: 5) { counter.add(key: k) }
        var w = StateWriter()
        counter.saveState(&w)
        let bytes = w.bytes
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            var r = StateReader(Array(bytes.prefix(cut)))
            #expect(throws: StateReader.Damaged.self) { try ByteKeyCounter().restoreState(&r) }
        }
    }
}
