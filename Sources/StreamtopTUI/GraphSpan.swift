/// What the dashboard's throughput graph spans (g cycles): the live tenth-of-a-second samples, or the
/// last one, five or fifteen minutes, or the last one, six or 24 hours, fitted to the graph's width.
public enum GraphSpan: String, CaseIterable, Sendable {
    case live, minute, fiveMinutes, fifteenMinutes, hour, sixHours, day

    /// As the status line says it.
    public var label: String {
        switch self {
        case .live: return "live, 0.1 s a column"
        case .minute: return "last minute"
        case .fiveMinutes: return "last 5 minutes"
        case .fifteenMinutes: return "last 15 minutes"
        case .hour: return "last hour"
        case .sixHours: return "last 6 hours"
        case .day: return "last 24 hours"
        }
    }

    /// The span in seconds (the live span's depends on the graph's width: a tenth of a second a column).
    public func seconds(columns: Int) -> Double {
        switch self {
        case .live: return Double(columns) / 10
        case .minute: return 60
        case .fiveMinutes: return 300
        case .fifteenMinutes: return 900
        case .hour: return 3_600
        case .sixHours: return 21_600
        case .day: return 86_400
        }
    }

    /// The values of `columns` columns, oldest first (nil where the run had not started yet), and the
    /// seconds they span. `tenHertz` holds a sample per tenth of a second (the last minute), `perSecond`
    /// one per second (the last 15 minutes), `perMinute` one per whole minute (the last day). A column is
    /// the mean of its samples; when there are fewer samples than columns, a sample spans several columns.
    /// The right edge is always now, so graphs of one span line up whatever their source: the hour spans end
    /// with the minute under way, the mean of its `secondsIntoMinute` last per-second samples.
    /// With `peaks`, the samples are highest values (a p99's peak per second or minute) and a column
    /// keeps the highest of its samples instead of their mean, so a peak reads the same at every span.
    public static func series(
        _ span: GraphSpan, tenHertz: [Double], perSecond: [Double], perMinute: [Double] = [], secondsIntoMinute: Int = 0, columns: Int,
        peaks: Bool = false
    ) -> (values: [Double?], seconds: Double) {
        guard columns > 0 else { return ([], 0) }
        let samples: [Double]
        let wanted: Int
        let perSample: Double
        func combine(_ values: ArraySlice<Double>) -> Double {
            peaks ? values.max() ?? 0 : values.reduce(0, +) / Double(values.count)
        }
        func minutes(_ n: Int) -> [Double] {
            let current = perSecond.suffix(min(secondsIntoMinute, 59))
            guard !current.isEmpty else { return Array(perMinute.suffix(n)) }
            return Array(perMinute.suffix(n - 1)) + [combine(current)]
        }
        switch span {
        case .live: (samples, wanted, perSample) = (Array(tenHertz.suffix(columns)), columns, 0.1)
        case .minute: (samples, wanted, perSample) = (Array(tenHertz.suffix(600)), 600, 0.1)
        case .fiveMinutes: (samples, wanted, perSample) = (Array(perSecond.suffix(300)), 300, 1)
        case .fifteenMinutes: (samples, wanted, perSample) = (Array(perSecond.suffix(900)), 900, 1)
        case .hour: (samples, wanted, perSample) = (minutes(60), 60, 60)
        case .sixHours: (samples, wanted, perSample) = (minutes(360), 360, 60)
        case .day: (samples, wanted, perSample) = (minutes(1_440), 1_440, 60)
        }
        // The span's samples, with nil for the part before the run's first sample.
        let padded: [Double?] = Array(repeating: nil, count: max(0, wanted - samples.count)) + samples.map { Optional($0) }
        guard wanted != columns else { return (padded, Double(wanted) * perSample) }
        var out: [Double?] = []
        out.reserveCapacity(columns)
        for c in 0..<columns {
            let lo = c * wanted / columns
            let hi = max(lo + 1, (c + 1) * wanted / columns)
            let bucket = padded[lo..<min(hi, wanted)].compactMap { $0 }
            out.append(bucket.isEmpty ? nil : combine(bucket[...]))
        }
        return (out, Double(wanted) * perSample)
    }
}

extension GraphSpan {
    /// A time axis under graphs `columns` wide spanning `seconds`: tick marks at round offsets from now
    /// (`-45m`, `-30m`, `-15m`, `now`), as many as fit with room between their labels.
    public static func axis(seconds: Double, columns: Int) -> String {
        guard columns >= 12, seconds > 0 else { return "" }
        // Round steps, the smallest that leaves at least ~10 columns between ticks.
        let steps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200]
        let step = steps.first { Double(columns) * $0 / seconds >= 10 } ?? seconds
        var row = [Character](repeating: " ", count: columns)
        func label(_ ago: Double) -> String {
            if ago == 0 { return "now" }
            let s = Int(ago.rounded())
            return s % 3_600 == 0 ? "-\(s / 3_600)h" : s % 60 == 0 ? "-\(s / 60)m" : "-\(s)s"
        }
        var ago = 0.0
        while ago <= seconds {
            // Column of the moment `ago` seconds before now (the right edge).
            let x = columns - 1 - Int((ago / seconds * Double(columns)).rounded())
            let text = Array(label(ago))
            let start = min(max(0, x - text.count + 1), columns - text.count)
            // A label never overwrites another (the leftmost may be dropped at an odd width).
            if start >= 0 && row[start..<(start + text.count)].allSatisfy({ $0 == " " }) && (start == 0 || row[start - 1] == " ") {
                for (i, c) in text.enumerated() { row[start + i] = c }
            }
            ago += step
        }
        return String(row)
    }
}
