import StreamtopEngine
import StreamtopLogs

/// Parses blocks of lines into records (stateless, so any number of workers may run it).
/// Malformed lines are counted as filtered and sent to the quarantine with their line numbers.
public final class ParseOperator: StreamOperator {
    private let quarantine: Quarantine
    private let formatChoice: FormatChoice
    private let maxLineBytes: Int
    /// Creates the operator. Lines longer than `maxLineBytes` are malformed ("line too long"); the source
    /// hands out only the head of such a line, one byte over the limit, so the test is the same for both.
    public init(quarantine: Quarantine, format: FormatChoice = FormatChoice(.combined), maxLineBytes: Int = LineChunker.defaultMaxLineBytes) {
        self.quarantine = quarantine
        self.formatChoice = format
        self.maxLineBytes = maxLineBytes
    }

    public var maxParallelism: Int { Int.max }
    public var takes: (any BatchPayload.Type)? { LineBlock.self }
    public var gives: (any BatchPayload.Type)? { ParsedBlock.self }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let block = batch.payload(as: LineBlock.self)
        let base = block.base
        let format = formatChoice.format
        var records: [ParsedRecord] = []
        records.reserveCapacity(block.lineCount)
        var rejected: [Quarantine.Rejected] = []
        let limit = maxLineBytes
        let offsets = block.partition?.offsets ?? []
        block.forEachLine { start, length, physical in
            let outcome: CombinedLogParser.Outcome = length > limit ? .malformed(.lineTooLong) : format.parse(base, start: start, count: length)
            switch outcome {
            case .record(let r):
                records.append(r)
            case .malformed(let reason):
                var r = Quarantine.Rejected(
                    source: block.sourceIndex, line: block.firstLineNumber + physical, reason: reason,
                    bytes: Array(UnsafeBufferPointer(start: base + start, count: min(length, limit))))
                if physical < offsets.count, let p = block.partition?.id {
                    r.partition = p
                    r.offset = offsets[physical]
                }
                rejected.append(r)
            }
        }
        quarantine.add(rejected)
        let parsed = ParsedBlock(lines: block, records: records, malformed: rejected.count)
        return OperatorOutput(batch: batch.derived(payload: parsed, records: records.count), filtered: rejected.count)
    }
}

extension ParseOperator: CheckpointableOperator {
    public var stateShape: String { "parse format=\(formatChoice.requested) max_line=\(maxLineBytes)" }

    /// The malformed-line counts and rejects file, and the detected format.
    public func saveState(_ w: inout StateWriter) {
        quarantine.saveState(&w)
        w.string(formatChoice.detectedName ?? "")
    }

    public func restoreState(_ r: inout StateReader) throws {
        try quarantine.restoreState(&r)
        let name = try r.string()
        if !name.isEmpty { formatChoice.adopt(detected: name) }
    }

    public func commitRestore() throws { try quarantine.commitRestore() }
}
