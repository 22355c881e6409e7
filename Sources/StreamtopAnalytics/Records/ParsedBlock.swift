import StreamtopEngine
import StreamtopLogs

/// Blocks of lines travel from the source to the parse task.
extension LineBlock: BatchPayload {}

/// A block of lines with its parsed records: the payload between the parse and aggregate tasks.
/// Written once by the parse task, then only read.
public final class ParsedBlock: BatchPayload, @unchecked Sendable {
    /// The lines the records point into.
    public let lines: LineBlock
    /// The records, in line order (a union's: by event time, see `union`).
    public let records: [ParsedRecord]
    /// Number of malformed lines in the block.
    public let malformed: Int
    /// Records a filter removed from the block.
    public let filtered: Int
    /// Event time for the watermark once a filter removed records: per record, the newest event time of
    /// the source block's records up to it, removed ones included (nil: the records' own times tell it).
    /// A window after a filter of rare records (errors per minute) otherwise closed only when the next
    /// rare record came, however much traffic had passed meanwhile.
    public let newest: [Int64]?
    /// With `newest`: the newest event time of all the source block's records, those after the last one
    /// kept included (the watermark at the block's end).
    public let tailNewest: Int64

    /// Creates a parsed block.
    public init(lines: LineBlock, records: [ParsedRecord], malformed: Int, filtered: Int = 0, newest: [Int64]? = nil, tailNewest: Int64 = .min) {
        self.lines = lines
        self.records = records
        self.malformed = malformed
        self.filtered = filtered
        self.newest = newest
        self.tailNewest = tailNewest
    }

    /// The records that `keep` selects, with the event time of what it drops kept for the watermark.
    public func keeping(_ keep: (ParsedRecord) -> Bool) -> ParsedBlock {
        // Both made at the first record dropped, with what was kept before it: a filter that drops nothing
        // passes the block on and allocates nothing.
        var kept: [ParsedRecord]?
        var times: [Int64]?
        var running = Int64.min
        records.withUnsafeBufferPointer { recs in
            for i in recs.indices {
                let t = newest?[i] ?? recs[i].time
                if t > running { running = t }
                if keep(recs[i]) {
                    kept?.append(recs[i])
                    times?.append(running)
                } else if kept == nil {
                    kept = Array(recs[..<i])
                    kept!.reserveCapacity(recs.count)
                    var upTo = Int64.min
                    times = (0..<i).map { j in
                        upTo = max(upTo, newest?[j] ?? recs[j].time)
                        return upTo
                    }
                    times!.reserveCapacity(recs.count)
                }
            }
        }
        guard let kept, let times else { return self }
        return ParsedBlock(
            lines: lines, records: kept, malformed: malformed, filtered: filtered + records.count - kept.count,
            newest: times, tailNewest: max(running, tailNewest))
    }
}

extension ParsedBlock {
    /// A union's shares of one source block as one block: each input's records, merged in source order
    /// (each input's own order is kept), so a window after a union sees one stream as a task after a single
    /// input does, and always in the same order. A record that passed several inputs is there once per
    /// input, as a stream union keeps it. Inputs that read the same lines share them; otherwise (a map
    /// copied them) the lines are copied into one buffer and the records moved to point there.
    ///
    /// Source order comes from the shares' event times in source order (`newest`: per record, the newest
    /// time of the source block up to it, records an input dropped included): a record whose newest time is
    /// smaller comes before in the source. Records with the same newest time go in input order. The union
    /// carries those times and the block's newest on, so the watermark after a union moves with the
    /// traffic's time, dropped records included, exactly as after one filter: a window of rare matches
    /// closes when the traffic passes its end, not at the next match.
    public static func union(_ parts: [ParsedBlock]) -> ParsedBlock {
        guard parts.count > 1 else { return parts[0] }
        let lines: LineBlock
        var records = parts.map(\.records)
        if parts.allSatisfy({ $0.lines === parts[0].lines }) {
            lines = parts[0].lines
        } else {
            let (joined, offsets) = LineBlock.concatenating(parts.map(\.lines))
            lines = joined
            for i in records.indices where offsets[i] > 0 {
                records[i] = records[i].map { $0.rebased(by: Int32(offsets[i])) }
            }
        }
        // Each share's times in source order: its own, or a running maximum of its records' times.
        let times: [[Int64]] = parts.map { p in
            if let newest = p.newest { return newest }
            var running = Int64.min
            return p.records.map { r in
                running = max(running, r.time)
                return running
            }
        }
        let total = records.reduce(0) { $0 + $1.count }
        var merged: [ParsedRecord] = []
        var newest: [Int64] = []
        merged.reserveCapacity(total)
        newest.reserveCapacity(total)
        var heads = [Int](repeating: 0, count: records.count)
        while true {
            var pick = -1
            for i in records.indices where heads[i] < records[i].count {
                if pick < 0 || times[i][heads[i]] < times[pick][heads[pick]] { pick = i }
            }
            guard pick >= 0 else { break }
            merged.append(records[pick][heads[pick]])
            newest.append(times[pick][heads[pick]])
            heads[pick] += 1
        }
        var tail = Int64.min
        for (p, t) in zip(parts, times) { tail = max(tail, p.tailNewest, t.last ?? .min) }
        return ParsedBlock(
            lines: lines, records: merged, malformed: parts[0].malformed, filtered: parts.reduce(0) { $0 + $1.filtered },
            newest: newest, tailNewest: tail)
    }
}
