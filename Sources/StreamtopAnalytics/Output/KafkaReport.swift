import StreamtopLogs

/// A Kafka input's partitions and lag, as the headless report and snapshot lines give them (`"kafka"`).
public struct KafkaReport: Encodable, Sendable {
    /// Partitions this instance read last.
    public var partitions: [Int32]
    /// Messages processed behind each partition's end (same order; null while unknown).
    public var lag: [Int64?]
    public var total_lag: Int64
    /// UTC time since when no broker answers, if none does.
    public var unreachable_since: String?
    /// Messages with no bytes (no line).
    public var empty_messages: Int

    /// The report of a status.
    public init(_ s: PartitionStatus) {
        partitions = s.partitions
        lag = s.lag
        total_lag = s.totalLag
        unreachable_since = s.unreachableSince.map { LogTime.iso8601(Int64($0)) }
        empty_messages = s.emptyMessages
    }
}
