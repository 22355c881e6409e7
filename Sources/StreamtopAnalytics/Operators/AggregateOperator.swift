import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Keeps the report's aggregates. Each worker slot has its own aggregates, so several workers can run
/// this task without sharing state; a slot's lock is only contended when a reader takes a summary.
public final class AggregateOperator: StreamOperator {
    private final class Slot {
        let state = Locked(AccessAggregate())
        /// Claimed by the worker adding to it (a reader takes only the lock).
        let claimed = Atomic<Bool>(false)
    }
    private let slots: [Slot]
    /// Blocks added so far: a summary is recomputed only when this moved (merging millions of keys is
    /// costly).
    private let version = Atomic<Int>(0)
    private let cached = Locked<(version: Int, top: Int, summary: AccessSummary)?>(nil)
    /// The drill-down asked for last. Each worker takes it up at its next block, under its slot's lock.
    private let drill = DrillDownControl(task: nil)
    /// Held by whatever reads or rewrites several slots at once: a summary, a checkpoint, the fold. A fold
    /// moves one slot's records into another, so a reader that took the first slot before a fold and the
    /// second after it saw neither copy of them (a paced replay's final report lost ~2.5 % of its lines
    /// this way, and a checkpoint taken meanwhile lost them for good). Workers never take it: each holds
    /// one slot's lock, so the hot path is unchanged.
    private let together = NSLock()
    /// Called by a reader after each slot it read (tests: to fold in between).
    var afterReadingSlot: ((Int) -> Void)?
    /// Per source index (`LineBlock.fileKey`: and file generation, for a followed file rotated since), the
    /// end of the furthest block a worker has begun: where the input stood for a drill-down opened now.
    /// Its lock also orders a request against the blocks: a block begun after the request read the
    /// positions sees the request (see `process`).
    private let positions = Locked<[Int: Int64]>([:])
    /// Starts a count of what the report read before a drill-down opened (set by the run when its input
    /// can be read again: a replay of files, or followed files not rotated yet); nil leaves a drill-down
    /// counting from when it opens (with the reason, when it cannot).
    public let earlierCount = Locked<(@Sendable (FocusKey, [Int: Int64]) -> Result<DrillDownRecount, DrillDownRecount.Unavailable>)?>(nil)
    /// Why the drill-down of that generation counts only from when it opened (see `earlierCount`).
    private let liveOnly = Locked<(generation: Int, reason: String)?>(nil)
    /// Lines, records and malformed lines counted so far, moved with every block: the dashboard's header
    /// shows them each frame, while the merged summary is rebuilt at most once a second.
    private let linesTotal = Atomic<Int>(0)
    private let recordsTotal = Atomic<Int>(0)
    private let malformedTotal = Atomic<Int>(0)
    /// The count of the earlier part of the drill-down open now, and how often it had published when the
    /// summary was last refreshed.
    private let earlier = Locked<(generation: Int, job: DrillDownRecount, seen: Int)?>(nil)

    /// Creates the operator with one state slot per worker; with a `keyLimit`, each slot keeps at most
    /// about that many distinct paths and clients (see `AccessAggregate.keyLimit`).
    public init(slots: Int, keyLimit: Int = 0) {
        self.slots = (0..<max(1, slots)).map { _ in Slot() }
        for s in self.slots { s.state.withLock { $0.keyLimit = keyLimit } }
    }

    public var maxParallelism: Int { slots.count }
    public var takes: (any BatchPayload.Type)? { ParsedBlock.self }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let parsed = batch.payload(as: ParsedBlock.self)
        // Before the slot takes up a drill-down: a request that read the positions before this (so its
        // boundary is at or past this block's end) is seen by the slot, which then leaves this block to
        // the earlier part's count; one that reads them after set its boundary past this block.
        let lines = parsed.lines
        let end = lines.sourceOffset + Int64(lines.count)
        positions.withLock { p in if p[lines.fileKey] ?? 0 < end { p[lines.fileKey] = end } }
        // The first unclaimed slot, not the worker's own: while one worker at a time runs this task (any
        // live rate a core keeps up with), everything lands in slot 0 and a summary needs no merge; a
        // second worker running it at the same moment takes the next slot. At most `slots.count` workers
        // run it at once, so a slot is always free.
        if let s = slots.first(where: { $0.claimed.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged }) {
            s.state.withLock { takeUpFocus(&$0); $0.add(parsed) }
            s.claimed.store(false, ordering: .releasing)
        } else {
            slots[slot].state.withLock { takeUpFocus(&$0); $0.add(parsed) }
        }
        count(parsed)
        version.add(1, ordering: .releasing)
        return OperatorOutput(batch: batch)
    }

    private func count(_ block: ParsedBlock) {
        linesTotal.add(block.lines.lineCount, ordering: .relaxed)
        recordsTotal.add(block.records.count, ordering: .relaxed)
        malformedTotal.add(block.malformed, ordering: .relaxed)
    }

    /// Lines, records and malformed lines counted so far (as the summary's, but up to date). Any thread.
    public var liveTotals: (lines: Int, records: Int, malformed: Int) {
        (linesTotal.load(ordering: .relaxed), recordsTotal.load(ordering: .relaxed), malformedTotal.load(ordering: .relaxed))
    }

    /// Starts the slot's breakdown of the drill-down asked for last, if it has not yet.
    @inline(__always)
    private func takeUpFocus(_ a: inout AccessAggregate) {
        let g = drill.generation
        guard a.focusGeneration != g else { return }
        // A breakdown of this request or a later one is kept: a fold may have moved one here from the
        // other slot, or the setting read may be newer than the number; replacing it would drop what it
        // counted.
        if (a.drillDown?.generation ?? -1) < g { a.drillDown = drill.make() }
        a.focusGeneration = g
    }

    /// `focus path|client|status KEY` or `focus where EXPRESSION` opens a drill-down: from the next block
    /// on, each slot keeps the records of that key broken down (statuses, paths, clients, serving time,
    /// per minute), published in the summary; `focus` alone closes it. Called on the engine's thread: it
    /// never waits for a worker.
    public func handle(_ request: OperatorRequest) -> TransportOutcome {
        // The earlier part can be counted only where the input is read again (a replay of files, once):
        // only then do blocks before the boundary stay out of the engine's count. Decided under the lock,
        // with the boundary (see `positions`).
        var job: DrillDownRecount?
        var why: String?
        var outcome = positions.withLock { p in
            drill.handle(request) { focus in
                guard !p.isEmpty, let start = earlierCount.withLock({ $0 }) else { return [:] }
                switch start(focus, p) {
                case .success(let j):
                    job = j
                    return p
                case .failure(let u):
                    why = u.reason
                    return [:]
                }
            }
        }
        guard outcome.applied else { return outcome }
        let generation = drill.generation
        liveOnly.withLock { $0 = why.map { (generation, $0) } }
        if let why { outcome.reason = "operator request; counted from now on: \(why)" }
        // Whatever was asked, the count of an earlier drill-down's past is over.
        earlier.withLock { e in
            e?.job.cancel()
            e = job.map { (drill.generation, $0, -1) }
        }
        if let job {
            job.start()
            outcome.reason = "operator request; counted from now on, and what was read before is read again from the input files"
        }
        version.add(1, ordering: .releasing)
        // The next tick publishes it, not a second later (a counter: a refresh under way when the request
        // came sets the pause after it, and would undo a reset pause).
        requests.add(1, ordering: .releasing)
        return outcome
    }

    /// Entries of the top lists in the published summary (the dashboard's analytics view lists this many;
    /// the report and the other views take the first ones: `AccessSummary.limited`).
    public static let publishedTop = 500

    /// When the published summary was last built, and the pause before the next: with millions of distinct
    /// keys a merge costs real time, so it is rebuilt at most once a second (the pace of GoAccess's live
    /// report; engine figures still move ten times a second) and never for more than a tenth of the time. Only the engine's ticker calls `refreshResult`.
    private let refreshClock = Locked<(last: UInt64, interval: UInt64, version: Int, requests: Int)>((0, 0, -1, 0))
    /// Drill-down requests so far: the refresh after one is due at once.
    private let requests = Atomic<Int>(0)

    /// The summary as of now, for the engine's snapshot (nil when nothing changed or too soon).
    public func refreshResult() -> (any Sendable)? {
        let now = DispatchTime.now().uptimeNanoseconds
        // The earlier part's count published: the summary changed as if a block had come.
        let moved = earlier.withLock { e -> Bool in
            guard let p = e?.job.publications, p != e?.seen else { return false }
            e?.seen = p
            return true
        }
        if moved { version.add(1, ordering: .releasing) }
        let asked = requests.load(ordering: .acquiring)
        let v = version.load(ordering: .acquiring)
        let due = refreshClock.withLock { c in c.requests != asked || (c.version != v && now &- c.last >= c.interval) }
        guard due else { return nil }
        // A checkpoint copying the aggregate holds `together`: the ticker goes on publishing the engine's
        // figures meanwhile and takes the summary at a later tick.
        guard together.try() else { return nil }
        together.unlock()
        compact()
        let fresh = summary(top: Self.publishedTop)
        let spent = DispatchTime.now().uptimeNanoseconds &- now
        refreshClock.withLock { $0 = (now, max(1_000_000_000, 10 * spent), v, asked) }
        return fresh
    }

    /// Folds every other filled slot into the first and empties it. Slots fill beyond the first only when
    /// two workers ran this task at the same moment, which at live rates is rare; but once a second slot
    /// holds anything, every summary would merge all keys of both (most of an instance's summary cost at
    /// 20 k lines/s). After a fold the summary reads one slot again, and merging is exact, so nothing
    /// shown changes. Locks are taken first slot first; a worker holds one lock at a time.
    func compact() {
        together.withLock {
            let filled = slots.filter { s in s.state.withLock { $0.lines > 0 } }
            guard let first = filled.first, filled.count > 1 else { return }
            for s in filled.dropFirst() {
                first.state.withLock { target in
                    s.state.withLock { other in
                        target.merge(other)
                        // The breakdown moved with the records: the slot has taken up that request too.
                        target.focusGeneration = max(target.focusGeneration, other.focusGeneration)
                        // A breakdown older than the request the slot has taken up was closed or replaced.
                        if let d = target.drillDown, d.generation < target.focusGeneration { target.drillDown = nil }
                        let limit = other.keyLimit
                        other = AccessAggregate()
                        other.keyLimit = limit
                    }
                }
            }
        }
    }

    /// Slots holding anything (tests).
    var filledSlots: Int { together.withLock { slots.filter { s in s.state.withLock { $0.lines > 0 } }.count } }

    /// Adds a block to a given slot, as a second worker running this task at the same moment would (tests).
    func add(_ batch: Batch, toSlot i: Int) {
        slots[i].state.withLock { takeUpFocus(&$0); $0.add(batch.payload(as: ParsedBlock.self)) }
        count(batch.payload(as: ParsedBlock.self))
        version.add(1, ordering: .releasing)
    }

    /// Stops reading a drill-down's earlier part (the dashboard was closed: nobody will see it), so that
    /// `finish` does not wait for it. Any thread.
    public func cancelEarlierCount() {
        earlier.withLock { $0?.job.cancel() }
    }

    /// The final summary, published when the run ends.
    public func finish() -> (any Sendable)? {
        // A drill-down's earlier part still being read: the final summary waits for it, or it would stay
        // half read (nothing is refreshed after the end). It reads at the run's own speed.
        if let job = earlier.withLock({ $0?.job }) {
            while !job.isOver { usleep(5_000) }
            version.add(1, ordering: .releasing)
        }
        return summary(top: Self.publishedTop)
    }

    /// The merged aggregates of every slot, summarized (cached while nothing was added). Safe from any thread.
    public func summary(top: Int = 10) -> AccessSummary {
        let v = version.load(ordering: .acquiring)
        if let c = cached.withLock({ $0 }), c.version == v, c.top == top { return c.summary }
        let fresh = computeSummary(top: top)
        cached.withLock { $0 = (v, top, fresh) }
        return fresh
    }

    private func computeSummary(top: Int) -> AccessSummary {
        let s = drill.current
        let part = earlier.withLock { e in e.flatMap { $0.generation == s.generation ? $0.job.earlierPart : nil } }
        var (summary, wholeRun, live) = mergedSummary(top: top, focus: s.focus, copyDrillDown: part != nil)
        if let focus = s.focus, let part {
            // What the engine counted from the boundary on, and the earlier part as far as it was read.
            let both = live.flatMap { $0.generation == s.generation ? $0 : nil }
                ?? DrillDown(focus, generation: s.generation, since: s.since, boundary: s.boundary)
            both.merge(part.drill)
            summary.drillDown = both.summary(top: min(top, 100), wholeRun: wholeRun)
            summary.drillDown?.earlier = part.progress
        } else if let focus = s.focus {
            // Only the drill-down asked for last: a slot that has not had a block since it was asked for
            // still holds an earlier one (or none), which reads as an empty breakdown of the current one.
            if summary.drillDown?.generation != s.generation {
                summary.drillDown = DrillDown(focus, generation: s.generation, since: s.since).summary(top: 0, wholeRun: wholeRun)
            }
            summary.drillDown?.liveOnly = liveOnly.withLock { l in l.flatMap { $0.generation == s.generation ? $0.reason : nil } }
        } else {
            summary.drillDown = nil
        }
        return summary
    }

    /// The slots' summary, the focused key's count over the whole run, and (with `copyDrillDown`) a copy
    /// of the slots' drill-down.
    private func mergedSummary(top: Int, focus: FocusKey?, copyDrillDown: Bool) -> (AccessSummary, Int?, DrillDown?) {
        together.withLock {
            let filled = slots.filter { s in s.state.withLock { $0.lines > 0 } }
            if filled.isEmpty { return (AccessSummary.empty, focus.map { _ in 0 }, nil) }
            // One filled slot (one worker, the usual case) is summarised in place: merging it into an
            // empty aggregate first would copy every key for nothing.
            if filled.count == 1 {
                return filled[0].state.withLock { a in
                    (a.summary(top: top), focus.flatMap(a.wholeRun), copyDrillDown ? a.drillDown?.copy() : nil)
                }
            }
            var merged = AccessAggregate()
            for (i, s) in filled.enumerated() {
                s.state.withLock { merged.merge($0) }
                afterReadingSlot?(i)
            }
            return (merged.summary(top: top), focus.flatMap(merged.wholeRun), merged.drillDown)
        }
    }
}

extension AggregateOperator: CheckpointableOperator {
    public var stateShape: String { "aggregate max_keys=\(slots[0].state.withLock { $0.keyLimit })" }

    /// Writes the slots merged into one: a restored run may have another worker count, and merging is
    /// exact (counts add, sketches take maxima), so the report is the same either way.
    public func saveState(_ w: inout StateWriter) {
        var merged = together.withLock {
            var merged = AccessAggregate()
            for (i, s) in slots.enumerated() {
                s.state.withLock { merged.merge($0) }
                afterReadingSlot?(i)
            }
            return merged
        }
        merged.keyLimit = slots[0].state.withLock { $0.keyLimit }
        merged.saveState(&w)
    }

    /// Puts the saved aggregates in the first slot.
    public func restoreState(_ r: inout StateReader) throws {
        var a = AccessAggregate()
        try a.restoreState(&r)
        let limit = slots[0].state.withLock { $0.keyLimit }
        a.keyLimit = limit
        linesTotal.store(a.lines, ordering: .relaxed)
        recordsTotal.store(a.records, ordering: .relaxed)
        malformedTotal.store(a.malformed, ordering: .relaxed)
        together.withLock {
            slots[0].state.withLock { $0 = a }
            for s in slots.dropFirst() { s.state.withLock { $0 = AccessAggregate(); $0.keyLimit = limit } }
        }
        version.add(1, ordering: .releasing)
    }
}
