/// The unit of transfer between tasks: a block of records with an operator-defined payload.
///
/// A batch is created by one task and then only read by the next, so it crosses threads without locks.
/// The engine never looks inside `payload`; it only counts `records` and `bytes`.
public final class Batch: @unchecked Sendable {
    /// The data, owned by the operators that produce and consume it (e.g. a block of log lines).
    public let payload: AnyObject
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
    public init(payload: AnyObject, records: Int, bytes: Int, ingestNanos: UInt64) {
        self.payload = payload
        self.records = records
        self.bytes = bytes
        self.ingestNanos = ingestNanos
    }

    /// A new batch with another payload and count, keeping the ingestion time of this one.
    public func derived(payload: AnyObject, records: Int, bytes: Int? = nil) -> Batch {
        let b = Batch(payload: payload, records: records, bytes: bytes ?? self.bytes, ingestNanos: ingestNanos)
        b.sequence = sequence
        b.shared = shared
        return b
    }
}
