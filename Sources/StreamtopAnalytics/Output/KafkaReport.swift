import StreamtopLogs

/// A Kafka input's partitions and lag, as the headless report and snapshot lines give them (`"kafka"`).
public struct KafkaReport: Encodable, Sendable {
    /// Partitions this instance read last.
    public var partitions: [Int32]
    /// Messages processed behind each partition's end (same order; null while unknown).
    public var lag: [Int64?]
    /// Null while no partition's lag is known.
    public var total_lag: Int64?
    /// UTC time since when no broker answers, if none does.
    public var unreachable_since: String?
    /// Messages with no bytes (no line).
    public var empty_messages: Int

    private enum Keys: String, CodingKey { case partitions, lag, total_lag, unreachable_since, empty_messages }

    /// Unknown lag is written as null, not left out: a reader tells "not known yet" from "field missing".
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(partitions, forKey: .partitions)
        try c.encode(lag, forKey: .lag)
        try c.encode(total_lag, forKey: .total_lag)
        try c.encodeIfPresent(unreachable_since, forKey: .unreachable_since)
        try c.encode(empty_messages, forKey: .empty_messages)
    }

    /// The report of a status.
    public init(_ s: PartitionStatus) {
        partitions = s.partitions
        lag = s.lag
        total_lag = s.totalLag
        unreachable_since = s.unreachableSince.map { LogTime.iso8601(Int64($0)) }
        empty_messages = s.emptyMessages
    }
}
