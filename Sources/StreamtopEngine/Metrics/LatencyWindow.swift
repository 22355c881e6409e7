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
    /// Bumped by every change; the summaries below are kept until it moves. A snapshot is published ten
    /// times a second for every task, and percentiles walk the histograms' buckets (through unspecialized
    /// generic code): recomputing them for an idle task was most of an idle instance's CPU.
    /// While samples keep coming they are recomputed at most every `refreshNanos` (percentiles over a
    /// window of seconds barely move in a tick; at 20 k lines/s, every tick this was a sixth of the
    /// instance's CPU, twice a second still 3 %: each summary merges two histograms of thousands of
    /// buckets, for every task).
    private var version: UInt64 = 1
    private var cached: (version: UInt64, at: UInt64, batch: LatencySummary, perRecord: LatencySummary) = (0, 0, LatencySummary(), LatencySummary())
    static let refreshNanos: UInt64 = 1_000_000_000

    init(windowNanos: UInt64 = 5_000_000_000) { self.windowNanos = windowNanos }

    mutating func record(_ ns: UInt64, records: Int, now: UInt64) {
        rotateIfNeeded(now)
        _ = current.record(min(max(ns, 1), LatencyWindow.highest))
        if records > 0 {
            _ = currentPerRecord.record(min(max(ns / UInt64(records), 1), LatencyWindow.highest), count: UInt64(records))
        }
        sums.current.ns &+= ns
        sums.current.records &+= UInt64(records)
        version &+= 1
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
            version &+= 1
        }
    }

    /// Percentiles of batch time over the window, as of at most `refreshNanos` before `now` (exact with
    /// `exact`, or when the last summary was empty).
    mutating func summary(now: UInt64, exact: Bool = false) -> LatencySummary {
        refreshSummaries(now: now, exact: exact)
        return cached.batch
    }

    /// Percentiles of time per record over the window (refreshed with `summary`).
    mutating func perRecordSummary(now: UInt64, exact: Bool = false) -> LatencySummary {
        refreshSummaries(now: now, exact: exact)
        return cached.perRecord
    }

    private mutating func refreshSummaries(now: UInt64, exact: Bool) {
        guard cached.version != version else { return }
        guard exact || cached.batch.count == 0 || now &- cached.at >= Self.refreshNanos || now < cached.at else { return }
        cached = (version, now, Self.summarize(previous, current), Self.summarize(previousPerRecord, currentPerRecord))
    }

    /// Percentiles of the union of two histograms (the last complete window and the current one).
    private static func summarize(_ older: Histogram<UInt64>, _ newer: Histogram<UInt64>) -> LatencySummary {
        if newer.totalCount == 0 { return older.totalCount == 0 ? LatencySummary() : summarize(older) }
        if older.totalCount == 0 { return summarize(newer) }
        var merged = older
        merged.add(newer)
        return summarize(merged)
    }

    /// p50, p95 and p99 in one walk over the recorded buckets (the iterator is inlinable, so it is
    /// specialised here), with `valueAtPercentile`'s rounding; three calls of that (not inlinable, so
    /// generic at run time) walked the whole bucket array three times.
    private static func summarize(_ h: Histogram<UInt64>) -> LatencySummary {
        let total = h.totalCount
        let wanted: [Double] = [50, 95, 99]
        let needed = wanted.map { p in Swift.max(1, UInt64((Swift.min(Swift.max(p.nextDown, 0), 100) * Double(total) / 100).rounded(.up))) }
        var found: [UInt64] = [0, 0, 0]
        var next = 0
        let (low, high) = (h.min, h.maxRecorded)
        for v in h.recordedValues() {
            while next < needed.count && v.totalCountToThisValue >= needed[next] {
                found[next] = Swift.max(Swift.min(v.value, high), low)
                next += 1
            }
            if next == needed.count { break }
        }
        return LatencySummary(p50: found[0], p95: found[1], p99: found[2], max: h.max, count: total)
    }

    /// Mean nanoseconds per record in the window.
    func nanosPerRecord() -> Double {
        let ns = sums.current.ns + sums.previous.ns
        let n = sums.current.records + sums.previous.records
        return n == 0 ? 0 : Double(ns) / Double(n)
    }
}
