import StreamtopEngine
import StreamtopLogs

/// Blocks of lines travel from the source to the parse task.
extension LineBlock: BatchPayload {}

/// A block of lines with its parsed records: the payload between the parse and aggregate tasks.
/// Written once by the parse task, then only read.
public final class ParsedBlock: BatchPayload, @unchecked Sendable {
    /// The lines the records point into.
    public let lines: LineBlock
    /// The records, in line order.
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
