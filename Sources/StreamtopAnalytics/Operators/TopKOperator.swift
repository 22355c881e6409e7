import Foundation
import StreamtopEngine
import StreamtopLogs

/// The K most frequent values of any field (path, endpoint, client, network, user agent, user…) over the
/// whole input or per event-time window, in bounded memory (Space-Saving over `capacity` keys). Exact while
/// the distinct values fit the capacity; past that the result says it is an estimate and gives each count's
/// error bound (every value seen more than N/capacity times is guaranteed to be listed).
public final class TopKOperator: OrderedOperator {
    /// The field ranked.
    public let field: RecordField
    /// Values listed.
    public let k: Int
    /// Values tracked.
    public let capacity: Int
    private var windows: PartitionedWindows<Summary>!

    final class Summary {
        let counts: SpaceSaving
        init(_ capacity: Int) { counts = SpaceSaving(capacity: capacity) }
    }

    /// Top `k` of `field` tracking `capacity` values, per window of `every` seconds (nil: the whole input).
    /// With several `partitions`, each tracks `capacity` values of its keys and the result merges them.
    public init(name: String = "topk", field: RecordField, k: Int = 10, capacity: Int = 1000, every: Int64? = nil, slide: Int64? = nil, lateness: Int64 = 60, sink: ResultSink? = nil, partitions: Int = 1) {
        self.field = field
        self.k = max(1, k)
        self.capacity = max(capacity, self.k)
        let cap = self.capacity
        super.init(name: name, sink: sink, partitions: partitions)
        windows = PartitionedWindows(partitions: self.partitions, size: every, slide: slide, lateness: lateness, merge: { $0.counts.merge($1.counts) }, make: { Summary(cap) }) { [unowned self] in self.emitWindow($0, $1, $2, $3) }
    }

    public override func partitionHash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 { field.hash(r, base) }

    public override func emittedThrough(sourcePartition: Int) -> Int64? { windows.emittedThrough(sourcePartition) }

    public override func consume(_ slice: PartitionSlice) {
        let base = slice.block.lines.base
        // Unretained in the closures: `self.windows` holds the partition's windows for the whole batch.
        // Captured as a reference, they were retained and released per record around the key's closure
        // (a fifth of the analytics benchmark's retains and releases).
        let windows = Unmanaged.passUnretained(self.windows.begin(slice, task: name))
        forEachRecord(slice) { r, newest, h in
            // The key is built and hashed once (its hash is the partition's), then counted in each window
            // the record belongs to.
            field.withKey(r, base) { p, n in
                windows._withUnsafeGuaranteedRef { w in _ = w.add(r.time, newest: newest, at: r.clientStart) { s in s.counts.add(p, n, hash: h) } }
            }
        }
        self.windows.endBatch(slice)
    }

    public override func close() { windows.finish() }

    public override var stateShape: String { "topk field=\(field.rawValue) k=\(k) capacity=\(capacity) \(windows.shape)" }

    public override func saveWindows(_ w: inout StateWriter) {
        windows.saveState(&w) { s, w in s.counts.saveState(&w) }
    }

    public override func restoreWindows(_ r: inout StateReader) throws {
        let cap = capacity
        try windows.restoreState(&r) { r in
            let s = Summary(cap)
            try s.counts.restoreState(&r)
            return s
        }
    }

    public override func openCopy(partition: Int) -> AnyObject? { windows.copyOfWholeInput(partition) }

    public override func openRows(_ copies: [AnyObject]) -> [ResultRow] {
        windows.wholeInput(of: copies).map { [row(nil, nil, $0, 0)] } ?? []
    }

    private func emitWindow(_ start: Int64?, _ end: Int64?, _ s: Summary, _ late: Int) {
        publish([row(start, end, s, late)])
    }

    private func row(_ start: Int64?, _ end: Int64?, _ s: Summary, _ late: Int) -> ResultRow {
        var row = ResultRow()
        EventTimeWindows<Summary>.bounds(start, end, into: &row)
        row.set("field", .string(field.rawValue))
        row.set("records", .int(Int64(s.counts.total)))
        row.set("top", .list(s.counts.topWithErrors(k).map { item in
            var e = ResultRow()
            e.set("key", .string(item.key))
            e.set("count", .int(Int64(item.count)))
            if s.counts.evicted { e.set("error", .int(Int64(item.error))) }
            return .object(e)
        }))
        row.set("estimated", .bool(s.counts.evicted))
        if start != nil { row.set("late_records", .int(Int64(late))) }
        return row
    }
}
