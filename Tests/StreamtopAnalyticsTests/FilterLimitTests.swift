import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
@testable import StreamtopLogs

/// Hostile filters and sums: refused with one clear error, or clamped; never a crash.
@Suite struct FilterLimitTests {
    func error(_ expr: String) -> FilterError? {
        do {
            _ = try FilterExpression.parse(expr)
            return nil
        } catch let e as FilterError {
            return e
        } catch {
            return nil
        }
    }

    @Test func deepNestingIsRefusedNotAStackOverflow() {
        let deep = String(repeating: "(", count: 30_000) + "status == 200" + String(repeating: ")", count: 30_000)
        #expect(error(deep)?.message.contains("deeper than 64") == true)
        #expect(error(String(repeating: "not ", count: 30_000) + "bot")?.message.contains("deeper than 64") == true)
        #expect(error(String(repeating: "(not ", count: 20_000) + "bot")?.message.contains("deeper than 64") == true)
        // The error names the column where the 65th level opens.
        #expect(error(String(repeating: "(", count: 65) + "bot" + String(repeating: ")", count: 65))?.column == 65)
    }

    @Test func nestingUpToTheLimitStillWorks() throws {
        let ok = String(repeating: "(", count: 32) + String(repeating: "not ", count: 32) + "status == 200" + String(repeating: ")", count: 32)
        let e = try FilterExpression.parse(ok)
        #expect(e != .bot)
    }

    @Test func longChainsAreBounded() throws {
        _ = try FilterExpression.parse(Array(repeating: "status > 1", count: FilterParser.maxTerms).joined(separator: " and "))
        #expect(error(Array(repeating: "status > 1", count: 30_000).joined(separator: " or "))?.message.contains("more than 1000") == true)
    }

    @Test(arguments: ["99999999999999999999s", "9223372036855s", "inf", "infs", "nan", "1e300ms", "-1s"])
    func durationsThatDoNotFitAreErrors(_ d: String) {
        #expect(error("request_time > " + d)?.message.contains("expected a duration") == true)
    }

    @Test func largestDurationParses() throws {
        #expect(try FilterExpression.parse("request_time > 1000000s") == .number(.requestTime, .gt, 1_000_000_000_000))
        // Near 2^63 a Double is exact to 1024 µs only; what matters is that it parses rather than traps.
        guard case .number(.requestTime, .gt, let v) = try FilterExpression.parse("request_time > 9223372036854s") else {
            Issue.record("not a request_time comparison")
            return
        }
        #expect(abs(v - 9_223_372_036_854_000_000) <= 1024)
        #expect(error("size > 99999999999999999999") != nil)
    }

    /// Sizes near the top of the range: the report's total and a group's sum clamp at Int64.max.
    @Test func byteSumsSaturate() throws {
        var a = AccessAggregate()
        a.bytes = Int64.max - 5
        var b = AccessAggregate()
        b.bytes = 10
        a.merge(b)
        #expect(a.bytes == Int64.max)

        let line = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /x HTTP/1.1" 200 999999999999999999"#
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("huge-sizes-\(getpid()).log").path
        try (Array(repeating: line, count: 20).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let g = GroupOperator(spec: GroupOperator.Spec(by: [.status]))
        let p = AccessPipeline(lines: try FileSource(paths: [path]), workers: 1, quarantine: try Quarantine(), middle: [TaskSpec(name: "g", op: g)])
        p.engine.start()
        p.engine.waitUntilFinished()
        g.finish()
        #expect(p.aggregate.summary().records == 20)
        #expect(p.aggregate.summary().bytes == Int64.max)
        #expect(g.latestRows().first?["bytes_sum"] == .int(Int64.max))
    }
}
