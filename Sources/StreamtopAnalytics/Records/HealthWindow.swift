import Histogram
import StreamtopEngine

/// The last five minutes of the site, in event time, in ten-second buckets: requests, 4xx and 5xx
/// responses, bytes served and the time to serve them. What the dashboard's health strip reads ("5xx 7.3 %
/// over the last minute") and what its alerts are judged on.
///
/// Event time, not wall time: a replay at 600× shows the health of the recording's last minutes. A record
/// older than the window (a late line) is left out of it, never out of the report. The window is not kept
/// in checkpoints: after a restart it refills within five minutes of input.
/// Not thread-safe: one per aggregate slot, like the rest of `AccessAggregate`.
public struct HealthWindow {
    /// Seconds per bucket, and buckets kept (5 minutes).
    public static let bucketSeconds: Int64 = 10
    public static let bucketCount = 30

    struct Bucket {
        /// Which ten seconds (event time / 10), or Int64.min when unused.
        var index = Int64.min
        var requests = 0
        var client = 0
        var server = 0
        var bytes: Int64 = 0
        /// Time to serve (µs), one significant digit: percentiles within 10 %, in 1/30 of the memory of
        /// the report's histogram. Made on the first time recorded (most formats log none), and cleared,
        /// not made anew, when the slot moves on to a later bucket.
        var served: Histogram<UInt64>?
    }

    static let emptyServed = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .one)

    private var buckets = [Bucket](repeating: Bucket(), count: HealthWindow.bucketCount)
    /// The newest bucket seen.
    private var newest = Int64.min

    /// An empty window.
    public init() {}

    /// Responses of one bucket, summed by the caller before they are added (see `AccessAggregate.add`).
    public struct Tally {
        public var bucket: Int64
        public var requests = 0
        public var client = 0
        public var server = 0
        public var bytes: Int64 = 0
        public init(bucket: Int64) { self.bucket = bucket }
    }

    /// The bucket of an event time (UTC seconds).
    @inline(__always)
    public static func bucket(of time: Int64) -> Int64 {
        time >= 0 ? time / bucketSeconds : (time - bucketSeconds + 1) / bucketSeconds
    }

    /// The slot of a bucket in the window, or nil when the bucket is older than the window; a bucket newer
    /// than any seen moves the window on.
    @inline(__always)
    private mutating func slot(for index: Int64) -> Int? {
        if index > newest { newest = index }
        guard index > newest - Int64(Self.bucketCount) else { return nil }
        let slot = Int(((index % Int64(Self.bucketCount)) + Int64(Self.bucketCount)) % Int64(Self.bucketCount))
        if buckets[slot].index != index {
            var served = buckets[slot].served
            served?.reset()
            buckets[slot] = Bucket(index: index, served: served)
        }
        return slot
    }

    /// Adds a bucket's tally.
    public mutating func add(_ t: Tally) {
        guard t.requests > 0, let s = slot(for: t.bucket) else { return }
        buckets[s].requests += t.requests
        buckets[s].client += t.client
        buckets[s].server += t.server
        buckets[s].bytes &+= max(0, t.bytes)
    }

    /// Records one time to serve (µs) in its bucket.
    @inline(__always)
    public mutating func recordServed(bucket: Int64, micros: Int64) {
        guard let s = slot(for: bucket) else { return }
        if buckets[s].served == nil { buckets[s].served = Self.emptyServed }
        _ = buckets[s].served!.record(UInt64(min(micros, 3_600_000_000)))
    }

    /// Counts one response at event time `time` (UTC seconds).
    public mutating func add(time: Int64, status: UInt16, size: Int64, servedMicros: Int64) {
        var t = Tally(bucket: Self.bucket(of: time))
        t.requests = 1
        if status >= 500 && status < 600 { t.server = 1 } else if status >= 400 && status < 500 { t.client = 1 }
        t.bytes = size
        add(t)
        if servedMicros >= 0 { recordServed(bucket: t.bucket, micros: servedMicros) }
    }

    /// Adds another slot's window into this one (buckets of the same ten seconds add up).
    public mutating func merge(_ other: HealthWindow) {
        for b in other.buckets where b.index != Int64.min {
            if b.index > newest { newest = b.index }
        }
        for b in other.buckets where b.index != Int64.min && b.index > newest - Int64(Self.bucketCount) {
            let slot = Int(((b.index % Int64(Self.bucketCount)) + Int64(Self.bucketCount)) % Int64(Self.bucketCount))
            if buckets[slot].index != b.index {
                if buckets[slot].index > b.index { continue }
                buckets[slot] = Bucket(index: b.index)
            }
            buckets[slot].requests += b.requests
            buckets[slot].client += b.client
            buckets[slot].server += b.server
            buckets[slot].bytes &+= b.bytes
            if let s = b.served {
                if buckets[slot].served == nil { buckets[slot].served = Self.emptyServed }
                buckets[slot].served!.add(s)
            }
        }
    }

    /// The figures over the last `seconds` of event time (60 or 300), up to the newest record, with each
    /// bucket's requests and 5xx responses (newest first) for alerts judged against any threshold.
    public func summary(seconds: Int64) -> SiteHealth.Window? {
        guard newest != Int64.min else { return nil }
        let span = Int(min(Int64(Self.bucketCount), max(1, seconds / Self.bucketSeconds)))
        let live = buckets.filter { $0.index != Int64.min && $0.index > newest - Int64(span) }
        let requests = live.reduce(0) { $0 + $1.requests }
        guard requests > 0 else { return nil }
        // The seconds the window really covers: a run younger than the window divides by its own age.
        let oldest = live.map(\.index).min() ?? newest
        let covered = Double((newest - oldest + 1) * Self.bucketSeconds)
        var served = Self.emptyServed
        for b in live { if let s = b.served { served.add(s) } }
        let recent = stride(from: newest, to: newest - Int64(span), by: -1).map { i -> [Int] in
            let b = buckets.first { $0.index == i }
            return [b?.requests ?? 0, b?.server ?? 0]
        }
        return SiteHealth.Window(
            seconds: Int(seconds), requests: requests, perSecond: Double(requests) / covered,
            clientErrorShare: Double(live.reduce(0) { $0 + $1.client }) / Double(requests),
            serverErrorShare: Double(live.reduce(0) { $0 + $1.server }) / Double(requests),
            bytesPerSecond: Double(live.reduce(Int64(0)) { $0 &+ $1.bytes }) / covered,
            servedP50: served.totalCount == 0 ? nil : served.valueAtPercentile(50),
            servedP99: served.totalCount == 0 ? nil : served.valueAtPercentile(99),
            recent: recent)
    }
}

/// The site's health over the last minute and the last five, in event time: what an operator watches a
/// site by (request rate, error shares, served time, bandwidth), next to the engine's own figures.
public struct SiteHealth: Sendable, Codable, Equatable {
    /// One window's figures.
    public struct Window: Sendable, Codable, Equatable {
        /// Its length (60 or 300).
        public var seconds: Int
        /// Responses in it, and per second of the time it covers.
        public var requests: Int
        public var perSecond: Double
        /// Shares of 4xx and 5xx responses (0…1).
        public var clientErrorShare: Double
        public var serverErrorShare: Double
        /// Bytes served per second.
        public var bytesPerSecond: Double
        /// Time to serve (µs) at the median and the 99th percentile, when the format logs it.
        public var servedP50: UInt64?
        public var servedP99: UInt64?
        /// Per ten seconds, newest first: `[requests, 5xx responses]`.
        public var recent: [[Int]]

        /// How long (seconds, in whole buckets back from the newest) the 5xx share has stayed at or above
        /// `share`.
        public func seconds(serverErrorsAtLeast share: Double) -> Int {
            var n = 0
            for b in recent {
                guard b.count == 2, b[0] > 0, Double(b[1]) / Double(b[0]) >= share else { break }
                n += Int(HealthWindow.bucketSeconds)
            }
            return n
        }
    }

    /// The last minute and the last five.
    public var minute: Window?
    public var fiveMinutes: Window?


    /// Creates the summary.
    public init(minute: Window?, fiveMinutes: Window?) {
        self.minute = minute
        self.fiveMinutes = fiveMinutes
    }
}
