import StreamtopEngine
import StreamtopLogs

/// Event time over the partitions of a partitioned source, as one partition of an ordered task sees it
/// (see `SourcePartition`): the newest event time read from each source partition, and how far the
/// watermark may go.
///
/// Every partition of a task takes every block in source order, so all of them compute the same values:
/// results stay independent of the worker count.
struct PartitionEventClock {
    /// Newest event time per source partition.
    private var newest: [Int: Int64] = [:]

    /// Takes a block of source partition `tag.id` whose newest event time is `blockNewest`. Returns the
    /// floor for its records (the slowest of the other open partitions: a record advances the watermark
    /// to its own time, but not past that) and the event time the watermark may reach at the block's end.
    mutating func take(_ tag: SourcePartition, blockNewest: Int64) -> (floor: Int64, end: Int64) {
        var floor = Int64.max
        for q in tag.open where q != tag.id { floor = min(floor, newest[q] ?? Int64.min) }
        let own = max(newest[tag.id] ?? Int64.min, blockNewest)
        newest[tag.id] = own
        // The block's partition, when still open, holds the watermark back too; a partition read to its
        // end no longer does.
        let end = tag.open.contains(tag.id) || floor == Int64.max ? min(own, floor) : floor
        return (floor, end)
    }

    /// Writes the newest event time of every source partition seen.
    func save(_ w: inout StateWriter) {
        let ids = newest.keys.sorted()
        w.numbers(ids.map(Int64.init))
        w.numbers(ids.map { newest[$0]! })
    }

    /// Reads what `save` wrote.
    mutating func restore(_ r: inout StateReader) throws {
        let ids = try r.numbers(Int64.self)
        let times = try r.numbers(Int64.self)
        try r.check(ids.count == times.count, "the source partitions' event times are cut")
        newest = [:]
        for (id, t) in zip(ids, times) { newest[Int(id)] = t }
    }
}
