import Foundation
@testable import StreamtopEngine
import StreamtopLogs
import Testing
@testable import StreamtopAnalytics

/// A window after a filter closes when the traffic's event time passes its end, not when the next record
/// the filter keeps arrives: "errors per minute" over a live log showed a minute only once another error
/// came, however much traffic had passed meanwhile.
@Suite struct FilteredWatermarkTests {
    /// One error at 00:00:10, then successful requests every second up to 00:02:59.
    static func lines() -> [String] {
        (10..<180).map { s in
            let t = String(format: "%02d:%02d", s / 60, s % 60)
            return #"10.0.0.\#(s % 5) - - [25/Nov/2024:00:\#(t) +0000] "GET /p HTTP/1.1" \#(s == 10 ? 500 : 200) 10"#
        }
    }

    static func filtered(_ lines: [String], sequence: Int) throws -> Batch {
        let batch = SummaryCacheTests().block(lines)
        batch.sequence = sequence
        let errors = FilterOperator(try FilterExpression.parse("status >= 500"))
        let out = try #require(errors.process(batch, slot: 0).batch)
        out.sequence = sequence
        return out
    }

    @Test(arguments: [1, 2])
    func aWindowAfterAFilterClosesWithTheTrafficsTime(partitions: Int) throws {
        let window = WindowOperator(name: "errors", seconds: 60, lateness: 10, partitions: partitions)
        _ = window.process(try Self.filtered(Self.lines(), sequence: 0), slot: 0)
        let rows = window.latestRows()
        #expect(rows.count == 1, "the minute with the error did not close before the end of the input")
        #expect(rows.first?["window_start"] == .string("2024-11-25T00:00:00Z") && rows.first?["count"] == .int(1), "\(rows)")
    }

    /// What the filter dropped after its last kept record moves the watermark too, and so does a record a
    /// second filter dropped behind a first one.
    @Test func theTimesOfDroppedRecordsSurviveTwoFiltersNotAUnion() throws {
        let once = try Self.filtered(Self.lines(), sequence: 0).payload(as: ParsedBlock.self)
        #expect(once.records.count == 1 && once.newest == [Int64(once.records[0].time)])
        #expect(once.tailNewest == once.records[0].time + 169)
        let none = once.keeping { _ in false }
        #expect(none.records.isEmpty && none.tailNewest == once.tailNewest)
        // A union merges by event time: a dropped record's time would reach records before it in the source
        // depending on where blocks were cut, so after a union only the records' own times count.
        let other = SummaryCacheTests().block(Array(Self.lines().prefix(5))).payload(as: ParsedBlock.self)
        let both = ParsedBlock.union([once, other])
        #expect(both.records.count == 6 && both.newest == nil && both.tailNewest == .min)
        // A filter that drops nothing passes the block on as it is.
        let all = once.keeping { _ in true }
        #expect(all === once)
        let plain = SummaryCacheTests().block(Self.lines()).payload(as: ParsedBlock.self)
        #expect(plain.keeping { _ in true } === plain)
        let odd = plain.keeping { $0.time % 2 == 1 }
        #expect(odd.newest == odd.records.indices.map { Int64(odd.records[$0].time) })
        let late = plain.keeping { $0.time % 3 != 2 }
        #expect(late.newest?.count == late.records.count && late.tailNewest == plain.records.last!.time)
    }
}
