/// Hands out a partitioned source's blocks in event-time order across its partitions, for a paced replay.
///
/// A Kafka client delivers a topic partition by partition (a fetch of one, then of the next), so a paced
/// replay of a four-partition topic showed one partition's hour, then the next one's: the pacer's clock
/// ran ahead on the first and everything of the others was late. This source reads ahead until every
/// partition still being read has a block waiting, then hands out the block whose first line is the
/// oldest — a k-way merge, as a stream processor's source merges its splits by watermark. What it holds
/// is bounded (`maxHeldBlocks`): past that it hands out the oldest it has rather than read on.
public final class PartitionMerge: WrappingLineSource, ResumableLineSource, PartitionedSource {
    private let upstream: LineSource
    private let timeOf: ReplayPacer.TimeReader
    /// Blocks read but not yet handed out, per partition, in their partition's order.
    private var held: [Int: [LineBlock]] = [:]
    private var heldCount = 0
    /// The partitions still being read, as the newest block said.
    private var open: Set<Int>?
    private var ended = false
    /// Most blocks held across partitions (blocks of a paced replay hold at most 64 messages).
    public var maxHeldBlocks = 2048

    /// Merges `upstream`'s partitions, reading each block's first event time with `timeOf`.
    public init(_ upstream: LineSource, timeOf: @escaping ReplayPacer.TimeReader) {
        self.upstream = upstream
        self.timeOf = timeOf
    }

    public var source: LineSource { upstream }
    public var label: String { upstream.label }
    public func stop() { upstream.stop() }
    public var partitionStatus: PartitionStatus { (upstream as? PartitionedSource)?.partitionStatus ?? PartitionStatus() }

    public func nextBlock() throws -> LineBlock? {
        while !ended && heldCount < maxHeldBlocks && waitingFor() {
            guard let block = try upstream.nextBlock() else {
                ended = true
                break
            }
            guard let p = block.partition else { return block }  // nothing to merge by
            open = Set(p.open)
            held[p.id, default: []].append(block)
            heldCount += 1
        }
        // The oldest head; a block without a readable time goes first (it holds nothing back).
        var best: (partition: Int, time: Int64)?
        for (p, blocks) in held {
            guard let head = blocks.first else { continue }
            let t = firstTime(head) ?? .min
            if best == nil || t < best!.time || (t == best!.time && p < best!.partition) { best = (p, t) }
        }
        guard let best else { return nil }
        let block = held[best.partition]!.removeFirst()
        heldCount -= 1
        return block
    }

    /// Whether a partition still being read has no block waiting (so the oldest cannot be told yet).
    private func waitingFor() -> Bool {
        guard let open else { return true }
        return open.contains { held[$0]?.isEmpty ?? true }
    }

    /// The event time of the block's first line that has one.
    private func firstTime(_ block: LineBlock) -> Int64? {
        let base = block.base
        var start = 0
        for _ in 0..<8 where start < block.count {
            var stop = start
            while stop < block.count && base[stop] != 0x0A { stop += 1 }
            if stop > start, let t = timeOf(base, start, stop) { return t }
            start = stop + 1
        }
        return nil
    }

    // MARK: - Checkpoints

    public var isResumable: Bool { (upstream as? ResumableLineSource)?.isResumable ?? false }

    /// The upstream's positions, each partition's taken back to where its handed-out lines end: blocks
    /// held here were read but not processed, and a resume must read them again.
    public func positions() -> [FilePosition] {
        guard let inner = upstream as? ResumableLineSource else { return [] }
        return inner.positions().map { pos in
            guard let first = held[pos.index]?.first?.partition, first.from >= 0 else { return pos }
            var p = pos
            p.offset = first.from
            return p
        }
    }

    public func resume(at positions: [FilePosition]) throws -> String {
        guard let inner = upstream as? ResumableLineSource else { return "from the start" }
        return try inner.resume(at: positions)
    }

    public func describe(_ positions: [FilePosition]) -> String {
        (upstream as? ResumableLineSource)?.describe(positions) ?? ""
    }
}

/// A source that hands out another one's lines (a pacer, a merge).
public protocol WrappingLineSource: LineSource {
    /// The source it reads.
    var source: LineSource { get }
}

extension LineSource {
    /// The input under any pacers and merges.
    public var innermost: LineSource { (self as? WrappingLineSource)?.source.innermost ?? self }
}
