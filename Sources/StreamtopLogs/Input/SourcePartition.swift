/// Where a block's lines come from in a partitioned source (a Kafka topic), so that event time can be
/// tracked per partition.
///
/// A topic's partitions are read interleaved, each in its own order: one partition may be read minutes
/// of event time ahead of another. If event time were the newest seen over all of them, the records of
/// the partition read later would all count as late. With this tag, the tasks keep the newest event time
/// per partition and let the watermark pass only as far as the slowest partition still being read (the
/// way Flink takes the minimum over its inputs' watermarks).
public struct SourcePartition: Sendable, Equatable {
    /// The partition every line of the block comes from.
    public let id: Int
    /// The partitions whose records may still hold event time back: those not yet read to their end. A
    /// partition read to its end (a replay's), or caught up and quiet for a while (a live topic's), is
    /// left out, so that it does not stop windows closing (Flink's idle inputs).
    public let open: [Int]
    /// The offset in the partition of each line of the block (a Kafka message is one line), so that a
    /// rejected line is named by partition and offset; empty when not known.
    public let offsets: [Int64]
    /// The offset of the block's first message (-1 when not known): where a resume reads it again from.
    public let from: Int64
    /// The source's claim on the block's offsets (a Kafka group's source; nil otherwise): event-time tasks
    /// keep it while a window holds the block's records (see `CommitHold`).
    public let hold: CommitHold?
    /// Non-zero when the partition came to this reader by a rebalance, after it had read others: its records
    /// may be behind the windows already closed here (another member read it up to a kill). Each such
    /// assignment has its own number, so that a partition given back later starts over.
    public let takeover: Int
    /// Per event-time task, the event time through which the group member that read the partition before
    /// had written its windows (from the group's commit): windows ending there or before are not written
    /// again. Empty when not known.
    public let floors: [String: Int64]
    /// Whether the group's broker keeps the floors stored with commits (checked by reading one back):
    /// only then may a task hold offsets for records of windows already written (see
    /// `EventTimeWindows.holdAfterEnd`), since the reader next must pass over those windows.
    public let floorsKept: Bool

    /// Tags lines of partition `id`, with `open` the partitions still being read, `offsets` the lines' and
    /// `from` the first message's.
    public init(id: Int, open: [Int], offsets: [Int64] = [], from: Int64 = -1, hold: CommitHold? = nil, takeover: Int = 0, floors: [String: Int64] = [:], floorsKept: Bool = false) {
        self.id = id
        self.open = open
        self.offsets = offsets
        self.from = from
        self.hold = hold
        self.takeover = takeover
        self.floors = floors
        self.floorsKept = floorsKept
    }
}
