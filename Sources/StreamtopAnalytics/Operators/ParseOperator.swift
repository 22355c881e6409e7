import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Parses blocks of lines into records (stateless, so any number of workers may run it).
/// Malformed lines are counted as filtered and sent to the quarantine with their line numbers.
public final class ParseOperator: StreamOperator {
    private let quarantine: Quarantine
    private let formatChoice: FormatChoice
    private let maxLineBytes: Int
    /// Rehearsals, in hundredths of a percent (0 to 10,000): lines marked malformed, records given the hot
    /// client. Set while the engine applies its mailbox, read by workers.
    private let injectedMalformed = Atomic<Int>(0)
    private let injectedSkew = Atomic<Int>(0)
    /// The hot client of `inject skew` (a documentation address: never a real visitor).
    static let hotClient = Array("203.0.113.66".utf8)
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
        let malformedShare = injectedMalformed.load(ordering: .relaxed)
        var times = LogTime.CLFCache()
        block.forEachLine { start, length, physical in
            var outcome: CombinedLogParser.Outcome = length > limit ? .malformed(.lineTooLong) : format.parse(base, start: start, count: length, times: &times)
            if malformedShare > 0, case .record = outcome, Self.picked(block.firstLineNumber + physical, share: malformedShare) {
                outcome = .malformed(.injected)
            }
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
        let skew = injectedSkew.load(ordering: .relaxed)
        let lines = skew > 0 && !records.isEmpty ? skewed(&records, batch: batch, share: skew) : block
        let parsed = ParsedBlock(lines: lines, records: records, malformed: rejected.count)
        return OperatorOutput(batch: batch.derived(payload: parsed, records: records.count), filtered: rejected.count)
    }
}

extension ParseOperator: Rehearsable {
    public func rehearse(_ injection: Injection) -> String? {
        switch injection {
        case .malformed(let p):
            injectedMalformed.store(Int((p * 100).rounded()), ordering: .relaxed)
            return "malformed \(Self.percent(p)) of lines (reason: injected)"
        case .skew(let p):
            injectedSkew.store(Int((p * 100).rounded()), ordering: .relaxed)
            return "skew: \(Self.percent(p)) of records from client \(String(decoding: Self.hotClient, as: UTF8.self))"
        case .clear:
            injectedMalformed.store(0, ordering: .relaxed)
            injectedSkew.store(0, ordering: .relaxed)
            return nil
        default:
            return nil
        }
    }

    static func percent(_ p: Double) -> String { p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p) }

    /// Whether item `n` is among `share` hundredths of a percent: by a hash of its number, so the same
    /// lines are picked on every run (a rehearsal can be replayed).
    static func picked(_ n: Int, share: Int) -> Bool {
        Int(((UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15) >> 40) % 10_000) < share
    }

    /// Gives `share` of the records the hot client (bytes appended after the lines; the block is copied
    /// first when other tasks read it too). Returns the block the records now point into.
    private func skewed(_ records: inout [ParsedRecord], batch: Batch, share: Int) -> LineBlock {
        let original = batch.payload(as: LineBlock.self)
        let block = batch.shared ? original.copy() : original
        let n = Self.hotClient.count
        block.reserveDerived(n)
        Self.hotClient.withUnsafeBufferPointer { block.derivedEnd.update(from: $0.baseAddress!, count: n) }
        let at = block.commitDerived(n)
        for i in records.indices where Self.picked(block.firstLineNumber &+ i, share: share) {
            records[i].clientStart = at
            records[i].clientLength = Int32(n)
        }
        return block
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
