import Histogram
import StreamtopEngine

/// How the analytics values that are not sketches go into a checkpoint: result rows (kept for snapshot
/// files and the dashboard), histograms, and the report's aggregates.
extension StateWriter {
    /// Writes a result value.
    public mutating func value(_ v: ResultValue) {
        switch v {
        case .int(let i):
            int(0)
            i64(i)
        case .double(let d):
            int(1)
            double(d)
        case .string(let s):
            int(2)
            string(s)
        case .bool(let b):
            int(3)
            bool(b)
        case .null:
            int(4)
        case .list(let items):
            int(5)
            int(items.count)
            for item in items { value(item) }
        case .object(let row):
            int(6)
            self.row(row)
        }
    }

    /// Writes a result row.
    public mutating func row(_ r: ResultRow) {
        int(r.fields.count)
        for f in r.fields {
            string(f.name)
            value(f.value)
        }
    }

    /// Writes rows.
    public mutating func rows(_ list: [ResultRow]) {
        int(list.count)
        for r in list { row(r) }
    }

    /// Writes a histogram as its recorded values and counts. Not its Codable form: that decodes whatever
    /// JSON it is given without checking it against the bucket layout, so a hand-edited checkpoint could
    /// make a later read index out of range. Re-recording into a histogram of the known layout cannot.
    public mutating func histogram<C>(_ h: Histogram<C>) {
        var values: [UInt64] = []
        var counts: [UInt64] = []
        for v in h.recordedValues() {
            values.append(v.value)
            counts.append(UInt64(v.count))
        }
        // The lowest and highest buckets get the exact smallest and largest values recorded (the 100th
        // percentile and the maximum are those, not their buckets' ends).
        if let first = values.first, h.min > 0, h.valuesAreEquivalent(first, h.min) { values[0] = h.min }
        if let last = values.last, h.valuesAreEquivalent(last, h.maxRecorded) { values[values.count - 1] = h.maxRecorded }
        numbers(values)
        numbers(counts)
    }
}

extension StateReader {
    /// Reads a result value; `depth` bounds nesting (a hand-edited checkpoint cannot recurse forever).
    public mutating func value(depth: Int = 0) throws -> ResultValue {
        try check(depth < 32, "result values nest too deep")
        switch try int() {
        case 0: return .int(try i64())
        case 1: return .double(try double())
        case 2: return .string(try string())
        case 3: return .bool(try bool())
        case 4: return .null
        case 5:
            let n = try count(max: 1 << 24)
            var items: [ResultValue] = []
            for _ in 0..<n { items.append(try value(depth: depth + 1)) }
            return .list(items)
        case 6: return .object(try row(depth: depth + 1))
        case let tag: throw Damaged("unknown result value tag \(tag)")
        }
    }

    /// Reads a result row.
    public mutating func row(depth: Int = 0) throws -> ResultRow {
        var r = ResultRow()
        let n = try count(max: 1 << 20)
        for _ in 0..<n { r.fields.append(ResultRow.Field(name: try string(), value: try value(depth: depth))) }
        return r
    }

    /// Reads rows.
    public mutating func rows() throws -> [ResultRow] {
        let n = try count(max: 1 << 24)
        var list: [ResultRow] = []
        for _ in 0..<n { list.append(try row()) }
        return list
    }

    /// Reads a histogram written by `StateWriter.histogram` into `empty`, a histogram of the layout the
    /// writer had (the same value in the same bucket gives the same percentiles, maximum and count).
    public mutating func histogram<C>(into empty: Histogram<C>) throws -> Histogram<C> {
        var h = empty
        let values = try numbers(UInt64.self)
        let counts = try numbers(UInt64.self)
        try check(values.count == counts.count, "a histogram's values and counts differ in number")
        for (v, n) in zip(values, counts) {
            guard let c = C(exactly: n), h.record(v, count: c) else { throw Damaged("a histogram value \(v) ×\(n) does not fit its layout") }
        }
        return h
    }
}
