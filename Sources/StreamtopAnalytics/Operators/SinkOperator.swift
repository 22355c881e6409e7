import StreamtopEngine
import StreamtopLogs

/// The end of the default pipeline: takes delivered batches and releases them. The engine measures
/// end-to-end latency when this task finishes a batch.
public final class SinkOperator: StreamOperator {
    /// Creates the sink.
    public init() {}
    public var maxParallelism: Int { 1 }
    public var takes: (any BatchPayload.Type)? { ParsedBlock.self }
    public func process(_ batch: Batch, slot: Int) -> OperatorOutput { OperatorOutput(batch: nil) }
}
