import Foundation
import StreamtopEngine
import StreamtopLogs

/// The number of distinct values of any field over the whole input or per event-time window: exact up to
/// `exactLimit` values, then HyperLogLog (4 KiB, standard error 1.6%), and the result says which.
public final class DistinctOperator: OrderedOperator {
    /// The field counted.
    public let field: RecordField
    /// Distinct values counted exactly before switching to the estimate.
    public let exactLimit: Int
    private var windows: PartitionedWindows<Counter>!

    final class Counter {
        var distinct: DistinctCounter
        var records = 0
        init(_ limit: Int) { distinct = DistinctCounter(exactLimit: limit) }
    }

    /// Distinct values of `field`, per window of `every` seconds (nil: the whole input).
    /// With several `partitions`, each counts the values of its keys and the result is their union.
    public init(name: String = "distinct", field: RecordField, exactLimit: Int = 4096, every: Int64? = nil, slide: Int64? = nil, lateness: Int64 = 60, sink: ResultSink? = nil, partitions: Int = 1) {
        self.field = field
        self.exactLimit = max(0, exactLimit)
        let limit = self.exactLimit
        super.init(name: name, sink: sink, partitions: partitions)
        windows = PartitionedWindows(partitions: self.partitions, size: every, slide: slide, lateness: lateness, merge: { a, b in
            a.distinct.merge(b.distinct)
            a.records += b.records
        }, make: { Counter(limit) }) { [unowned self] in self.emitWindow($0, $1, $2, $3) }
    }

    public override func partitionHash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 { field.hash(r, base) }

    public override func emittedThrough(sourcePartition: Int) -> Int64? { windows.emittedThrough(sourcePartition) }

    public override func consume(_ slice: PartitionSlice) {
        let windows = self.windows.begin(slice, task: name)
        forEachRecord(slice) { r, newest, h in
            _ = windows.add(r.time, newest: newest, at: r.clientStart) { c in
                c.distinct.add(h)
                c.records += 1
            }
        }
        self.windows.endBatch(slice)
    }

    public override func close() { windows.finish() }

    public override var stateShape: String { "distinct field=\(field.rawValue) exact=\(exactLimit) \(windows.shape)" }

    public override func saveWindows(_ w: inout StateWriter) {
        windows.saveState(&w) { c, w in
            w.int(c.records)
            c.distinct.saveState(&w)
        }
    }

    public override func restoreWindows(_ r: inout StateReader) throws {
        let limit = exactLimit
        try windows.restoreState(&r) { r in
            let c = Counter(limit)
            c.records = try r.int()
            c.distinct = try DistinctCounter(restoring: &r)
            return c
        }
    }

    public override func openCopy(partition: Int) -> AnyObject? { windows.copyOfWholeInput(partition) }

    public override func openRows(_ copies: [AnyObject]) -> [ResultRow] {
        windows.wholeInput(of: copies).map { [row(nil, nil, $0, 0)] } ?? []
    }

    private func emitWindow(_ start: Int64?, _ end: Int64?, _ c: Counter, _ late: Int) {
        publish([row(start, end, c, late)])
    }

    private func row(_ start: Int64?, _ end: Int64?, _ c: Counter, _ late: Int) -> ResultRow {
        var row = ResultRow()
        EventTimeWindows<Counter>.bounds(start, end, into: &row)
        let count = c.distinct.count
        row.set("field", .string(field.rawValue))
        row.set("records", .int(Int64(c.records)))
        row.set("distinct", .int(Int64(count.value)))
        row.set("estimated", .bool(count.estimated))
        row.set("standard_error", .double(count.estimated ? 0.016 : 0))
        if start != nil { row.set("late_records", .int(Int64(late))) }
        return row
    }
}
