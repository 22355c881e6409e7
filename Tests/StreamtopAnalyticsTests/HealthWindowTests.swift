import Foundation
import StreamtopLogs
import Testing
@testable import StreamtopAnalytics

/// The site's health over the last minute and five of event time (console issue: site health at a
/// glance), as the dashboard's strip and alerts read it.
@Suite struct HealthWindowTests {
    /// `seconds` of traffic from `start`: `perSecond` responses a second, every `errorEvery`-th a 503,
    /// 1 kB each, served in 20 ms.
    func traffic(_ w: inout HealthWindow, start: Int64, seconds: Int64, perSecond: Int, errorEvery: Int = 0) {
        var n = 0
        for t in start..<(start + seconds) {
            for _ in 0..<perSecond {
                n += 1
                w.add(time: t, status: errorEvery > 0 && n % errorEvery == 0 ? 503 : 200, size: 1000, servedMicros: 20_000)
            }
        }
    }

    @Test func theLastMinuteAndTheLastFiveMinutes() throws {
        var w = HealthWindow()
        // Ten minutes at 10 req/s without errors, then a minute at 100 req/s with 10 % 503s.
        traffic(&w, start: 1_700_000_000, seconds: 600, perSecond: 10)
        traffic(&w, start: 1_700_000_600, seconds: 60, perSecond: 100, errorEvery: 10)
        let minute = try #require(w.summary(seconds: 60))
        #expect(minute.requests == 6000)
        #expect(abs(minute.perSecond - 100) < 0.01)
        #expect(abs(minute.serverErrorShare - 0.1) < 0.001 && minute.clientErrorShare == 0)
        #expect(abs(minute.bytesPerSecond - 100_000) < 1)
        #expect(minute.servedP50.map { abs(Double($0) - 20_000) <= 2000 } == true, "\(String(describing: minute.servedP50))")
        #expect(minute.seconds(serverErrorsAtLeast: 0.05) == 60, "the whole minute was over 5 %")
        #expect(minute.seconds(serverErrorsAtLeast: 0.2) == 0)
        // Five minutes: one of errors and four calm ones (older traffic is out of the window).
        let five = try #require(w.summary(seconds: 300))
        #expect(five.requests == 6000 + 240 * 10)
        #expect(abs(five.serverErrorShare - 600.0 / 8400) < 0.001)
    }

    /// A looping replay plays the same event times again: the health window follows the pass being
    /// played, it does not add every pass into the recording's last minutes.
    @Test func aLoopingReplaysPassesAreKeptApart() throws {
        let lines = (0..<120).map { i in
            #"10.0.0.1 - - [25/Nov/2024:00:\#(String(format: "%02d:%02d", i / 60, i % 60)) +0000] "GET / HTTP/1.1" 200 10"#
        }
        var a = AccessAggregate()
        for pass in 1...3 {
            let batch = SummaryCacheTests().block(lines)
            let block = batch.payload(as: ParsedBlock.self)
            block.lines.pass = pass
            a.add(block)
        }
        let minute = try #require(a.summary().health?.minute)
        #expect(minute.requests == 60, "\(minute)")
        #expect(abs(minute.perSecond - 1) < 0.01, "\(minute)")
        #expect(a.summary().records == 360)
    }

    @Test func slotsMergeIntoWhatOneWouldHaveCounted() throws {
        var a = HealthWindow(), b = HealthWindow(), one = HealthWindow()
        traffic(&a, start: 1_700_000_000, seconds: 90, perSecond: 5, errorEvery: 7)
        traffic(&b, start: 1_700_000_030, seconds: 90, perSecond: 3, errorEvery: 4)
        traffic(&one, start: 1_700_000_000, seconds: 90, perSecond: 5, errorEvery: 7)
        traffic(&one, start: 1_700_000_030, seconds: 90, perSecond: 3, errorEvery: 4)
        a.merge(b)
        #expect(a.summary(seconds: 60) == one.summary(seconds: 60))
        #expect(a.summary(seconds: 300) == one.summary(seconds: 300))
    }

    @Test func aSlotReusedForALaterBucketForgetsItsServedTimes() throws {
        // Slow responses, then ten minutes later fast ones: the old times must not stay in the reused slots.
        var w = HealthWindow()
        for t in 0..<60 { w.add(time: 1_700_000_000 + Int64(t), status: 200, size: 1, servedMicros: 1_000_000) }
        for t in 0..<60 { w.add(time: 1_700_000_600 + Int64(t), status: 200, size: 1, servedMicros: 20_000) }
        let m = try #require(w.summary(seconds: 300))
        #expect(m.requests == 60)
        #expect(m.servedP99.map { $0 < 30_000 } == true, "\(String(describing: m.servedP99))")
    }

    @Test func aLateLineOlderThanTheWindowIsLeftOut() throws {
        var w = HealthWindow()
        traffic(&w, start: 1_700_000_000, seconds: 60, perSecond: 10)
        w.add(time: 1_700_000_000 - 3600, status: 500, size: 1, servedMicros: -1)
        let m = try #require(w.summary(seconds: 300))
        #expect(m.requests == 600 && m.serverErrorShare == 0)
        #expect(HealthWindow().summary(seconds: 60) == nil, "no request yet: no figures")
    }
}
