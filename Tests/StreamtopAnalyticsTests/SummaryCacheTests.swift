import Foundation
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

    /// The header's totals move with every block (the summary is rebuilt at most once a second), and
    /// agree with the summary, also after a checkpoint is restored.
    @Test func liveTotalsAgreeWithTheSummaryAndSurviveARestore() throws {
        let op = AggregateOperator(slots: 2)
        let line = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /a HTTP/1.1" 200 10"#
        _ = op.process(block([line, "not a log line", line]), slot: 0)
        _ = op.process(block([line]), slot: 1)
        let live = op.liveTotals
        #expect(live == (4, 3, 1))
        let s = op.summary()
        #expect((s.lines, s.records, s.malformed) == live)
        var w = StateWriter()
        op.saveState(&w)
        let restored = AggregateOperator(slots: 2)
        var r = StateReader(w.bytes)
        try restored.restoreState(&r)
        #expect(restored.liveTotals == live)
    }

    @Test func aSecondSlotIsFoldedIntoTheFirstWithoutChangingTheSummary() throws {
        let op = AggregateOperator(slots: 2)
        let a = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /a HTTP/1.1" 200 10"#
        let b = #"5.6.7.8 - - [25/Nov/2024:00:02:51 +0000] "POST /b HTTP/1.1" 404 20"#
        op.add(block([a, a, b]), toSlot: 0)
        op.add(block([b, b, a]), toSlot: 1)
        #expect(op.filledSlots == 2)
        let before = op.summary(top: 10)
        let published = try #require(op.refreshResult() as? AccessSummary)
        #expect(op.filledSlots == 1, "the second slot was folded into the first")
        for s in [published, op.summary(top: 10)] {
            #expect(s.records == 6 && s.bytes == 90)
            #expect(s.topPaths == before.topPaths && s.topClients == before.topClients)
            #expect(s.status == before.status && s.methods == before.methods && s.perMinute == before.perMinute)
            #expect(s.uniqueClients == 2 && s.share == before.share)
        }
        // New blocks still count.
        _ = op.process(block([a]), slot: 1)
        #expect(op.summary().records == 7)
    }

    /// The ticker folds the second slot into the first while a checkpoint or a summary reads them: a reader
    /// that took the first slot before the fold and the second after it saw neither copy of the second's
    /// records (a paced replay's final report lost ~2.5 % of its lines, and a checkpoint taken meanwhile
    /// lost them for good). Here the fold is started exactly between the reader's two slots.
    @Test(arguments: ["checkpoint", "summary"])
    func aFoldBetweenTheSlotsAReaderTakesLosesNothing(reader: String) throws {
        let a = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /a HTTP/1.1" 200 10"#
        let b = #"5.6.7.8 - - [25/Nov/2024:00:02:51 +0000] "POST /b HTTP/1.1" 404 20"#
        let op = AggregateOperator(slots: 2)
        op.add(block([a, a, b]), toSlot: 0)
        op.add(block([b, b]), toSlot: 1)
        let betweenSlots = DispatchSemaphore(value: 0)
        let folded = DispatchSemaphore(value: 0)
        let folderDone = DispatchSemaphore(value: 0)
        op.afterReadingSlot = { i in
            guard i == 0 else { return }
            betweenSlots.signal()
            // Before the fix the fold ran at once; now it waits for the reader, so this times out.
            _ = folded.wait(timeout: .now() + 0.3)
        }
        let folder = Thread {
            betweenSlots.wait()
            op.compact()
            folded.signal()
            folderDone.signal()
        }
        folder.start()
        let lines: Int
        if reader == "checkpoint" {
            var w = StateWriter()
            op.saveState(&w)
            var restored = AccessAggregate()
            var r = StateReader(w.bytes)
            try restored.restoreState(&r)
            lines = restored.lines
        } else {
            lines = op.summary(top: 10).lines
        }
        folderDone.wait()
        #expect(lines == 5, "the \(reader) saw \(lines) of 5 lines")
        #expect(op.filledSlots == 1 && op.summary(top: 10).lines == 5)
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

/// Results reach readers through the engine's snapshot as immutable values, never by reading the live
/// operator; the final one (windows closed at the end of the input) is there once the run finished.
/// (`AccessSummary.published` reads the report's.)
@Suite struct SnapshotResultsTests {
    @Test func theFinalSnapshotCarriesEveryAnalyticsTasksResult() throws {
        let lines = (0..<600).map { #"1.2.3.\#($0 % 9) - - [25/Nov/2024:00:\#(String(format: "%02d", $0 / 60)):\#(String(format: "%02d", $0 % 60)) +0000] "GET /p\#($0 % 4) HTTP/1.1" 200 10 "-" "Mozilla/5.0""# }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("published-\(getpid()).log").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let minutes = WindowOperator(name: "minutes", seconds: 60, lateness: 0)
        let visits = SessionOperator(name: "visits", spec: SessionOperator.Spec(), sink: nil)
        let pipeline = AccessPipeline(
            lines: try FileSource(paths: [path]), workers: 2, quarantine: try Quarantine(),
            middle: [TaskSpec(name: "minutes", op: minutes, queueCapacity: 4), TaskSpec(name: "visits", op: visits, queueCapacity: 4, inputs: ["parse"])])
        pipeline.engine.start()
        let done = pipeline.engine.waitUntilFinished()
        let windows = try #require(done.published["minutes"] as? AnalyticsResult)
        // The last of the ten minutes, closed by the engine finishing the task at the end of the input.
        #expect(windows.rows.first?.json.contains("\"window_start\":\"2024-11-25T00:09:00Z\"") == true, "\(windows.rows.first?.json ?? "")")
        let sessions = try #require(done.published["visits"] as? AnalyticsResult)
        #expect(sessions.live.map(\.name) == ["active now", "visits"])
        // The report's aggregates too: the headless report and the dashboard read them from here.
        let report = AccessSummary.published(in: done)
        #expect(report.lines == 600 && report.uniqueClients == 9)
        #expect(report.topPaths.map(\.count) == [150, 150, 150, 150])
    }

    /// While the run goes on, the engine's ticker republishes the report's aggregates (at most every 0.5 s):
    /// the dashboard shows counts growing, not zero until the end.
    @Test func theReportsAggregatesArePublishedWhileTheRunGoesOn() throws {
        let lines = (0..<600).map { #"1.2.3.\#($0 % 9) - - [25/Nov/2024:00:\#(String(format: "%02d", $0 / 60)):\#(String(format: "%02d", $0 % 60)) +0000] "GET /p\#($0 % 4) HTTP/1.1" 200 10 "-" "Mozilla/5.0""# }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("growing-\(getpid()).log").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // 10 minutes of events at 300×: about 2 s.
        let pipeline = AccessPipeline(lines: ReplayPacer(try FileSource(paths: [path], blockSize: 512), speed: 300), workers: 2, quarantine: try Quarantine())
        pipeline.engine.start()
        var seenDuringRun: Set<Int> = []
        while !pipeline.engine.isFinished {
            let snap = pipeline.engine.snapshot()
            let n = AccessSummary.published(in: snap).lines
            if !snap.finished && n > 0 && n < 600 { seenDuringRun.insert(n) }
            usleep(50_000)
        }
        #expect(!seenDuringRun.isEmpty, "no partial count was published before the end")
        #expect(AccessSummary.published(in: pipeline.engine.waitUntilFinished()).lines == 600)
    }
}
