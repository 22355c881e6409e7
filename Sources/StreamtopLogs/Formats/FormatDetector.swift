/// Picks the log format that reads the most lines of a sample (`--format auto`).
public enum FormatDetector {
    /// The outcome of detection.
    public struct Detection: Sendable {
        /// The chosen format.
        public var format: LogFormat
        /// Lines of the sample it parsed.
        public var matched: Int
        /// Non-empty lines in the sample.
        public var total: Int
        /// The first line of the sample (raw), for a message when nothing fits.
        public var example: [UInt8]
        /// Whether the choice is convincing (at least half the sample parsed).
        public var fits: Bool { total > 0 && matched * 2 >= total }
    }

    /// Tries every candidate on up to `limit` lines of `block`; the first candidate wins ties, so list
    /// richer formats first.
    public static func detect(_ block: LineBlock, candidates: [LogFormat] = LogFormat.detectionCandidates, limit: Int = 1000) -> Detection {
        var lines: [(Int, Int)] = []
        block.forEachLine { s, l, _ in if lines.count < limit { lines.append((s, l)) } }
        let base = block.base
        var best: Detection?
        for format in candidates {
            var matched = 0
            for (s, l) in lines {
                if case .record = format.parse(base, start: s, count: l) { matched += 1 }
            }
            if best == nil || matched > best!.matched {
                best = Detection(format: format, matched: matched, total: lines.count, example: [])
            }
        }
        var d = best ?? Detection(format: .combined, matched: 0, total: 0, example: [])
        if let first = lines.first { d.example = Array(UnsafeBufferPointer(start: base + first.0, count: min(first.1, 300))) }
        return d
    }
}
