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
