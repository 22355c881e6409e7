import Foundation
import Histogram
import Testing
@testable import StreamtopEngine

/// The latency columns and the batch-latency metrics: percentiles over the recent window, computed in one
/// walk over the buckets, must equal HdrHistogram's own `valueAtPercentile`; and a busy task's summary is
/// refreshed at most twice a second while an idle one's is never recomputed.
@Suite struct LatencyWindowTests {
    @Test func percentilesMatchHdrHistogram() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var window = LatencyWindow()
            var reference = Histogram<UInt64>(highestTrackableValue: LatencyWindow.highest, numberOfSignificantValueDigits: .two)
            let n = round == 0 ? 1 : Int.random(in: 2...5000, using: &rng)
            for _ in 0..<n {
                // Spread over nine decades, like batch times from microseconds to seconds.
                let v = UInt64(pow(10, Double.random(in: 2...11, using: &rng)))
                window.record(v, records: 1, now: 1)
                _ = reference.record(min(max(v, 1), LatencyWindow.highest))
            }
            let s = window.summary(now: 2, exact: true)
            #expect(s.count == UInt64(n))
            #expect(s.p50 == reference.valueAtPercentile(50), "round \(round), \(n) values")
            #expect(s.p95 == reference.valueAtPercentile(95))
            #expect(s.p99 == reference.valueAtPercentile(99))
            #expect(s.max == reference.max)
        }
    }

    @Test func busySummaryIsRefreshedAtMostEveryHalfSecond() {
        var window = LatencyWindow()
        window.record(1_000, records: 1, now: 10)
        #expect(window.summary(now: 10).p99 == 1_000, "the first samples show at once")
        window.record(9_000_000, records: 1, now: 20)
        #expect(window.summary(now: 20).max < 9_000_000, "within half a second the last summary stands")
        #expect(window.summary(now: 20 + LatencyWindow.refreshNanos).max >= 9_000_000)
        window.record(50_000_000, records: 1, now: 30 + LatencyWindow.refreshNanos)
        #expect(window.summary(now: 31 + LatencyWindow.refreshNanos, exact: true).max >= 50_000_000, "exact: at the end of a run")
    }
}
