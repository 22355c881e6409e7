/// A count's rate and a gauge's peak per whole second (the last 15 minutes) and per whole minute (the last
/// day): the long spans of the dashboard's graphs, for the input and for each task. Fed by the ticker (or
/// the step-mode driver) with the running count and the gauge's value; a quiet ticker that slept through
/// seconds gets them filled in evenly, as nothing moved then.
///
/// Appending happens once a second at most, so snapshots taken between share the arrays' storage (copy on
/// write) instead of copying them ten times a second.
struct LongHistory {
    static let secondsKept = 900
    static let minutesKept = 1_440

    /// Count per second over each whole second, oldest first.
    private(set) var ratePerSecond: [Double] = []
    /// Count per second over each whole minute, to a tenth (a day of six-digit rates stays short in
    /// every `/api/v1/dashboard` answer: ~14 kB).
    private(set) var ratePerMinute: [Double] = []
    /// The gauge's highest value within each whole second, and within each whole minute.
    private(set) var peakPerSecond: [Double] = []
    private(set) var peakPerMinute: [Double] = []
    private var secondMark = (second: UInt64(0), count: 0)
    private var minuteMark = (minute: UInt64(0), count: 0)
    private var secondPeak = 0.0
    private var minutePeak = 0.0

    /// Notes the count and the gauge at `second` (whole seconds since the run's start).
    mutating func record(second: UInt64, count: Int, gauge: Double = 0) {
        secondPeak = max(secondPeak, gauge)
        minutePeak = max(minutePeak, gauge)
        if second > secondMark.second {
            let n = Int(min(second - secondMark.second, UInt64(Self.secondsKept)))
            let each = Double(count - secondMark.count) / Double(second - secondMark.second)
            Self.append(&ratePerSecond, each, n, keep: Self.secondsKept)
            Self.append(&peakPerSecond, secondPeak, n, keep: Self.secondsKept)
            secondMark = (second, count)
            secondPeak = gauge
        }
        let minute = second / 60
        if minute > minuteMark.minute {
            let n = Int(min(minute - minuteMark.minute, UInt64(Self.minutesKept)))
            let each = (Double(count - minuteMark.count) / Double((minute - minuteMark.minute) * 60) * 10).rounded() / 10
            Self.append(&ratePerMinute, each, n, keep: Self.minutesKept)
            Self.append(&peakPerMinute, minutePeak, n, keep: Self.minutesKept)
            minuteMark = (minute, count)
            minutePeak = gauge
        }
    }

    private static func append(_ ring: inout [Double], _ value: Double, _ n: Int, keep: Int) {
        ring.append(contentsOf: repeatElement(value, count: n))
        if ring.count > keep { ring.removeFirst(ring.count - keep) }
    }
}
