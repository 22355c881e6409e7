/// What an input split into partitions (a Kafka topic) says about itself: the partitions this instance
/// reads, how far behind their ends it is, and whether its brokers answer. Read by the dashboard, the
/// metrics endpoint and snapshots from any thread.
public struct PartitionStatus: Sendable, Codable, Equatable {
    /// Partitions this instance reads now, ascending.
    public var partitions: [Int32] = []
    /// Messages processed behind each partition's end (same order as `partitions`; nil while unknown: a
    /// group member before its first message, when only the broker knows where it starts).
    public var lag: [Int64?] = []
    /// Wall-clock time (seconds since 1970) since when no broker answers, if none does.
    public var unreachableSince: Double?
    /// The last problem the client reported, in words.
    public var problem: String?
    /// Messages with no bytes (they hold no line).
    public var emptyMessages: Int = 0

    /// Creates an empty status.
    public init() {}

    /// Messages behind the ends of every partition with a known lag; nil while no partition's is known
    /// (none assigned yet, or a group member before its first message).
    public var totalLag: Int64? {
        let known = lag.compactMap { $0 }
        return known.isEmpty ? nil : known.reduce(0) { $0 + max(0, $1) }
    }
}

/// A source that reads partitions (see `PartitionStatus`).
public protocol PartitionedSource: AnyObject {
    /// The latest status (cheap; safe from any thread).
    var partitionStatus: PartitionStatus { get }
}
