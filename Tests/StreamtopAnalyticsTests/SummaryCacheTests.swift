import Testing
@testable import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// The report's summary is cached while nothing changes (an idle dashboard over millions of keys must not
/// re-merge them twice a second, hardening item 14), and never served stale once records arrive.
@Suite struct SummaryCacheTests {
    func block(_ lines: [String]) -> Batch {
        let lineBlock = LineBlock(copying: Array(lines.map { $0 + "\n" }.joined().utf8))
        var records: [ParsedRecord] = []
        lineBlock.forEachLine { s, l, _ in
            if case .record(let r) = CombinedLogParser.parse(lineBlock.base, start: s, count: l) { records.append(r) }
        }
        let parsed = ParsedBlock(lines: lineBlock, records: records, malformed: lines.count - records.count)
        return Batch(payload: parsed, records: records.count, bytes: lineBlock.count, ingestNanos: 0)
    }

    @Test func summaryFollowsEveryAddAcrossSlots() {
        let op = AggregateOperator(slots: 2)
        #expect(op.summary().lines == 0)
        let line = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /a HTTP/1.1" 200 10"#
        _ = op.process(block([line, line]), slot: 0)
        let first = op.summary()
        #expect(first.records == 2)
        #expect(op.summary().topPaths.first?.count == 2)
        _ = op.process(block([line.replacingOccurrences(of: "/a", with: "/b")]), slot: 1)
        let second = op.summary()
        #expect(second.records == 3)
        #expect(second.uniquePaths == 2)
        // A different number of top entries is its own summary.
        #expect(op.summary(top: 1).topPaths.count == 1)
        #expect(op.summary(top: 10).topPaths.count == 2)
    }
}

/// Every analytics task publishes its latest result for the dashboard (the window task once did not, so
/// the dashboard said "no window closed yet" forever).
@Suite struct PublishedResultsTests {
    @Test func aClosedWindowIsTheWindowTasksLatestResult() {
        let op = WindowOperator(seconds: 60, lateness: 0)
        let lines = (0..<5).map { #"1.2.3.4 - - [25/Nov/2024:00:0\#($0):10 +0000] "GET /a HTTP/1.1" 200 10"# }
        let batch = SummaryCacheTests().block(lines)
        _ = op.process(batch, slot: 0)
        let rows = op.latestRows()
        #expect(rows.count == 1)
        #expect(rows.first?.json.contains("\"window_start\":\"2024-11-25T00:03:00Z\"") == true, "\(rows.first?.json ?? "")")
    }
}
