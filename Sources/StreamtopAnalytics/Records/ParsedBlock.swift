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

    /// Creates a parsed block.
    public init(lines: LineBlock, records: [ParsedRecord], malformed: Int, filtered: Int = 0) {
        self.lines = lines
        self.records = records
        self.malformed = malformed
        self.filtered = filtered
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
        return ParsedBlock(lines: lines, records: merged, malformed: parts[0].malformed, filtered: parts.reduce(0) { $0 + $1.filtered })
    }
}
