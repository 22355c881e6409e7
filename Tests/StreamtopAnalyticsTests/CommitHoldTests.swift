import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
import StreamtopLogs

/// At least once over windows: a Kafka group's offsets are committed past a record only once the window it
/// went into was written (`CommitHold`), and a member that takes over a partition writes the windows the
/// killed member never wrote, though its own windows for that time have closed.
@Suite struct CommitHoldTests {
    /// What happened, in order: rows written ("row 00:03") and holds let go ("release 100").
    final class Log: @unchecked Sendable {
        let lines = Locked<[String]>([])
        func add(_ s: String) { lines.withLock { $0.append(s) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A block of source partition `partition`: a request every 10 s over `minutes` from client
    /// 10.0.0.`partition`, holding its offsets at `from`.
    static func block(partition: Int, minutes: ClosedRange<Int>, open: [Int], sequence: Int, from: Int64, takeover: Int = 0, floors: [String: Int64] = [:], log: Log) -> Batch {
        let hold = CommitHold(partition: partition, from: from) { _, o in log.add("release \(o)") }
        let b = PartitionEventTimeTests.block(partition: partition, minutes: minutes, open: open, sequence: sequence)
        let lines = (b.payload as! ParsedBlock).lines
        // One message per line, numbered from `from`.
        let offsets = (0..<Int64(lines.physicalLineCount)).map { from + $0 }
        lines.partition = SourcePartition(id: partition, open: open, offsets: offsets, from: from, hold: hold, takeover: takeover, floors: floors)
        return b
    }

    static func windows(partitions: Int, log: Log) -> (WindowOperator, Locked<[WindowOperator.Result]>) {
        let rows = Locked<[WindowOperator.Result]>([])
        let op = WindowOperator(seconds: 60, lateness: 0, partitions: partitions) { r in
            log.add("row \(r.window_start.dropFirst(11).prefix(5))")
            rows.withLock { $0.append(r) }
        }
        return (op, rows)
    }

    @Test(arguments: [1, 2]) func aWindowHoldsItsRecordsOffsetsUntilItsRowIsWritten(partitions: Int) {
        let log = Log()
        let (op, _) = Self.windows(partitions: partitions, log: log)
        // Minutes 0–4 from offset 0, minutes 5–6 from offset 100 (six lines a minute): the watermark
        // reaches 00:06:50, which closes minutes 0–5 and leaves minute 6 open.
        _ = op.process(Self.block(partition: 0, minutes: 0...4, open: [0], sequence: 0, from: 0, log: log), slot: 0)
        _ = op.process(Self.block(partition: 0, minutes: 5...6, open: [0], sequence: 1, from: 100, log: log), slot: 0)
        let before = log.all
        // Each window held its first record's offset (six lines a minute) until its row was written.
        for (minute, offset) in [(0, 0), (1, 6), (2, 12), (3, 18), (4, 24), (5, 100)] {
            let row = before.firstIndex(of: "row 00:0\(minute)")
            let release = before.firstIndex(of: "release \(offset)")
            #expect(row != nil && release != nil && release! > row!, "minute \(minute): \(before)")
        }
        // Minute 6 is open and holds its first record's offset (106: the second block's 7th line), though
        // the block itself was released; not the block's, whose first lines are minute 5's, written.
        #expect(!before.contains("release 106"), "\(before)")
        op.finish()
        let after = log.all
        #expect(after.contains("release 106"))
        #expect(after.firstIndex(of: "release 106")! > after.firstIndex(of: "row 00:06")!, "\(after)")
    }

    /// Partition 0 read to minute 9 here, then partition 1 (minutes 3–9) handed over by a rebalance: the
    /// killed member had written its windows up to minute 2.
    static func takeover(flagged: Bool, partitions: Int) -> (op: WindowOperator, rows: [WindowOperator.Result]) {
        let log = Log()
        let (op, rows) = Self.windows(partitions: partitions, log: log)
        _ = op.process(Self.block(partition: 0, minutes: 0...9, open: [0], sequence: 0, from: 0, log: log), slot: 0)
        _ = op.process(Self.block(partition: 1, minutes: 3...9, open: [0, 1], sequence: 1, from: 500, takeover: flagged ? 1 : 0, log: log), slot: 0)
        op.finish()
        return (op, rows.withLock { $0 })
    }

    @Test(arguments: [1, 2, 4]) func aPartitionTakenOverWritesTheWindowsItsMemberNeverWrote(partitions: Int) {
        let (op, rows) = Self.takeover(flagged: true, partitions: partitions)
        #expect(op.lateRecords == 0)
        let start = { (m: Int) in "2024-11-25T00:\(String(format: "%02d", m)):00Z" }
        // Partition 0's minutes 0–8, then partition 1's minutes 3–8 from its catch-up windows, then minute
        // 9 with both.
        let own = rows.filter { $0.unique_clients == 1 && $0.status_classes.isEmpty == false }
        #expect(rows.count == 9 + 6 + 1, "\(rows.map(\.window_start))")
        #expect(rows.suffix(7).prefix(6).map(\.window_start) == (3...8).map(start))
        #expect(rows.suffix(7).prefix(6).allSatisfy { $0.count == 6 && $0.late_records == 0 })
        #expect(rows.last?.window_start == start(9) && rows.last?.count == 12)
        #expect(own.count == 15)
    }

    @Test(arguments: [1, 2]) func windowsWrittenBeforeThePartitionCameAreNotWrittenAgain(partitions: Int) {
        let log = Log()
        let (op, rows) = Self.windows(partitions: partitions, log: log)
        // The member before wrote minutes up to 00:04 (its floor: 00:05:00). Resuming at the first record of
        // its oldest open window (00:04:50, out of order) reads minutes 4–7 again: minute 4 is passed over.
        let floor = Int64(1_732_492_800 + 5 * 60)
        _ = op.process(Self.block(partition: 0, minutes: 4...7, open: [0], sequence: 0, from: 0, floors: ["window": floor], log: log), slot: 0)
        op.finish()
        let written = rows.withLock { $0 }
        #expect(written.map(\.window_start) == (5...7).map { "2024-11-25T00:0\($0):00Z" })
        #expect(op.lateRecords == 0)
        // The next member gets at least that floor back, though nothing here wrote minute 4.
        #expect((op.emittedThrough(sourcePartition: 0) ?? .min) >= floor)
        #expect(op.emittedThrough(sourcePartition: 3) != nil)
    }

    @Test func withoutATakeoverThoseRecordsAreLate() {
        let (op, rows) = Self.takeover(flagged: false, partitions: 2)
        #expect(op.lateRecords == 6 * 6)
        #expect(rows.count == 10)
    }
}
