import Testing
@testable import StreamtopAnalytics
import StreamtopEngine

/// GoAccess's panels in the report's aggregates (console issue: "what to add"): hours of the day, bytes
/// per minute, the paths answered 404, distinct clients per day; merged across slots and kept in checkpoints.
@Suite struct PanelTests {
    func line(_ client: String, _ day: Int, _ time: String, _ path: String, _ status: Int, _ size: Int) -> String {
        #"\#(client) - - [\#(day)/Nov/2024:\#(time) +0000] "GET \#(path) HTTP/1.1" \#(status) \#(size)"#
    }

    func aggregate() -> AccessAggregate {
        var a = AccessAggregate()
        let lines = [
            line("1.1.1.1", 25, "09:00:01", "/", 200, 100), line("1.1.1.1", 25, "09:00:30", "/a", 404, 10),
            line("2.2.2.2", 25, "09:01:00", "/a", 404, 10), line("3.3.3.3", 25, "14:10:00", "/b", 404, 10),
            line("1.1.1.1", 26, "14:20:00", "/", 200, 1000),
        ]
        a.add(SummaryCacheTests().block(lines).payload(as: ParsedBlock.self))
        return a
    }

    @Test func hoursBytesNotFoundAndVisitors() {
        let s = aggregate().summary()
        #expect(s.hours.count == 24 && s.hours[9] == 3 && s.hours[14] == 2 && s.hours.reduce(0, +) == 5)
        #expect(s.bytesPerMinute.map(\.count) == [110, 10, 10, 1000], "\(s.bytesPerMinute)")
        #expect(s.topNotFound == [KeyCount(key: "/a", count: 2), KeyCount(key: "/b", count: 1)])
        #expect(s.visitorsPerDay.map(\.count) == [3, 1], "three clients on the 25th, one on the 26th: \(s.visitorsPerDay)")
    }

    @Test func panelsSurviveACheckpointAndOldCheckpointsStillRestore() throws {
        let a = aggregate()
        var w = StateWriter()
        a.saveState(&w)
        var r = StateReader(w.bytes)
        var b = AccessAggregate()
        try b.restoreState(&r)
        #expect(r.isAtEnd)
        let (sa, sb) = (a.summary(), b.summary())
        #expect(sa.hours == sb.hours && sa.bytesPerMinute == sb.bytesPerMinute && sa.topNotFound == sb.topNotFound && sa.visitorsPerDay == sb.visitorsPerDay)
        // A checkpoint written before the panels existed ends after the served-time histogram: it restores
        // with empty panels (everything else as it was).
        var old = StateWriter()
        var bare = a
        bare.saveState(&old)
        let cut = old.bytes.count - (w.bytes.count - panelsStart(a))
        var oldReader = StateReader(Array(old.bytes.prefix(cut)))
        var c = AccessAggregate()
        try c.restoreState(&oldReader)
        #expect(c.summary().records == 5 && c.summary().hours.reduce(0, +) == 0)
    }

    /// Where the panels begin in a checkpoint of `a`: its bytes without them.
    func panelsStart(_ a: AccessAggregate) -> Int {
        var w = StateWriter()
        for v in [a.lines, a.records, a.malformed, a.filtered, a.keyLimit, a.pathsUndercount, a.clientsUndercount] { w.int(v) }
        w.i64(a.bytes)
        w.i64(a.firstEvent)
        w.i64(a.lastEvent)
        w.numbers(a.status.map { Int64($0) })
        a.methods.saveState(&w)
        a.paths.saveState(&w)
        a.clients.saveState(&w)
        a.clientSketch.saveState(&w)
        a.pathSketch.saveState(&w)
        w.counts(a.minutes)
        w.histogram(a.requestTime)
        return w.bytes.count
    }

    @Test func slotsMergeTheirPanels() {
        var a = aggregate()
        a.merge(aggregate())
        let s = a.summary()
        #expect(s.hours[9] == 6 && s.topNotFound.first == KeyCount(key: "/a", count: 4) && s.visitorsPerDay.map(\.count) == [3, 1])
    }
}
