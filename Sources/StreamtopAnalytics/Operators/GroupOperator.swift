import Foundation
import Histogram
import StreamtopEngine
import StreamtopLogs

/// Groups records by one or more fields (stored or derived: `status_class`, `endpoint`, `network`,
/// `agent`, `user`…) and keeps per group the count, and for bytes and serving time the sum, min, max,
/// average and chosen percentiles (HdrHistogram with two significant digits: within 1%). Over the whole
/// input (one table at the end) or per event-time window (rows as each window closes).
///
/// Memory is bounded: at most `maxGroups` groups per window; records of further keys are counted in one
/// `(other)` group and the result says so.
public final class GroupOperator: OrderedOperator {
    /// What the task computes.
    public struct Spec: Sendable, Equatable {
        /// The grouping fields.
        public var by: [RecordField]
        /// The numbers aggregated per group.
        public var measures: [RecordMeasure] = RecordMeasure.allCases
        /// Percentiles of each measure (0 < p ≤ 100).
        public var percentiles: [Double] = []
        /// Window length and slide in seconds (nil: the whole input).
        public var every: Int64?
        public var slide: Int64?
        /// Allowed lateness, seconds.
        public var lateness: Int64 = 60
        /// Groups written per result, largest first.
        public var limit = 1000
        /// Groups tracked per window before new keys go to `(other)`.
        public var maxGroups = 100_000

        /// A group-by over the whole input.
        public init(by: [RecordField]) { self.by = by }
    }

    /// Per-group numbers of one measure.
    struct Stats {
        var count = 0
        var sum: Int64 = 0
        var min = Int64.max
        var max = Int64.min
        var histogram: Histogram<UInt32>?

        /// `a + b`, clamped to the Int64 range instead of wrapping (measures are not negative, so in
        /// practice to `Int64.max`): a total that reached the limit stays there rather than turning negative.
        static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
            let (s, overflow) = a.addingReportingOverflow(b)
            return overflow ? (b < 0 ? .min : .max) : s
        }

        /// A measure's histogram layout: up to 2^40, two significant digits.
        static let emptyHistogram = Histogram<UInt32>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .two)

        func save(_ w: inout StateWriter) {
            w.int(count)
            w.i64(sum)
            w.i64(min)
            w.i64(max)
            w.bool(histogram != nil)
            if let histogram { w.histogram(histogram) }
        }

        init() {}

        init(restoring r: inout StateReader) throws {
            count = try r.int()
            sum = try r.i64()
            min = try r.i64()
            max = try r.i64()
            histogram = try r.bool() ? try r.histogram(into: Stats.emptyHistogram) : nil
        }

        mutating func merge(_ o: Stats) {
            guard o.count > 0 else { return }
            count += o.count
            sum = Stats.saturatingSum(sum, o.sum)
            min = Swift.min(min, o.min)
            max = Swift.max(max, o.max)
            if let h = o.histogram {
                if histogram == nil { histogram = h } else { histogram!.add(h) }
            }
        }
    }

    /// The groups of one window.
    final class Table {
        let keys = ByteKeyCounter(initialCapacity: 64)
        var stats: [[Stats]] = []  // [group][measure]
        var otherCount = 0
        var other: [Stats]
        init(measures: Int) { other = [Stats](repeating: Stats(), count: measures) }

        /// Adds a pane's groups (sliding windows).
        static func merge(_ a: Table, _ b: Table) {
            a.keys.merge(b.keys) { i, index in
                if index == a.stats.count { a.stats.append([Stats](repeating: Stats(), count: b.other.count)) }
                for m in b.stats[i].indices { a.stats[index][m].merge(b.stats[i][m]) }
            }
            a.otherCount += b.otherCount
            for m in b.other.indices { a.other[m].merge(b.other[m]) }
        }
    }

    /// What this task computes.
    public let spec: Spec
    private var windows: PartitionedWindows<Table>!
    /// Groups a partition tracks per window before new keys go to `(other)`.
    private let maxGroupsPerPartition: Int

    /// Creates the task. With several `partitions`, each keeps the groups whose key hashes to it (at most
    /// its share of `maxGroups`) and a window's table merges them.
    public init(name: String = "group", spec: Spec, sink: ResultSink? = nil, partitions: Int = 1) {
        self.spec = spec
        let measures = spec.measures.count
        maxGroupsPerPartition = max(1, (spec.maxGroups + max(1, partitions) - 1) / max(1, partitions))
        super.init(name: name, sink: sink, partitions: partitions)
        windows = PartitionedWindows(partitions: self.partitions, size: spec.every, slide: spec.slide, lateness: spec.lateness, merge: Table.merge, make: { Table(measures: measures) }) { [unowned self] in self.emitWindow($0, $1, $2, $3) }
    }

    /// Records that missed a closed window (read it once the run has ended).
    public var lateRecords: Int { windows.lateTotal }

    /// The composite key: each field as a 2-byte length and its bytes, so any byte may appear in a field.
    /// Written into `key` (grown when a key is longer), returns its length. A scratch buffer, not an
    /// array: appending to one checked its capacity and uniqueness per byte, 5 % of the analytics
    /// benchmark.
    @inline(__always)
    private static func buildKey(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>, by: UnsafeBufferPointer<RecordField>, into key: inout UnsafeMutableBufferPointer<UInt8>) -> Int {
        var used = 0
        for field in by {
            field.withKey(r, base) { p, n in
                let len = min(n, 0xFFFF)
                if used + 2 + len > key.count {
                    let grown = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(2 * key.count, used + 2 + len))
                    grown.baseAddress!.update(from: key.baseAddress!, count: used)
                    key.deallocate()
                    key = grown
                }
                let out = key.baseAddress! + used
                out[0] = UInt8(len >> 8)
                out[1] = UInt8(len & 0xFF)
                // Most fields of a group key are a few bytes (a status class, a method): copied a byte at a
                // time, not through a call to memmove.
                if len <= 16 {
                    for i in 0..<len { out[2 + i] = p[i] }
                } else {
                    (out + 2).update(from: p, count: len)
                }
                used += 2 + len
            }
        }
        return used
    }

    public override func partitionHash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 {
        if spec.by.count == 1 { return spec.by[0].hash(r, base) }
        var h: UInt64 = 0
        for field in spec.by { h = (h ^ field.hash(r, base)) &* 0x9E37_79B9_7F4A_7C15 }
        return h
    }

    public override func emittedThrough(sourcePartition: Int) -> Int64? { windows.emittedThrough(sourcePartition) }

    public override func consume(_ slice: PartitionSlice) {
        let base = slice.block.lines.base
        // Unretained in the closure (see `TopKOperator.consume`).
        let windows = Unmanaged.passUnretained(self.windows.begin(slice, task: name))
        var key = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)
        defer { key.deallocate() }
        // The measures, key fields and settings as locals for the batch, and the per-record functions
        // static: they no longer reach `self.spec` per record (with the windows unretained, the group's
        // retains and releases in the profile fell from 63 samples to 26).
        let percentiles = !spec.percentiles.isEmpty
        let maxGroups = maxGroupsPerPartition
        spec.measures.withUnsafeBufferPointer { measures in spec.by.withUnsafeBufferPointer { by in
            slice.forEach { r, newest in
                let length = Self.buildKey(r, base, by: by, into: &key)
                let k = UnsafeBufferPointer(start: key.baseAddress, count: length)
                windows._withUnsafeGuaranteedRef { w in
                    _ = w.add(r.time, newest: newest, at: r.clientStart) { table in
                        Self.add(r, key: k, to: table, measures, percentiles: percentiles, maxGroups: maxGroups)
                    }
                }
            }
        } }
        self.windows.endBatch(slice)
    }

    private static func add(_ r: ParsedRecord, key: UnsafeBufferPointer<UInt8>, to t: Table, _ measures: UnsafeBufferPointer<RecordMeasure>, percentiles: Bool, maxGroups: Int) {
        let index: Int
        if t.keys.count >= maxGroups {
            // Full: existing groups still count, new keys go to (other).
            guard t.keys.index(of: key.baseAddress!, key.count) != nil else {
                t.otherCount += 1
                for m in measures.indices { if let v = measures[m].value(r) { update(&t.other[m], v, percentiles: percentiles) } }
                return
            }
            index = t.keys.slot(key.baseAddress!, key.count)
        } else {
            index = t.keys.slot(key.baseAddress!, key.count)
        }
        if index == t.stats.count { t.stats.append([Stats](repeating: Stats(), count: measures.count)) }
        for m in measures.indices {
            if let v = measures[m].value(r) { update(&t.stats[index][m], v, percentiles: percentiles) }
        }
    }

    private static func update(_ s: inout Stats, _ v: Int64, percentiles: Bool) {
        s.count += 1
        s.sum = Stats.saturatingSum(s.sum, v)
        if v < s.min { s.min = v }
        if v > s.max { s.max = v }
        if percentiles {
            // Recorded in place; `histogram == nil` first copied the histogram (its counts) to compare it,
            // for every record.
            let value = UInt64(max(0, min(v, 1 << 40)))
            if s.histogram?.record(value) == nil {
                var h = Stats.emptyHistogram
                _ = h.record(value)
                s.histogram = h
            }
        }
    }

    public override func close() { windows.finish() }

    public override var stateShape: String { "group \(spec) \(windows.shape)" }

    public override func saveWindows(_ w: inout StateWriter) {
        windows.saveState(&w) { t, w in
            t.keys.saveState(&w)
            w.int(t.otherCount)
            for s in t.other { s.save(&w) }
            for group in t.stats {
                for s in group { s.save(&w) }
            }
        }
    }

    public override func restoreWindows(_ r: inout StateReader) throws {
        let measures = spec.measures.count
        try windows.restoreState(&r) { r in
            let t = Table(measures: measures)
            try t.keys.restoreState(&r)
            t.otherCount = try r.int()
            t.other = try (0..<measures).map { _ in try Stats(restoring: &r) }
            t.stats = try (0..<t.keys.count).map { _ in try (0..<measures).map { _ in try Stats(restoring: &r) } }
            return t
        }
    }

    /// A copy of the groups the table so far could list: the largest `limit` of the partition (partitions
    /// hold different keys, so the largest of all are among each one's largest) and `(other)`. Copying
    /// every group would share every histogram, and the worker would copy each again at its next record.
    public override func openCopy(partition: Int) -> AnyObject? {
        guard let open = windows.windows(partition).wholeInput else { return nil }
        let copy = Table(measures: spec.measures.count)
        for i in largest(open) {
            let key = open.keys.keyBytes(at: i)
            key.withUnsafeBufferPointer { k in _ = copy.keys.slot(k.baseAddress!, k.count, open.keys.count(at: i)) }
            copy.stats.append(open.stats[i])
        }
        copy.otherCount = open.otherCount
        copy.other = open.other
        return copy
    }

    public override func openRows(_ copies: [AnyObject]) -> [ResultRow] {
        windows.wholeInput(of: copies).map { rows($0, start: nil, end: nil, late: 0) } ?? []
    }

    private func emitWindow(_ start: Int64?, _ end: Int64?, _ table: Table, _ late: Int) {
        publish(self.rows(table, start: start, end: end, late: late))
    }

    /// The table's `limit` largest groups, largest first (ties by key): the rows a result lists.
    private func largest(_ t: Table) -> [Int] {
        var order = Array(0..<t.keys.count)
        let keys = order.map { t.keys.keyBytes(at: $0) }
        order.sort { a, b in
            let ca = t.keys.count(at: a), cb = t.keys.count(at: b)
            return ca != cb ? ca > cb : keys[a].lexicographicallyPrecedes(keys[b])
        }
        return Array(order.prefix(spec.limit))
    }

    private func rows(_ t: Table, start: Int64?, end: Int64?, late: Int) -> [ResultRow] {
        var out: [ResultRow] = []
        for i in largest(t) {
            var row = ResultRow()
            EventTimeWindows<Table>.bounds(start, end, into: &row)
            var k = t.keys.keyBytes(at: i)[...]
            for field in spec.by {
                let len = Int(k[k.startIndex]) << 8 | Int(k[k.startIndex + 1])
                let bytes = k.dropFirst(2).prefix(len)
                row.set(field.rawValue, .string(String(decoding: bytes, as: UTF8.self)))
                k = k.dropFirst(2 + len)
            }
            fill(&row, count: t.keys.count(at: i), stats: t.stats[i])
            out.append(row)
        }
        if t.otherCount > 0 {
            var row = ResultRow()
            EventTimeWindows<Table>.bounds(start, end, into: &row)
            for field in spec.by { row.set(field.rawValue, .string("(other)")) }
            fill(&row, count: t.otherCount, stats: t.other)
            out.append(row)
        }
        for j in out.indices {
            // Window-wide facts repeat on each row, so every CSV line has the same columns.
            if start != nil { out[j].set("late_records", .int(Int64(late))) }
            out[j].set("groups_capped", .bool(t.otherCount > 0))
        }
        return out
    }

    private func fill(_ row: inout ResultRow, count: Int, stats: [Stats]) {
        row.set("count", .int(Int64(count)))
        for (m, measure) in spec.measures.enumerated() {
            let s = stats[m]
            let name = measure == .bytes ? "bytes" : "request_time_us"
            guard s.count > 0 else {
                if measure == .bytes { row.set("\(name)_sum", .int(0)) }
                continue
            }
            row.set("\(name)_sum", .int(s.sum))
            row.set("\(name)_min", .int(s.min))
            row.set("\(name)_max", .int(s.max))
            row.set("\(name)_avg", .double(Double(s.sum) / Double(s.count)))
            if let h = s.histogram {
                for p in spec.percentiles {
                    row.set("\(name)_p\(ResultValue.format(p))", .int(Int64(h.valueAtPercentile(p))))
                }
            }
        }
    }
}
