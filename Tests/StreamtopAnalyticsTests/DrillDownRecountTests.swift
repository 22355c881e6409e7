import Foundation
import Testing
@testable import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// A drill-down opened after a run ended reads the input files again: its breakdown covers the whole
/// input, and must equal a recount of every line by hand, over several files and blocks.
@Suite struct DrillDownRecountTests {
    /// Two files of lines (the second with a malformed line and a line too long), their lines, and a
    /// remover.
    func files() throws -> (paths: [String], lines: [String], remove: () -> Void) {
        let first = DrillDownTests.lines(3_000)
        let second = DrillDownTests.lines(2_000, from: 3_000)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recount-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let a = dir.appendingPathComponent("a.log").path
        let b = dir.appendingPathComponent("b.log").path
        try (first.joined(separator: "\n") + "\n").write(toFile: a, atomically: true, encoding: .utf8)
        let long = #"10.0.0.1 - - [25/Nov/2024:00:00:00 +0000] "GET /a"# + String(repeating: "x", count: 5_000) + #" HTTP/1.1" 200 1"#
        try (second.joined(separator: "\n") + "\nnot a log line\n" + long + "\n").write(toFile: b, atomically: true, encoding: .utf8)
        return ([a, b], first + second, { try? FileManager.default.removeItem(at: dir) })
    }

    @Test(arguments: [FocusKey.path("/a"), .client("10.0.0.3"), .status(500)])
    func aRecountOfTheFilesEqualsCountingEveryLineByHand(focus: FocusKey) throws {
        let (paths, lines, remove) = try files()
        defer { remove() }
        let job = DrillDownRecount(focus: focus, paths: paths, format: LogFormat.preset("combined")!, maxLineBytes: 4_096, reportLines: 5_002)
        // Known as a recount, empty, before anything is read.
        #expect(job.summary?.reread == DrillDownSummary.Reread(lines: 0, reportLines: 5_002, done: false))
        #expect(job.summary?.requests == 0)
        job.run()
        let s = try #require(job.summary)
        let want = DrillDownTests.recount(lines, focus)
        #expect(s.focus == focus)
        #expect(s.requests == want.requests && s.requests > 0)
        #expect(s.bytes == want.bytes)
        #expect(Dictionary(uniqueKeysWithValues: s.status.map { ($0.key, $0.count) }) == want.status)
        #expect(Dictionary(uniqueKeysWithValues: s.topClients.map { ($0.key, $0.count) }) == want.clients)
        #expect(Dictionary(uniqueKeysWithValues: s.topPaths.map { ($0.key, $0.count) }) == want.paths)
        // Every line of both files was read, the malformed and the too long ones included.
        #expect(s.reread == DrillDownSummary.Reread(lines: 5_002, reportLines: 5_002, done: true))
        // Each publication is counted: a display redraws when the count changes, not a second later.
        #expect(job.publications >= 1)
    }

    @Test func aFileThatIsGoneIsSaidNotCountedAsEmpty() throws {
        let job = DrillDownRecount(focus: .path("/a"), paths: ["/nonexistent/streamtop-recount.log"], format: LogFormat.preset("combined")!, maxLineBytes: 4_096, reportLines: 10)
        job.run()
        let reread = try #require(job.summary?.reread)
        #expect(!reread.done)
        #expect(reread.failure?.contains("streamtop-recount.log") == true, "\(String(describing: reread.failure))")
    }
}
