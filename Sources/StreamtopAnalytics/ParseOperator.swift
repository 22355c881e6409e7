import StreamtopEngine
import StreamtopLogs

/// Parses blocks of lines into records (stateless, so any number of workers may run it).
/// Malformed lines are counted as filtered and sent to the quarantine with their line numbers.
public final class ParseOperator: StreamOperator {
    private let quarantine: Quarantine
    private let formatChoice: FormatChoice
    /// Creates the operator.
    public init(quarantine: Quarantine, format: FormatChoice = FormatChoice(.combined)) {
        self.quarantine = quarantine
        self.formatChoice = format
    }

    public var maxParallelism: Int { Int.max }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let block = batch.payload as! LineBlock
        let base = block.base
        let format = formatChoice.format
        var records: [ParsedRecord] = []
        records.reserveCapacity(block.lineCount)
        var rejected: [Quarantine.Rejected] = []
        block.forEachLine { start, length, physical in
            switch format.parse(base, start: start, count: length) {
            case .record(let r):
                records.append(r)
            case .malformed(let reason):
                rejected.append(
                    Quarantine.Rejected(
                        source: block.sourceIndex, line: block.firstLineNumber + physical, reason: reason,
                        bytes: Array(UnsafeBufferPointer(start: base + start, count: length))))
            }
        }
        quarantine.add(rejected)
        let parsed = ParsedBlock(lines: block, records: records, malformed: rejected.count)
        return OperatorOutput(batch: batch.derived(payload: parsed, records: records.count), filtered: rejected.count)
    }
}
