/// What a task does to each batch. Implemented by the analytics layer; the engine only schedules it.
///
/// `process` may be called by up to `maxParallelism` workers at once, each with a distinct `slot` in
/// `0..<slotCount` (the worker's index). Stateful operators keep one state per slot and merge when
/// read, so several workers can share them without a lock on the hot path.
public protocol StreamOperator: AnyObject {
    /// How many workers may run this operator at once (1 for order-sensitive operators).
    var maxParallelism: Int { get }
    /// Processes one batch and returns what goes downstream.
    func process(_ batch: Batch, slot: Int) -> OperatorOutput
    /// Ends the operator's work (close open windows, write final results). The engine calls it once, when
    /// the input has ended and every queue drained, or after `shutdown`, never while a worker runs the
    /// operator; upstream tasks are finished first. Returns the final result to publish, if any.
    func finish() -> (any Sendable)?
    /// A fresh result for the snapshot, for operators whose result is costly to build (merging every
    /// worker's tables): the engine's ticker calls it before each publication, outside the engine's lock
    /// and off the workers' path. nil keeps the previous result (e.g. nothing changed, or too soon).
    func refreshResult() -> (any Sendable)?
    /// Answers an operator's request (`ControlCommand.request`), on the engine's thread with the engine's
    /// lock held: it may change what the operator keeps, never block on a worker. The outcome is logged.
    func handle(_ request: OperatorRequest) -> TransportOutcome
    /// Tells the operator how many inputs its task reads, once, when the graph is built: a union's
    /// batches come numbered `block × inputs + input` (see `Engine.pickLocked`), so an order-sensitive
    /// operator can put each source block's shares back together.
    func connect(inputs: Int)
    /// The payload type the operator reads (nil: any).
    var takes: (any BatchPayload.Type)? { get }
    /// The payload type it hands on (nil: the one it reads, passed through).
    var gives: (any BatchPayload.Type)? { get }
}

extension StreamOperator {
    public var takes: (any BatchPayload.Type)? { nil }
    public var gives: (any BatchPayload.Type)? { nil }
    public func finish() -> (any Sendable)? { nil }
    public func refreshResult() -> (any Sendable)? { nil }
    public func connect(inputs: Int) {}
    public func handle(_ request: OperatorRequest) -> TransportOutcome {
        TransportOutcome(applied: false, action: request.verb, reason: "this task takes no requests")
    }
}

/// The result of processing one batch.
public struct OperatorOutput {
    /// The batch for the next task, or nil when nothing goes on (a sink, or everything filtered).
    public var batch: Batch?
    /// Records removed on purpose (filtered, rejected as malformed) so that in = out + filtered holds.
    public var filtered: Int
    /// The task's latest result as an immutable value (analytics results), published in the engine's
    /// snapshot so that readers never touch the live operator; nil leaves the previous one.
    public var published: (any Sendable)?

    /// Creates an output.
    public init(batch: Batch?, filtered: Int = 0, published: (any Sendable)? = nil) {
        self.batch = batch
        self.filtered = filtered
        self.published = published
    }
}

/// Where the pipeline's batches come from. Called from the engine's source thread only, except `stop`.
public protocol StreamSource: AnyObject {
    /// Blocks until a batch is available; nil at the end of the input.
    func next() throws -> Batch?
    /// Makes a waiting `next` return nil soon (any thread).
    func stop()
    /// Applies a transport command (called by the engine while it applies its mailbox, lock held: it must
    /// not call back into the engine). Sources without a transport refuse.
    func control(_ command: TransportCommand) -> TransportOutcome
    /// The payload type of its batches (nil: not declared).
    var gives: (any BatchPayload.Type)? { get }
}

extension StreamSource {
    public var gives: (any BatchPayload.Type)? { nil }
    public func control(_ command: TransportCommand) -> TransportOutcome {
        TransportOutcome(applied: false, action: "transport unchanged", reason: "the input is not a paced replay")
    }
}
