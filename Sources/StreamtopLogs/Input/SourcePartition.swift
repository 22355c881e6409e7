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

    /// Tags lines of partition `id`, with `open` the partitions still being read, `offsets` the lines' and
    /// `from` the first message's.
    public init(id: Int, open: [Int], offsets: [Int64] = [], from: Int64 = -1) {
        self.id = id
        self.open = open
        self.offsets = offsets
        self.from = from
    }
}
