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

    /// A union of two filters of rare records: its windows close with the traffic's time too.
    @Test(arguments: [1, 2])
    func aWindowAfterAUnionOfFiltersClosesWithTheTrafficsTime(partitions: Int) throws {
        let source = SummaryCacheTests().block(Self.lines())
        source.sequence = 0
        let errors = FilterOperator(try FilterExpression.parse("status >= 500"))
        let early = FilterOperator(try FilterExpression.parse("status >= 200 and status < 300 and path ~ \"^/p$\" and client == \"10.0.0.1\""))
        let a = try #require(errors.process(source, slot: 0).batch).payload(as: ParsedBlock.self)
        let b = try #require(early.process(source, slot: 0).batch).payload(as: ParsedBlock.self)
        let union = ParsedBlock.union([a, b.keeping { $0.time < a.records[0].time + 30 }])
        let window = WindowOperator(name: "rare", seconds: 60, lateness: 10, partitions: partitions)
        let batch = Batch(payload: union, records: union.records.count, bytes: 0, ingestNanos: 0)
        batch.sequence = 0
        _ = window.process(batch, slot: 0)
        let rows = window.latestRows()
        // The error and 10.0.0.1's requests at 00:00:11, :16, :21, :26, :31 and :36: minute 0 closed
        // within the block, though no record of either input came after 00:00:36.
        #expect(rows.count == 1, "the union's minute did not close before the end of the input")
        #expect(rows.first?["count"] == .int(7), "\(rows)")
        #expect(window.lateRecords == 0)
    }

    /// What the filter dropped after its last kept record moves the watermark too, and so does a record a
    /// second filter dropped behind a first one, and a union's.
    @Test func theTimesOfDroppedRecordsSurviveTwoFiltersAndAUnion() throws {
        let once = try Self.filtered(Self.lines(), sequence: 0).payload(as: ParsedBlock.self)
        #expect(once.records.count == 1 && once.newest == [Int64(once.records[0].time)])
        #expect(once.tailNewest == once.records[0].time + 169)
        let none = once.keeping { _ in false }
        #expect(none.records.isEmpty && none.tailNewest == once.tailNewest)
        // A union merges its shares in source order (by those times) and carries them on.
        let other = SummaryCacheTests().block(Array(Self.lines().prefix(5))).payload(as: ParsedBlock.self)
        let both = ParsedBlock.union([once, other])
        #expect(both.records.count == 6 && both.tailNewest == once.tailNewest)
        #expect(both.newest == [0, 0, 1, 2, 3, 4].map { Int64(other.records[0].time) + $0 }, "\(both.newest ?? [])")
        #expect(both.records[0].status == 500 && both.records[1].status == 500, "the error is the first line, in both inputs")
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
