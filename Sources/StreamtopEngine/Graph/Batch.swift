/// What a batch carries: a block of records in a form the tasks at both ends of an edge agree on (lines,
/// parsed records…). Immutable once handed on, hence `Sendable`.
public protocol BatchPayload: AnyObject, Sendable {}

/// The unit of transfer between tasks: a block of records with an operator-defined payload.
///
/// A batch is created by one task and then only read by the next, so it crosses threads without locks.
/// The engine never looks inside `payload`; it only counts `records` and `bytes`. Which payload type
/// flows on each edge is declared by the operators (`StreamOperator.takes`/`gives`) and checked when the
/// graph is built, so `payload(as:)` cannot meet another type at run time.
public final class Batch: @unchecked Sendable {
    /// The data, owned by the operators that produce and consume it (e.g. a block of log lines).
    public let payload: any BatchPayload
    /// Number of records in the batch.
    public let records: Int
    /// Number of bytes the records occupy (for byte rates).
    public let bytes: Int
    /// Monotonic time (ns) at which the source produced the batch, for end-to-end latency.
    public let ingestNanos: UInt64
    /// Position of the batch in the source's output (0, 1, 2…), kept by derived batches, so that an
    /// order-sensitive task can restore source order after data-parallel tasks.
    public internal(set) var sequence: Int = 0
    /// Set when the batch went to several tasks (fan-out): they read the same payload, so none may change
    /// it in place (a map task copies it first). Written before the hand-off, read after it.
    public internal(set) var shared = false

    /// Creates a batch.
    public init(payload: any BatchPayload, records: Int, bytes: Int, ingestNanos: UInt64) {
        self.payload = payload
        self.records = records
        self.bytes = bytes
        self.ingestNanos = ingestNanos
    }

    /// A new batch with another payload and count, keeping the ingestion time of this one. `shared` marks
    /// it as still read by the task that made it (which then passes on the same payload while still using
    /// it, e.g. a partitioned task whose partitions consume it later).
    public func derived(payload: any BatchPayload, records: Int, bytes: Int? = nil, shared: Bool = false) -> Batch {
        let b = Batch(payload: payload, records: records, bytes: bytes ?? self.bytes, ingestNanos: ingestNanos)
        b.sequence = sequence
        b.shared = self.shared || shared
        return b
    }

    /// The payload as the type the task takes (the graph was checked for it when built).
    @inline(__always)
    public func payload<T: BatchPayload>(as type: T.Type) -> T {
        guard let p = payload as? T else {
            preconditionFailure("a \(Swift.type(of: payload)) batch reached a task that takes \(T.self): the graph's edge types were not checked")
        }
        return p
    }
}
