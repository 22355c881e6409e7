import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Base of the stateful analytics tasks (windows, groups, top-K, distinct counts, sessions): keyed,
/// partitioned state that several workers can run, with results that depend only on the input.
///
/// The state is split into a fixed number of partitions (`partitions`, chosen by the pipeline, not by the
/// worker count). Each record goes to the partition its key hashes to (`partitionHash`), so each key has
/// one owner. A partition takes its share of each batch in source order (batches carry the source sequence;
/// those that arrive early wait their turn), so per key the records come in source order. Any worker that
/// runs the task routes its batch, then drains whichever partitions no other worker holds: up to
/// `partitions` workers work at once, and a partition is never run by two. Results are merged from the
/// partitions in a fixed order, so they are byte-identical for 1, 2 or 4 workers, at any replay speed,
/// through pauses and reallocations. Batches pass through unchanged.
///
/// Subclasses override `partitionHash` (unless one partition), `consume` and `close`.
open class OrderedOperator: StreamOperator, CheckpointableOperator {
    /// One partition: its waiting slices, and the lock its draining worker holds.
    private final class Lane {
        /// Which partition it is.
        let index: Int
        init(index: Int) { self.index = index }
        struct Inbox {
            var slices: [Int: PartitionSlice] = [:]
            var next = 0
        }
        let inbox = Locked(Inbox())
        /// Held by the one worker consuming this partition's slices.
        let owner = NSLock()
        /// Event time per source partition (read and written under `owner`).
        var clock = PartitionEventClock()
        /// When the draining worker last copied the partition's open whole-input state (under `owner`).
        var copiedAt: UInt64 = 0
        /// That copy, for the ticker: never changed once made.
        let copy = Locked<AnyObject?>(nil)

        /// Stamps a slice of a partitioned source's block with how far its records may move the watermark
        /// (the caller holds `owner`); other slices pass unchanged.
        func stamp(_ slice: PartitionSlice) -> PartitionSlice {
            guard let tag = slice.block.lines.partition else { return slice }
            var s = slice
            (s.floor, s.batchNewest) = clock.take(tag, blockNewest: slice.blockNewest)
            return s
        }

        /// The next slice in order, if it has arrived.
        func take() -> PartitionSlice? {
            inbox.withLock { i in
                guard let s = i.slices.removeValue(forKey: i.next) else { return nil }
                i.next += 1
                return s
            }
        }

        var hasNext: Bool { inbox.withLock { $0.slices[$0.next] != nil } }
        var backlog: Int { inbox.withLock { $0.slices.count } }
    }

    private let lanes: [Lane]
    /// Signalled when a partition took a slice, for workers waiting for a backlog to shrink.
    private let progress = NSCondition()
    private let finished = Locked(false)
    /// The task's name (results say which task produced them).
    public let name: String
    /// Where results go (nil: kept for the caller only).
    public let sink: ResultSink?
    /// Partitions of the state.
    public let partitions: Int
    private let latestLock = Locked<[ResultRow]>([])
    /// A whole-input task's table so far, built by the ticker from the partitions' copies (empty for a
    /// windowed task, and once the final table is written), with how many copies it was built from.
    private let soFar = Locked<(rows: [ResultRow], copies: Int, at: UInt64, pause: UInt64)>(([], 0, 0, 0))
    /// Copies of open whole-input state made so far (moves when the ticker has something to rebuild).
    private let copiesMade = Atomic<Int>(0)
    /// Slices a partition may have waiting before a worker that routed more waits for it to catch up
    /// (bounds memory when one partition is slower than the others).
    private static let maxBacklog = 8
    /// Drill-downs into the task's records (`focus in TASK where …`, Enter on a group row): one breakdown
    /// per worker slot, each taken under its own lock once a block and only while one is open, merged
    /// for the published result by the engine's ticker (`refreshResult`).
    private let drill: DrillDownControl
    private let drillSlots: [Locked<DrillDown?>]
    /// Blocks added to a breakdown so far, and what was last published of it (with those two numbers).
    private let drillAdded = Atomic<Int>(0)
    private let drillShown = Locked<(generation: Int, added: Int, at: UInt64, summary: DrillDownSummary?)>((0, 0, 0, nil))

    /// Inputs of the task (more than one: a union), and the shares of source blocks still waiting for
    /// the other inputs' (at most a queue's worth per input: each input hands on one batch per block).
    private var inputs = 1
    private let unionWaiting = Locked<[Int: [ParsedBlock?]]>([:])

    /// Creates the operator with `partitions` partitions (at least 1).
    public init(name: String, sink: ResultSink?, partitions: Int = 1) {
        self.name = name
        self.sink = sink
        self.partitions = max(1, partitions)
        lanes = (0..<self.partitions).map { Lane(index: $0) }
        drill = DrillDownControl(task: name)
        drillSlots = (0..<self.partitions).map { _ in Locked(nil) }
    }

    public var maxParallelism: Int { partitions }
    public var takes: (any BatchPayload.Type)? { ParsedBlock.self }

    /// The hash of the record's key, which picks its partition (records with equal keys must hash
    /// equally); `forEachRecord` hands it to `consume`, so the task need not hash the key again.
    open func partitionHash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 { 0 }

    public func connect(inputs: Int) { self.inputs = max(1, inputs) }

    /// For an event-time task: the event time through which its windows with records of source partition
    /// `sourcePartition` were written (see `PartitionedWindows.emittedThrough`); nil otherwise.
    open func emittedThrough(sourcePartition: Int) -> Int64? { nil }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        var block = batch.payload(as: ParsedBlock.self)
        var sequence = batch.sequence
        if inputs > 1 {
            // A union: each input's share of source block k comes as k × inputs + input. The shares wait
            // for each other and go on as one block k, merged by event time, so the state sees one stream
            // in one order whatever the order the inputs' batches arrive in.
            let (k, input) = (batch.sequence / inputs, batch.sequence % inputs)
            let complete = unionWaiting.withLock { waiting -> [ParsedBlock]? in
                var shares = waiting[k] ?? Array(repeating: nil, count: inputs)
                shares[input] = block
                guard shares.allSatisfy({ $0 != nil }) else {
                    waiting[k] = shares
                    return nil
                }
                waiting[k] = nil
                return shares.map { $0! }
            }
            guard let complete else { return OperatorOutput(batch: passedOn(batch), published: result()) }
            block = ParsedBlock.union(complete)
            sequence = k
        }
        if drill.isOpen { addToDrillDown(block, slot: slot) }
        for slice in route(block, sequence: sequence) {
            lanes[slice.partition].inbox.withLock { i in
                // The engine numbers every batch a task gets apart (a union's inputs too): a sequence seen
                // twice would silently replace a block's records, so it stops the program instead.
                precondition(i.slices[slice.sequence] == nil && slice.sequence >= i.next, "task \(name) got block \(slice.sequence) twice")
                i.slices[slice.sequence] = slice
            }
        }
        drainAll(from: slot)
        // The result so far, as a value the engine publishes (rows are shared, not copied).
        return OperatorOutput(batch: passedOn(batch), published: result())
    }

    /// What goes on is what came in. With several partitions (or after a union, whose merged block may
    /// share these lines), another worker may still be reading the block: later tasks must not change it
    /// in place.
    private func passedOn(_ batch: Batch) -> Batch {
        partitions > 1 || inputs > 1 ? batch.derived(payload: batch.payload, records: batch.records, shared: true) : batch
    }

    /// Splits a block into one slice per partition (empty slices too: each partition sees every sequence).
    private func route(_ block: ParsedBlock, sequence: Int) -> [PartitionSlice] {
        guard partitions > 1 else {
            // A partitioned source's block needs its newest event time (for the source partition's clock);
            // so does one a filter dropped records from (the watermark moves to it at the block's end).
            var m = block.tailNewest
            if block.lines.partition != nil { for r in block.records where r.time > m { m = r.time } }
            return [PartitionSlice(partition: 0, sequence: sequence, block: block, indices: nil, routing: nil, blockNewest: m)]
        }
        let n = block.records.count
        var indices = [[Int32]](repeating: [], count: partitions)
        for p in 0..<partitions { indices[p].reserveCapacity(n / partitions + n / (4 * partitions) + 8) }
        var newest = [Int64](repeating: 0, count: n)
        var hashes = [UInt64](repeating: 0, count: n)
        var m = Int64.min
        let base = block.lines.base
        let count = UInt64(partitions)
        block.records.withUnsafeBufferPointer { records in
            for i in 0..<n {
                let r = records[i]
                let h = partitionHash(r, base)
                // The high bits: the tables use the low ones, so keys of one partition still spread there.
                let p = Int(((h >> 32) &* count) >> 32)
                indices[p].append(Int32(i))
                let t = block.newest?[i] ?? r.time
                if t > m { m = t }
                newest[i] = m
                hashes[i] = h
            }
        }
        m = max(m, block.tailNewest)
        let shared = PartitionSlice.Routing(newest: newest, hashes: hashes)
        return (0..<partitions).map {
            PartitionSlice(partition: $0, sequence: sequence, block: block, indices: indices[$0], routing: shared, blockNewest: m)
        }
    }

    /// Consumes the waiting slices of every partition no other worker holds, starting at a different one
    /// per worker; then, while some partition's backlog is long and another worker is working it, waits
    /// for it to catch up (never while holding a partition, so waits cannot deadlock).
    private func drainAll(from slot: Int) {
        while true {
            for i in 0..<partitions { drain(lanes[(slot + i) % partitions]) }
            guard let busy = lanes.first(where: { $0.backlog > Self.maxBacklog && $0.hasNext }) else { return }
            progress.lock()
            if busy.backlog > Self.maxBacklog { _ = progress.wait(until: Date(timeIntervalSinceNow: 0.002)) }
            progress.unlock()
        }
    }

    /// Consumes a partition's slices in order while this worker can hold it. After letting go it looks
    /// again: a slice may have arrived between its last look and the release, when the worker that added
    /// it found the partition held.
    private func drain(_ lane: Lane) {
        while lane.owner.try() {
            var took = false
            while let slice = lane.take() {
                consume(lane.stamp(slice))
                took = true
            }
            if took { copyOpenIfDue(lane) }
            lane.owner.unlock()
            if took {
                progress.lock()
                progress.broadcast()
                progress.unlock()
            }
            guard lane.hasNext else { return }
        }
    }

    /// The latest result as an immutable value: while a whole-input task runs, its table so far.
    public func result() -> AnalyticsResult {
        let rows = latestRows()
        let partial = rows.isEmpty && !finished.withLock({ $0 }) ? soFar.withLock { $0.rows } : []
        return AnalyticsResult(
            rows: partial.isEmpty ? rows : partial, live: liveFigures(), drillDown: drillShown.withLock { $0.summary },
            soFar: !partial.isEmpty)
    }

    // MARK: - A whole-input table so far

    /// A copy of the partition's open whole-input state, or nil (a windowed task, or nothing yet). Called
    /// by the worker holding the partition, at most once a second: the table so far is shown while the run
    /// goes on (a group-by over the whole input had no rows until the end, so none could be drilled into).
    open func openCopy(partition: Int) -> AnyObject? { nil }

    /// The rows of the partitions' copies taken together (the ticker: never while a worker changes them).
    open func openRows(_ copies: [AnyObject]) -> [ResultRow] { [] }

    /// Whether anyone can see a whole-input table before the end (a dashboard, `--listen`, `--snapshots`):
    /// when not, the workers take no copies of it. Set before the engine starts.
    public var showsTableSoFar = true

    /// Copies the partition's open state for the ticker, once a second (the worker holds `lane.owner`).
    private func copyOpenIfDue(_ lane: Lane) {
        guard showsTableSoFar else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now &- lane.copiedAt >= 1_000_000_000 || lane.copiedAt == 0 else { return }
        lane.copiedAt = now
        guard let copy = openCopy(partition: lane.index) else { return }
        lane.copy.withLock { $0 = copy }
        copiesMade.add(1, ordering: .releasing)
    }

    /// Rebuilds the table so far from the partitions' latest copies when one is newer (the ticker).
    /// At most once a second, and never for more than a tenth of the time (merging and sorting many groups
    /// costs real time).
    private func refreshSoFar() -> Bool {
        let made = copiesMade.load(ordering: .acquiring)
        let now = DispatchTime.now().uptimeNanoseconds
        let last = soFar.withLock { ($0.copies, $0.at, $0.pause) }
        guard made != last.0, now &- last.1 >= last.2, !finished.withLock({ $0 }) else { return false }
        let rows = openRows(lanes.compactMap { lane in lane.copy.withLock { $0 } })
        let spent = DispatchTime.now().uptimeNanoseconds &- now
        soFar.withLock { $0 = (rows, made, now, max(1_000_000_000, 10 * spent)) }
        return true
    }

    // MARK: - Drill-down

    /// `focus where EXPRESSION` opens a drill-down on the task's records that the expression selects
    /// (the records the task reads, after its branch's filters and maps); `focus` alone closes it.
    /// Called on the engine's thread: it never waits for a worker.
    public func handle(_ request: OperatorRequest) -> TransportOutcome {
        drill.handle(request)
    }

    private func addToDrillDown(_ block: ParsedBlock, slot: Int) {
        let g = drill.generation
        drillSlots[slot % drillSlots.count].withLock { d in
            // A breakdown made from a setting newer than the number read is kept (see AggregateOperator).
            if (d?.generation ?? -1) < g { d = drill.make() }
            d?.add(block)
        }
        drillAdded.add(1, ordering: .releasing)
    }

    /// The task's result with its drill-down brought up to date, when it changed: at once after a
    /// request, else at most once a second while blocks come (merging the slots' tables costs real time).
    /// Only the engine's ticker calls it.
    public func refreshResult() -> (any Sendable)? {
        let rebuilt = refreshSoFar()
        let g = drill.generation
        let added = drillAdded.load(ordering: .acquiring)
        let now = DispatchTime.now().uptimeNanoseconds
        let shown = drillShown.withLock { $0 }
        guard shown.generation != g || (shown.added != added && now &- shown.at >= 1_000_000_000) else { return rebuilt ? result() : nil }
        var summary: DrillDownSummary?
        let s = drill.current
        if let focus = s.focus {
            let total = DrillDown(focus, generation: s.generation, since: s.since)
            for slot in drillSlots {
                slot.withLock { d in
                    if let d, d.generation == total.generation { total.merge(d) }
                }
            }
            summary = total.summary(top: 100, wholeRun: nil)
        } else {
            // Closed: the slots' tables go now, not at the next drill-down (but not one opened since).
            for slot in drillSlots { slot.withLock { if let d = $0, d.generation <= s.generation { $0 = nil } } }
        }
        drillShown.withLock { $0 = (g, added, now, summary) }
        return result()
    }

    /// Live figures between results (sessions: active users and visits); none by default.
    open func liveFigures() -> [AnalyticsResult.LiveFigure] { [] }

    /// The rows of the latest result (the whole-input result once the input has ended).
    public func latestRows() -> [ResultRow] { latestLock.withLock { $0 } }

    /// Keeps rows as the latest result and writes them to the sink.
    public func publish(_ rows: [ResultRow], write: Bool = true) {
        latestLock.withLock { $0 = rows }
        if write { sink?.write(rows) }
    }

    /// Takes one partition's records of one block, in source order (called for every block and partition,
    /// in order of sequence, by one worker at a time per partition).
    open func consume(_ slice: PartitionSlice) {}

    /// Calls `body` with each record of the slice, the newest event time in source order up to it, and its
    /// `partitionHash` (computed once: when routing with several partitions, else here).
    @inline(__always)
    public func forEachRecord(_ slice: PartitionSlice, _ body: (ParsedRecord, Int64, UInt64) -> Void) {
        slice.block.records.withUnsafeBufferPointer { records in
            let floor = slice.floor
            guard let indices = slice.indices, let routing = slice.routing else {
                let base = slice.block.lines.base
                if let times = slice.block.newest {
                    for i in records.indices { body(records[i], min(times[i], floor), partitionHash(records[i], base)) }
                } else {
                    for r in records { body(r, min(r.time, floor), partitionHash(r, base)) }
                }
                return
            }
            routing.newest.withUnsafeBufferPointer { times in
                routing.hashes.withUnsafeBufferPointer { hashes in
                    for i in indices { body(records[Int(i)], min(times[Int(i)], floor), hashes[Int(i)]) }
                }
            }
        }
    }

    /// `forEachRecord` that also hands the hash of the record `lookahead` records ahead to `far`, and of
    /// the one half as far ahead to `near`, before each record: a task whose state is a table keyed by the
    /// hash starts bringing the record's place into the cache there (`far`: its slot; `near`, once the
    /// slot is in: its entry), so the misses of many records overlap instead of each lookup waiting for
    /// its own. Hashes are computed once, as in `forEachRecord`.
    @inline(__always)
    public func forEachRecord(_ slice: PartitionSlice, far: (UInt64) -> Void, near: (UInt64) -> Void, _ body: (ParsedRecord, Int64, UInt64) -> Void) {
        let lookahead = Self.lookahead
        slice.block.records.withUnsafeBufferPointer { records in
            let floor = slice.floor
            if let indices = slice.indices, let routing = slice.routing {
                routing.newest.withUnsafeBufferPointer { times in
                    routing.hashes.withUnsafeBufferPointer { hashes in
                        for k in indices.indices {
                            if k + lookahead < indices.count { far(hashes[Int(indices[k + lookahead])]) }
                            if k + lookahead / 2 < indices.count { near(hashes[Int(indices[k + lookahead / 2])]) }
                            let i = Int(indices[k])
                            body(records[i], min(times[i], floor), hashes[i])
                        }
                    }
                }
                return
            }
            // Unrouted: the hashes of the next `lookahead` records are kept in a ring.
            let base = slice.block.lines.base
            let times = slice.block.newest
            let n = records.count
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: lookahead) { ring in
                for j in 0..<min(lookahead, n) {
                    ring[j] = partitionHash(records[j], base)
                    far(ring[j])
                }
                for i in 0..<n {
                    let h = ring[i % lookahead]
                    if i + lookahead < n {
                        let ahead = partitionHash(records[i + lookahead], base)
                        ring[i % lookahead] = ahead
                        far(ahead)
                    }
                    if i + lookahead / 2 < n { near(ring[(i + lookahead / 2) % lookahead]) }
                    let r = records[i]
                    body(r, min(times?[i] ?? r.time, floor), h)
                }
            }
        }
    }

    /// How far ahead `forEachRecord(_:far:near:_:)` looks: enough records for their misses to overlap,
    /// few enough that what they brought in is still cached when they come.
    static var lookahead: Int { 16 }

    /// Emits what is still open at the end of the input.
    open func close() {}

    // MARK: - Checkpoints

    /// The operator's kind and every setting that shapes its state (subclasses add theirs).
    open var stateShape: String { "\(type(of: self)) partitions=\(partitions)" }

    /// Writes the operator's windows (subclasses).
    open func saveWindows(_ w: inout StateWriter) {}

    /// Restores the operator's windows (subclasses).
    open func restoreWindows(_ r: inout StateReader) throws {}

    /// Writes where each partition stands in the block sequence, the latest result, the sink's state and
    /// the windows (the pipeline is quiet: every slice routed has been consumed).
    public func saveState(_ w: inout StateWriter) {
        w.numbers(lanes.map { lane in Int64(lane.inbox.withLock { $0.next }) })
        w.rows(latestRows())
        w.bool(sink != nil)
        sink?.saveState(&w)
        w.section { saveWindows(&$0) }
        // Every partition took the same blocks, so their clocks agree: one is saved.
        lanes[0].owner.lock()
        lanes[0].clock.save(&w)
        lanes[0].owner.unlock()
    }

    /// Restores a saved state; the sink cuts its results file back to the checkpoint.
    public func restoreState(_ r: inout StateReader) throws {
        let next = try r.numbers(Int64.self)
        try r.check(next.count == lanes.count, "the partition count differs")
        for (lane, n) in zip(lanes, next) {
            lane.inbox.withLock { i in
                i.next = Int(n)
                i.slices = [:]
            }
        }
        let rows = try r.rows()
        latestLock.withLock { $0 = rows }
        let hasSink = try r.bool()
        try r.check(hasSink == (sink != nil), "the checkpoint \(hasSink ? "has" : "lacks") a results sink for task \(name)")
        try sink?.restoreState(&r)
        try r.section("windows of \(name)") { try restoreWindows(&$0) }
        var clock = PartitionEventClock()
        try clock.restore(&r)
        for lane in lanes {
            lane.owner.lock()
            lane.clock = clock
            lane.owner.unlock()
        }
    }

    /// Cuts the results file back to the checkpoint.
    public func commitRestore() throws { try sink?.commitRestore() }

    /// Ends the task: consumes slices still waiting, emits everything open, finishes the sink, and returns
    /// the final result. Runs once (later calls only return the result); the engine calls it at the end of
    /// the input (or after a shutdown), when no worker runs the task.
    @discardableResult
    public func finish() -> (any Sendable)? {
        let first = finished.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            for lane in lanes {
                let rest = lane.inbox.withLock { i -> [PartitionSlice] in
                    defer { i.slices.removeAll() }
                    return i.slices.keys.sorted().map { i.slices[$0]! }
                }
                lane.owner.lock()
                for slice in rest { consume(lane.stamp(slice)) }
                lane.owner.unlock()
            }
            close()
            sink?.finish()
            for lane in lanes { lane.copy.withLock { $0 = nil } }
        }
        return result()
    }
}

/// One partition's records of one block: the records whose key hashes to the partition, in source order.
public struct PartitionSlice: @unchecked Sendable {
    /// Per record of a block: the newest event time in source order up to it, and its key's hash (shared
    /// by the block's slices).
    final class Routing {
        let newest: [Int64]
        let hashes: [UInt64]
        init(newest: [Int64], hashes: [UInt64]) {
            self.newest = newest
            self.hashes = hashes
        }
    }

    /// The partition.
    public let partition: Int
    /// The block's position in the source.
    public let sequence: Int
    /// The block.
    public let block: ParsedBlock
    /// Indices of this partition's records in `block.records` (nil: all of them).
    let indices: [Int32]?
    let routing: Routing?
    /// The newest event time in the whole block.
    let blockNewest: Int64
    /// The event time every partition's watermark moves to at the block's end: the block's newest, or for
    /// a partitioned source's block, as far as its slowest open partition allows (see `SourcePartition`).
    public internal(set) var batchNewest: Int64
    /// For a partitioned source's block: the slowest other open partition's newest event time, which no
    /// record of this block moves the watermark past (`Int64.max`: no limit).
    public internal(set) var floor = Int64.max

    init(partition: Int, sequence: Int, block: ParsedBlock, indices: [Int32]?, routing: Routing?, blockNewest: Int64) {
        self.partition = partition
        self.sequence = sequence
        self.block = block
        self.indices = indices
        self.routing = routing
        self.blockNewest = blockNewest
        // Without several partitions each record moves the watermark itself: nothing more at the end, unless
        // a filter dropped records after the last one kept.
        batchNewest = routing == nil ? block.tailNewest : blockNewest
    }

    /// Calls `body` with each record of the slice and the newest event time in source order up to it (for
    /// the watermark: the records of other partitions count too).
    @inline(__always)
    public func forEach(_ body: (ParsedRecord, Int64) -> Void) {
        let floor = self.floor
        block.records.withUnsafeBufferPointer { records in
            guard let indices, let routing else {
                if let times = block.newest {
                    for i in records.indices { body(records[i], min(times[i], floor)) }
                } else {
                    for r in records { body(r, min(r.time, floor)) }
                }
                return
            }
            routing.newest.withUnsafeBufferPointer { times in
                for i in indices { body(records[Int(i)], min(times[Int(i)], floor)) }
            }
        }
    }
}
