import Histogram

/// Latency samples over a recent window: two HdrHistograms, the current one and the last complete one,
/// rotated every `windowNanos`, so percentiles follow the present instead of the whole run.
/// Not thread-safe: the engine calls it under its lock.
struct LatencyWindow {
    private var current = Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .two)
    private var previous = Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .two)
    /// Time per record (batch time over its records), weighted by records.
    private var currentPerRecord = Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .two)
    private var previousPerRecord = Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .two)
    private var rotatedAt: UInt64 = 0
    let windowNanos: UInt64
    /// Largest value the histograms track (100 s); larger samples are recorded as this.
    static let highest: UInt64 = 100_000_000_000
    /// Sum of recorded values and record counts in the window, for means.
    private var sums: (current: (ns: UInt64, records: UInt64), previous: (ns: UInt64, records: UInt64)) = ((0, 0), (0, 0))

    init(windowNanos: UInt64 = 5_000_000_000) { self.windowNanos = windowNanos }

    mutating func record(_ ns: UInt64, records: Int, now: UInt64) {
        rotateIfNeeded(now)
        _ = current.record(min(max(ns, 1), LatencyWindow.highest))
        if records > 0 {
            _ = currentPerRecord.record(min(max(ns / UInt64(records), 1), LatencyWindow.highest), count: UInt64(records))
        }
        sums.current.ns &+= ns
        sums.current.records &+= UInt64(records)
    }

    mutating func rotateIfNeeded(_ now: UInt64) {
        if now &- rotatedAt >= windowNanos {
            previous = current
            current.reset()
            previousPerRecord = currentPerRecord
            currentPerRecord.reset()
            sums.previous = sums.current
            sums.current = (0, 0)
            rotatedAt = now
        }
    }

    func summary() -> LatencySummary { Self.summarize(previous, current) }

    /// Percentiles of the union of two histograms (the last complete window and the current one).
    private static func summarize(_ older: Histogram<UInt64>, _ newer: Histogram<UInt64>) -> LatencySummary {
        var merged = older
        merged.add(newer)
        guard merged.totalCount > 0 else { return LatencySummary() }
        return LatencySummary(
            p50: merged.valueAtPercentile(50), p95: merged.valueAtPercentile(95), p99: merged.valueAtPercentile(99),
            max: merged.max, count: merged.totalCount)
    }

    /// Percentiles of time per record over the window.
    func perRecordSummary() -> LatencySummary { Self.summarize(previousPerRecord, currentPerRecord) }

    /// Mean nanoseconds per record in the window.
    func nanosPerRecord() -> Double {
        let ns = sums.current.ns + sums.previous.ns
        let n = sums.current.records + sums.previous.records
        return n == 0 ? 0 : Double(ns) / Double(n)
    }
}
