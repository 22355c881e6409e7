import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
import StreamtopLogs

/// Event time over a partitioned source (a Kafka topic): partitions are read interleaved, each in its own
/// order, and the watermark may pass only the slowest partition still being read. Before, event time was
/// the newest over all partitions, so a partition read after another counted as late wholesale.
@Suite struct PartitionEventTimeTests {
    /// A block of one source partition: a request every 10 s from `from` to `to` minutes (one client per
    /// partition), tagged with the partition and the partitions still open.
    static func block(partition: Int, minutes: ClosedRange<Int>, open: [Int]?, sequence: Int) -> Batch {
        var lines: [String] = []
        for m in minutes {
            for s in stride(from: 0, to: 60, by: 10) {
                lines.append("10.0.0.\(partition) - - [25/Nov/2024:00:\(String(format: "%02d:%02d", m, s)) +0000] \"GET /p\(partition) HTTP/1.1\" 200 10")
            }
        }
        let lineBlock = LineBlock(copying: Array(lines.map { $0 + "\n" }.joined().utf8))
        if let open { lineBlock.partition = SourcePartition(id: partition, open: open) }
        return parsed(lineBlock, sequence: sequence)
    }

    /// The block's combined-format lines parsed, as the batch a parse task hands on.
    static func parsed(_ lineBlock: LineBlock, sequence: Int) -> Batch {
        var records: [ParsedRecord] = []
        lineBlock.forEachLine { s, l, _ in
            if case .record(let r) = CombinedLogParser.parse(lineBlock.base, start: s, count: l) { records.append(r) }
        }
        var batch = Batch(payload: ParsedBlock(lines: lineBlock, records: records, malformed: 0), records: records.count, bytes: lineBlock.count, ingestNanos: 0)
        batch.sequence = sequence
        return batch
    }

    /// Two partitions read as a consumer reads them: five minutes of partition 0, five of partition 1, then
    /// the rest of each: partition 0 ends at minute 6 (it leaves the open set), partition 1 at minute 9.
    static func interleaved(tagged: Bool, zeroStaysOpen: Bool = false) -> [Batch] {
        let later = zeroStaysOpen ? [0, 1] : [1]
        let plan: [(Int, ClosedRange<Int>, [Int])] = [
            (0, 0...4, [0, 1]), (1, 0...4, [0, 1]), (0, 5...6, later), (1, 5...9, later),
        ]
        return plan.enumerated().map { i, p in block(partition: p.0, minutes: p.1, open: tagged ? p.2 : nil, sequence: i) }
    }

    /// Requests per minute: both partitions' 6 up to minute 6, then partition 1's alone.
    static let expectedCounts = Array(repeating: 12, count: 7) + Array(repeating: 6, count: 3)

    static func run(_ batches: [Batch], partitions: Int, finish: Bool = true) -> (op: WindowOperator, windows: [WindowOperator.Result]) {
        let emitted = Locked<[WindowOperator.Result]>([])
        let op = WindowOperator(seconds: 60, lateness: 0, partitions: partitions) { r in emitted.withLock { $0.append(r) } }
        for b in batches { _ = op.process(b, slot: 0) }
        if finish { op.finish() }
        return (op, emitted.withLock { $0 })
    }

    @Test func untaggedInterleavedPartitionsLoseRecordsAsLate() {
        // The old behaviour, still right for one ordered stream: partition 1's minutes 0–3 come after
        // partition 0 reached minute 4, and its minute 5 after partition 0 reached minute 6: late.
        let (op, _) = Self.run(Self.interleaved(tagged: false), partitions: 1)
        #expect(op.lateRecords == 5 * 6)
    }

    @Test(arguments: [1, 2, 4]) func perPartitionEventTimeLosesNothing(partitions: Int) {
        let (op, windows) = Self.run(Self.interleaved(tagged: true), partitions: partitions)
        #expect(op.lateRecords == 0)
        #expect(windows.map(\.count) == Self.expectedCounts)
        #expect(windows.allSatisfy { $0.unique_clients == ($0.count == 12 ? 2 : 1) && $0.late_records == 0 })
        #expect(windows.map(\.window_start) == (0...9).map { "2024-11-25T00:\(String(format: "%02d", $0)):00Z" })
    }

    @Test func theSlowestOpenPartitionHoldsWindowsOpenAndAnEndedOneDoesNot() {
        let batches = Self.interleaved(tagged: true)
        // After partition 0's first five minutes, partition 1 has said nothing: no window may close.
        #expect(Self.run(Array(batches[0..<1]), partitions: 2, finish: false).windows.isEmpty)
        // Both at minute 4: minutes 0–3 closed.
        #expect(Self.run(Array(batches[0..<2]), partitions: 2, finish: false).windows.count == 4)
        // Partition 0 moves on to minute 6, partition 1 still at 4: nothing more closes.
        #expect(Self.run(Array(batches[0..<3]), partitions: 2, finish: false).windows.count == 4)
        // Partition 0 was read to its end: it no longer holds partition 1 back, which reaches minute 9.
        #expect(Self.run(batches, partitions: 2, finish: false).windows.count == 9)
        // Had partition 0 stayed open, its minute 6 would hold the windows after it.
        #expect(Self.run(Self.interleaved(tagged: true, zeroStaysOpen: true), partitions: 2, finish: false).windows.count == 6)
    }

    @Test func aRecordLateWithinItsOwnPartitionIsStillLate() {
        var batches = Self.interleaved(tagged: true)
        // Partition 1 sends minute 1 again after reaching minute 9, while partition 0 is done: late.
        batches.append(Self.block(partition: 1, minutes: 1...1, open: [1], sequence: batches.count))
        let (op, windows) = Self.run(batches, partitions: 2)
        #expect(op.lateRecords == 6)
        #expect(windows.map(\.count) == Self.expectedCounts)
    }

    @Test func aCheckpointKeepsEachPartitionsEventTime() throws {
        let batches = Self.interleaved(tagged: true)
        let whole = Self.run(batches, partitions: 2)
        // Stop after the first block, save, restore into a new task, and read on.
        let (first, _) = Self.run(Array(batches[0..<1]), partitions: 2, finish: false)
        var w = StateWriter()
        first.saveState(&w)
        let emitted = Locked<[WindowOperator.Result]>([])
        let second = WindowOperator(seconds: 60, lateness: 0, partitions: 2) { r in emitted.withLock { $0.append(r) } }
        var r = StateReader(w.bytes)
        try second.restoreState(&r)
        for b in batches[1...] { _ = second.process(b, slot: 0) }
        second.finish()
        #expect(second.lateRecords == 0)
        #expect(emitted.withLock { $0.map(\.count) } == whole.windows.map(\.count))
    }
}
