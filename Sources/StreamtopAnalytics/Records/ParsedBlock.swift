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
    /// A union's shares of one source block as one block: each input's records, merged by event time
    /// (the earlier head first, ties to the earlier input; each input's own order is kept), so a window
    /// after a union sees them as close to time order as the inputs allow and always in the same order.
    /// A record that passed several inputs is there once per input, as a stream union keeps it. Inputs
    /// that read the same lines share them; otherwise (a map copied them) the lines are copied into one
    /// buffer and the records moved to point there.
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
        var merged: [ParsedRecord] = []
        merged.reserveCapacity(records.reduce(0) { $0 + $1.count })
        var heads = [Int](repeating: 0, count: records.count)
        while true {
            var pick = -1
            for i in records.indices where heads[i] < records[i].count {
                if pick < 0 || records[i][heads[i]].time < records[pick][heads[pick]].time { pick = i }
            }
            guard pick >= 0 else { break }
            merged.append(records[pick][heads[pick]])
            heads[pick] += 1
        }
        // The inputs' dropped records do not move the watermark after a union: merged by event time, a
        // dropped record's time would reach records before it in the source, and whether it did would
        // depend on where blocks were cut (results must not). The records' own times do, as before.
        return ParsedBlock(lines: lines, records: merged, malformed: parts[0].malformed, filtered: parts.reduce(0) { $0 + $1.filtered })
    }
}
