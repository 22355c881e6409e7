/// The per-second rate of a counter sampled every tick, for counters that grow in lumps: a followed file is
/// read a few times a second, so its lines (and every task's counts after it) arrive a block at a time,
/// not a little every tick.
///
/// Over a plain one-second window such a counter holds one lump more or one less depending on where the
/// window's edges fall: with a read every half second, one tick in five showed half the rate (the graph
/// read `▄████▄████`, and `▇█▇█` with reads every 200 ms). Measured from the first lump in the last three
/// seconds to the last, the span holds whole periods, each with its lump, and the rate is steady. When the
/// lumps stop (none for two of their periods) or come less than twice in three seconds, the plain one-second
/// window is used, and the rate falls to zero as before.
enum CounterRate {
    /// How far back lumps are looked for; samples are kept this long. Three seconds hold at least two
    /// lumps of a file read once a second (headless and unobserved, or `--refresh 1s` and more): with two,
    /// a read period of 1.0016 s left one lump in some windows and the rate at 0 in those ticks.
    static let lookbackNanos: UInt64 = 3_000_000_000
    /// The plain window.
    static let windowNanos: UInt64 = 1_000_000_000

    /// The rate over `count` samples (oldest first, covering up to `lookbackNanos`) whose times (ns) and
    /// values `time` and `value` give; the plain window starts at sample `windowStart`.
    static func perSecond(count: Int, windowStart: Int, time: (Int) -> UInt64, value: (Int) -> Int) -> Double {
        guard count >= 2 else { return 0 }
        let start = min(windowStart, count - 2)
        let seconds = Double(time(count - 1) &- time(start)) / 1e9
        let plain = seconds > 0 ? Double(value(count - 1) - value(start)) / seconds : 0
        // The samples at which a lump arrived: where the value changed since the sample before.
        var first = -1
        var last = -1
        var lumps = 0
        for i in 1..<count where value(i) != value(i - 1) {
            if first < 0 { first = i }
            last = i
            lumps += 1
        }
        guard lumps >= 2 else { return plain }
        let span = Double(time(last) &- time(first)) / 1e9
        guard span > 0 else { return plain }
        let period = span / Double(lumps - 1)
        if Double(time(count - 1) &- time(last)) / 1e9 > 2 * period { return plain }
        return Double(value(last) - value(first)) / span
    }

    /// The first of `count` samples within the plain window of the newest (at most the one before it).
    static func windowStart(count: Int, time: (Int) -> UInt64) -> Int {
        guard count >= 2 else { return 0 }
        let now = time(count - 1)
        var i = 0
        while i < count - 2 && now &- time(i) > windowNanos { i += 1 }
        return i
    }
}
