import Testing
@testable import StreamtopEngine

/// Rates of counters that grow in lumps (a followed file read twice a second, ticks ten times a second):
/// the rate shown, and graphed, stays steady instead of dipping one tick in five.
@Suite struct CounterRateTests {
    /// Ticks every 100 ms (with a little jitter) over the engine's samples (two seconds, one for the plain rate), a counter that grows by
    /// `lump` every `period` seconds until `stopAt`; the rate at each tick.
    func rates(lump: Int, period: Double, stopAt: Double = .infinity, seconds: Double = 8, plain: Bool = false) -> [(t: Double, rate: Double)] {
        var samples: [(t: UInt64, v: Int)] = []
        var out: [(Double, Double)] = []
        var seed: UInt64 = 42
        for k in 0..<Int(seconds * 10) {
            // Jitter of 0–4 ms from a seeded generator: the same on every run (random jitter made the dip
            // count below vary from run to run).
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let t = Double(k) * 0.1 + Double((seed >> 33) % 4001) / 1e6
            let lumps = Int((min(t, stopAt) / period).rounded(.down))
            let now = UInt64(t * 1e9)
            samples.append((now, lumps * lump))
            while let first = samples.first, now &- first.t > CounterRate.lookbackNanos, samples.count > 2 { samples.removeFirst() }
            let s = samples
            let w = CounterRate.windowStart(count: s.count) { s[$0].t }
            let rate = plain
                ? Double(s.last!.v - s[w].v) / (Double(s.last!.t &- s[w].t) / 1e9)
                : CounterRate.perSecond(count: s.count, windowStart: w, time: { s[$0].t }, value: { s[$0].v })
            out.append((t, rate))
        }
        return out
    }

    @Test func aCounterReadTwiceASecondHasASteadyRate() {
        let steady = rates(lump: 10_000, period: 0.5).filter { $0.t >= 1.5 }
        for (t, rate) in steady { #expect(abs(rate - 20_000) <= 400, "at \(t) s: \(rate)/s") }
        // What the plain one-second window showed for the same counter: a tick in five at about half.
        let dips = rates(lump: 10_000, period: 0.5, plain: true).filter { $0.t >= 1.5 && $0.rate < 15_000 }
        #expect(dips.count >= 5, "the plain window no longer dips: the test's scenario has changed")
    }

    @Test func readsEveryTwoHundredMillisecondsAreSteadyToo() {
        for (t, rate) in rates(lump: 4_000, period: 0.2).filter({ $0.t >= 1.5 }) {
            #expect(abs(rate - 20_000) <= 400, "at \(t) s: \(rate)/s")
        }
    }

    /// A file read about once a second (a dashboard at `--refresh 1s` and more, or a headless instance
    /// nobody looks at): never 0 while it grows. A lump is seen at the tick after it came, so a span of one
    /// or two periods is known to a tenth of a second: within 12 %.
    @Test func readsOnceASecondNeverShowZero() {
        for (t, rate) in rates(lump: 20_000, period: 1.0016, seconds: 20).filter({ $0.t >= 3.5 }) {
            #expect(abs(rate - 20_000) <= 2_400, "at \(t) s: \(rate)/s")
        }
    }

    /// When the input stops, the rate falls to zero within about a second, as with the plain window.
    @Test func aStoppedCounterFallsToZero() {
        let r = rates(lump: 10_000, period: 0.5, stopAt: 4.2)
        #expect(r.filter { $0.t >= 5.3 }.allSatisfy { $0.rate == 0 }, "\(r.filter { $0.t >= 4 })")
        #expect(r.filter { $0.t >= 2 && $0.t < 4.2 }.allSatisfy { abs($0.rate - 20_000) <= 400 })
    }

    /// A counter that moves every tick: the same rate as the plain window's.
    @Test func aSmoothCounterIsUnchanged() {
        let smooth = rates(lump: 1_000, period: 0.1).filter { $0.t >= 1.5 }
        let plain = rates(lump: 1_000, period: 0.1, plain: true).filter { $0.t >= 1.5 }
        for ((t, a), (_, b)) in zip(smooth, plain) { #expect(abs(a - 10_000) <= 600 && abs(b - 10_000) <= 600, "at \(t) s: \(a) and \(b)") }
    }
}
