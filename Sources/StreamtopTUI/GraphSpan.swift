/// What the dashboard's throughput graph spans (g cycles): the live tenth-of-a-second samples, or the
/// last one, five or fifteen minutes fitted to the graph's width.
public enum GraphSpan: String, CaseIterable, Sendable {
    case live, minute, fiveMinutes, fifteenMinutes

    /// As the status line says it.
    public var label: String {
        switch self {
        case .live: return "live, 0.1 s a column"
        case .minute: return "last minute"
        case .fiveMinutes: return "last 5 minutes"
        case .fifteenMinutes: return "last 15 minutes"
        }
    }

    /// The values of `columns` columns, oldest first (nil where the run had not started yet), and the
    /// seconds they span. `tenHertz` holds a sample per tenth of a second (the last minute), `perSecond`
    /// one per second (the last 15 minutes). A column is the mean of its samples; when there are fewer
    /// samples than columns, a sample spans several columns. The right edge is always now, so graphs of
    /// one span line up whatever their source.
    public static func series(_ span: GraphSpan, tenHertz: [Double], perSecond: [Double], columns: Int) -> (values: [Double?], seconds: Double) {
        guard columns > 0 else { return ([], 0) }
        let samples: [Double]
        let wanted: Int
        let perSample: Double
        switch span {
        case .live: (samples, wanted, perSample) = (Array(tenHertz.suffix(columns)), columns, 0.1)
        case .minute: (samples, wanted, perSample) = (Array(tenHertz.suffix(600)), 600, 0.1)
        case .fiveMinutes: (samples, wanted, perSample) = (Array(perSecond.suffix(300)), 300, 1)
        case .fifteenMinutes: (samples, wanted, perSample) = (Array(perSecond.suffix(900)), 900, 1)
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
            out.append(bucket.isEmpty ? nil : bucket.reduce(0, +) / Double(bucket.count))
        }
        return (out, Double(wanted) * perSample)
    }
}
