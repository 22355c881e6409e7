import StreamtopEngine
import StreamtopLogs

/// The event-time windows of a partitioned operator (see `OrderedOperator`): one `EventTimeWindows` per
/// partition, each touched only by the worker draining that partition, and the merge of what they close.
///
/// Every partition sees the same watermark at a batch's end (its own records plus the newest event time of
/// the whole batch), so after batch N all partitions have closed the same windows. Once the last partition
/// has passed batch N, the windows closed there are merged across partitions (in partition order) and
/// emitted in order of start, with the late records of every partition reported together. Emission thus
/// depends on the input and the partition count only, never on which worker ran what, or when.
public final class PartitionedWindows<State: AnyObject> {
    private typealias Closed = (start: Int64?, end: Int64?, state: State)

    private final class Part {
        let windows: EventTimeWindows<State>
        /// Windows this partition closed during the current batch.
        var closed: [Closed] = []
        /// Catch-up windows per source partition taken over, with the number of that takeover.
        var catchUp: [Int: (takeover: Int, windows: EventTimeWindows<State>)] = [:]
        /// Per source partition, the takeover whose catch-up is over.
        var caughtUp: [Int: Int] = [:]
        /// Per source partition, the floor it came with (see `SourcePartition.floors`).
        var inherited: [Int: Int64] = [:]
        init(_ windows: EventTimeWindows<State>) { self.windows = windows }
    }

    /// Per batch: what each partition closed, and how many partitions passed it.
    private struct Pending {
        var closed: [[Closed]]
        var late: [Int64: Int] = [:]
        var passed = 0
        /// Commit holds of the windows closed in the batch: let go once their rows are written.
        var holds: [CommitHold] = []
        /// The partitions' watermark at the batch's end, their catch-up windows' (by source partition) and
        /// the floors source partitions came with.
        var watermark = Int64.min
        var catchUp: [Int: Int64] = [:]
        var inherited: [Int: Int64] = [:]
    }

    private struct Merger {
        var pending: [Int: Pending] = [:]
        var next = 0
        /// Late records not reported yet, by the window they are reported with.
        var late: [Int64: Int] = [:]
        /// What the windows emitted so far reach (see `emittedThrough`).
        var emitted = Int64.min
        var catchUp: [Int: Int64] = [:]
        var inherited: [Int: Int64] = [:]
    }

    private let parts: [Part]
    private let make: () -> State
    private let merge: (State, State) -> Void
    private let merger = Locked(Merger())
    /// Receives each merged window in order: start and end (nil: the whole input), state, late records.
    private let emit: (Int64?, Int64?, State, Int) -> Void

    /// `partitions` window sets of `size` seconds every `slide` (see `EventTimeWindows`); `merge` adds the
    /// second state into the first (panes of sliding windows, and partitions); `emit` gets each window.
    public init(partitions: Int, size: Int64?, slide: Int64? = nil, lateness: Int64, merge: @escaping (State, State) -> Void, make: @escaping () -> State, emit: @escaping (Int64?, Int64?, State, Int) -> Void) {
        self.make = make
        self.merge = merge
        self.emit = emit
        parts = (0..<max(1, partitions)).map { _ in
            Part(EventTimeWindows(size: size, slide: slide, lateness: lateness, merge: merge, make: make))
        }
        for part in parts {
            part.windows.onClose = { [unowned part] start, end, state in part.closed.append((start, end, state)) }
        }
    }

    /// Seconds after a window's end its commit holds are kept (see `EventTimeWindows.holdAfterEnd`).
    public var holdAfterEnd: Int64 {
        get { parts[0].windows.holdAfterEnd }
        set { for part in parts { part.windows.holdAfterEnd = newValue } }
    }

    /// The windows' settings, for a checkpoint's shape.
    public var shape: String {
        let w = parts[0].windows
        return "windows=\(w.size.map(String.init) ?? "whole") slide=\(w.slide) lateness=\(w.lateness) partitions=\(parts.count)"
    }

    /// The windows of one partition (only its draining worker may use them).
    public func windows(_ partition: Int) -> EventTimeWindows<State> { parts[partition].windows }

    /// Starts a partition's share of a block and returns the windows its records go to (only the worker
    /// draining that partition may use them until `endBatch`).
    ///
    /// A block of a Kafka group's partition carries a commit hold, which the windows its records reach keep
    /// until they are emitted. A block of a partition taken over from a member that was killed starts where
    /// that member's windows held the group's offsets: its records are behind the windows closed here. Those
    /// records go to catch-up windows that close on the partition's own event time, so the windows the
    /// other member never wrote are written here, whole (with a client-keyed topic, a user's records are all
    /// in one partition, so those rows are the ones one instance would have written). Once the partition
    /// has caught up, its records follow the common windows, and what is late is late.
    public func begin(_ slice: PartitionSlice, task: String) -> EventTimeWindows<State> {
        let part = parts[slice.partition]
        let tag = slice.block.lines.partition
        var floor = Int64.min
        if let tag {
            if let f = tag.floors[task], f > part.inherited[tag.id] ?? .min { part.inherited[tag.id] = f }
            floor = part.inherited[tag.id] ?? .min
        }
        var side: EventTimeWindows<State>?
        if let tag, tag.takeover != 0, part.caughtUp[tag.id] != tag.takeover, !part.windows.usesPanes, part.windows.size != nil {
            if let existing = part.catchUp[tag.id], existing.takeover == tag.takeover {
                side = existing.windows
            } else {
                let w = parts[0].windows
                let made = EventTimeWindows<State>(size: w.size, slide: w.slide, lateness: w.lateness, make: make)
                made.holdAfterEnd = w.holdAfterEnd
                made.keepingHolds = tag.floorsKept
                made.onClose = { [unowned part] start, end, state in part.closed.append((start, end, state)) }
                part.catchUp[tag.id] = (tag.takeover, made)
                side = made
            }
        }
        part.windows.keepingHolds = tag?.floorsKept ?? false
        part.windows.begin(hold: tag?.hold, lines: slice.block.lines, floor: floor, catchUp: side)
        return part.windows
    }

    /// The event time through which windows with records of source partition `sourcePartition` have been
    /// emitted (their rows written): what a Kafka group's commit stores for the member that reads the
    /// partition next (see `SourcePartition.floors`). The catch-up windows of a partition taken over count;
    /// so does a floor the partition came with. Nil for one window over the whole input or sliding panes.
    public func emittedThrough(_ sourcePartition: Int) -> Int64? {
        guard parts[0].windows.size != nil, !parts[0].windows.usesPanes else { return nil }
        return merger.withLock { m in
            let own = min(m.emitted, m.catchUp[sourcePartition] ?? .max)
            return max(own, m.inherited[sourcePartition] ?? .min)
        }
    }

    /// Records that missed a closed window, in every partition (read it once the run has ended).
    public var lateTotal: Int { parts.reduce(0) { $0 + $1.windows.lateTotal } }

    /// Ends a partition's share of a batch: advances its watermark to the batch's newest event time, closes
    /// what that passed, and emits the windows every partition has now closed.
    public func endBatch(_ slice: PartitionSlice) {
        let part = parts[slice.partition]
        part.windows.raise(slice.batchNewest)
        part.windows.close()
        var holds = part.windows.takeReleased()
        if let tag = slice.block.lines.partition, let side = part.catchUp[tag.id] {
            side.windows.raise(slice.blockNewest)
            side.windows.close()
            holds += side.windows.takeReleased()
            if side.windows.openCount == 0 && side.windows.watermark >= part.windows.watermark {
                // Caught up: what comes now is on time here, or late.
                side.windows.keepingHolds = false
                holds += side.windows.takeReleased()
                part.catchUp[tag.id] = nil
                part.caughtUp[tag.id] = side.takeover
            }
        }
        part.windows.begin(hold: nil, catchUp: nil)
        let closed = part.closed
        part.closed.removeAll()
        let late = part.windows.takeLate()
        let count = parts.count
        let mark = part.windows.watermark
        let catchUp = part.catchUp.mapValues { $0.windows.watermark }
        let inherited = part.inherited
        merger.withLock { m in
            var p = m.pending[slice.sequence] ?? Pending(closed: Array(repeating: [], count: count))
            p.closed[slice.partition] = closed
            p.holds += holds
            p.watermark = max(p.watermark, mark)
            p.catchUp.merge(catchUp) { min($0, $1) }
            p.inherited.merge(inherited) { max($0, $1) }
            for (k, n) in late { p.late[k, default: 0] += n }
            p.passed += 1
            m.pending[slice.sequence] = p
            while let ready = m.pending[m.next], ready.passed == count {
                m.pending[m.next] = nil
                m.next += 1
                for (k, n) in ready.late { m.late[k, default: 0] += n }
                emitMerged(ready.closed, &m, last: false)
                m.emitted = max(m.emitted, ready.watermark)
                m.catchUp = ready.catchUp
                m.inherited.merge(ready.inherited) { max($0, $1) }
            }
        }
    }

    /// Closes every window of every partition and emits them (the end of the input). Batches some partition
    /// never passed (none, when the engine drained every queue) are emitted first, in order.
    public func finish() {
        // Let go once everything is emitted, below.
        var holds: [CommitHold] = []
        for part in parts {
            for side in part.catchUp.values.sorted(by: { $0.takeover < $1.takeover }) {
                side.windows.close(all: true)
                side.windows.keepingHolds = false
                holds += side.windows.takeReleased()
            }
            part.catchUp = [:]
            part.windows.close(all: true)
            part.windows.keepingHolds = false
            holds += part.windows.takeReleased()
        }
        defer { withExtendedLifetime(holds) {} }
        merger.withLock { m in
            for seq in m.pending.keys.sorted() {
                let p = m.pending[seq]!
                for (k, n) in p.late { m.late[k, default: 0] += n }
                emitMerged(p.closed, &m, last: false)
            }
            m.pending.removeAll()
            for part in parts {
                for (k, n) in part.windows.takeLate() { m.late[k, default: 0] += n }
            }
            emitMerged(parts.map(\.closed), &m, last: true)
        }
        for part in parts { part.closed.removeAll() }
    }

    /// Writes every partition's windows and the merger's position (the pipeline is quiet: no partition is
    /// mid-batch, so nothing waits to be merged).
    public func saveState(_ w: inout StateWriter, _ state: (State, inout StateWriter) -> Void) {
        w.int(parts.count)
        for part in parts { part.windows.saveState(&w, state) }
        merger.withLock { m in
            w.int(m.next)
            w.counts(m.late)
            w.int(m.pending.count)
        }
    }

    /// Replaces every partition's windows with saved ones.
    public func restoreState(_ r: inout StateReader, _ state: (inout StateReader) throws -> State) throws {
        try r.check(try r.int() == parts.count, "the partition count differs")
        for part in parts {
            try part.windows.restoreState(&r, state)
            part.closed.removeAll()
        }
        let next = try r.count(max: Int.max)
        let late = try r.counts()
        try r.check(try r.int() == 0, "windows were pending a merge")
        merger.withLock { m in
            m.next = next
            m.late = late
            m.pending = [:]
        }
    }

    /// Merges windows with the same start across partitions and emits them in order of start, each with the
    /// late records reported with it: those counted for it or an earlier window that had no records, and
    /// with `last`, everything left.
    private func emitMerged(_ closed: [[Closed]], _ m: inout Merger, last: Bool) {
        var byStart: [Int64: [Closed]] = [:]
        var whole: [Closed] = []
        for list in closed {
            for c in list {
                if let s = c.start { byStart[s, default: []].append(c) } else { whole.append(c) }
            }
        }
        var ordered: [(Int64?, Int64?, State)] = byStart.keys.sorted().map { s in
            let same = byStart[s]!
            return (s, same[0].end, combined(same.map(\.state)))
        }
        if !whole.isEmpty { ordered.append((nil, nil, combined(whole.map(\.state)))) }
        for (i, (start, end, state)) in ordered.enumerated() {
            var late = 0
            let everything = last && i == ordered.count - 1
            for (k, n) in m.late where everything || (start.map { k <= $0 } ?? true) {
                late += n
                m.late[k] = nil
            }
            emit(start, end, state, late)
        }
    }

    /// A copy of the partition's whole-input state while it is open (nil with a window size, or before
    /// its first record). The caller holds the partition.
    public func copyOfWholeInput(_ partition: Int) -> State? {
        guard let open = parts[partition].windows.wholeInput else { return nil }
        let copy = make()
        merge(copy, open)
        return copy
    }

    /// The partitions' copies taken together (nil when there are none).
    public func wholeInput(of copies: [AnyObject]) -> State? {
        let states = copies.compactMap { $0 as? State }
        return states.isEmpty ? nil : combined(states)
    }

    private func combined(_ states: [State]) -> State {
        if states.count == 1 { return states[0] }
        let merged = make()
        for s in states { merge(merged, s) }
        return merged
    }
}
