/// A claim on a source partition's offsets: while anything holds it, the source commits that partition no
/// further than `from`, so that a restarted reader (or the group member taking the partition over) reads
/// the message at `from` again.
///
/// A Kafka group's source hangs one on each block (`SourcePartition.hold`); an event-time task keeps the
/// first one of each partition that reached a window until that window's row is written. So offsets are
/// committed only past records whose effects are out of the process — not merely taken into a window that
/// a kill -9 would lose.
public final class CommitHold: @unchecked Sendable, Equatable {
    /// The source partition.
    public let partition: Int
    /// The offset of the block's first message.
    public let from: Int64
    private let onHold: (Int, Int64) -> Void
    private let onRelease: (Int, Int64) -> Void

    /// A hold of `partition` at `from`, already counted by its source; `onHold` counts another one (`at`),
    /// `onRelease` runs once nothing holds this one any more.
    public init(partition: Int, from: Int64, onHold: @escaping (Int, Int64) -> Void = { _, _ in }, onRelease: @escaping (Int, Int64) -> Void) {
        self.partition = partition
        self.from = from
        self.onHold = onHold
        self.onRelease = onRelease
    }

    deinit { onRelease(partition, from) }

    /// A hold of the same partition at a later message of the block (a window's first record): a reader
    /// resuming there does not read the block's earlier lines again, which belong to windows already
    /// written.
    public func at(_ offset: Int64) -> CommitHold {
        if offset == from { return self }
        onHold(partition, offset)
        return CommitHold(partition: partition, from: offset, onHold: onHold, onRelease: onRelease)
    }

    public static func == (a: CommitHold, b: CommitHold) -> Bool { a === b }
}
