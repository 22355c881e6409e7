import StreamtopEngine
import StreamtopLogs

/// Keeps the records that match a filter expression (stateless: any number of workers may run it).
/// Records that do not match are counted as filtered, so in = out + filtered holds.
public final class FilterOperator: StreamOperator {
    /// The compiled expression.
    public let expression: FilterExpression
    /// Creates the operator.
    public init(_ expression: FilterExpression) { self.expression = expression }

    public var maxParallelism: Int { Int.max }
    public var takes: (any BatchPayload.Type)? { ParsedBlock.self }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let parsed = batch.payload(as: ParsedBlock.self)
        let base = parsed.lines.base
        let out = parsed.keeping { expression.matches($0, base) }
        let dropped = parsed.records.count - out.records.count
        return OperatorOutput(batch: batch.derived(payload: out, records: out.records.count), filtered: dropped)
    }
}

extension FilterOperator: CheckpointableOperator {
    /// No state, but part of the pipeline's shape: a checkpoint of another filter would mix two selections.
    public var stateShape: String { "filter \(StateShape.digest(String(describing: expression)))" }
    public func saveState(_ w: inout StateWriter) {}
    public func restoreState(_ r: inout StateReader) throws {}
}
