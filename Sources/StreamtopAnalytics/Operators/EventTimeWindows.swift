#if canImport(Glibc)
import Glibc
#endif
import StreamtopEngine
import StreamtopLogs

/// Event-time windows: which windows a record belongs to, the watermark, what is late, and when a
/// window closes. Tumbling when `slide == size`, sliding when `slide < size` (a record then belongs to
/// `size / slide` windows); one window over the whole input when `size` is nil.
///
/// The watermark is the newest event time seen minus the allowed lateness, advanced record by record; a
/// window [start, start + size) closes once the watermark reaches its end, and a record that would belong
/// only to closed windows is late: counted, never silently dropped. Closed windows are emitted in order
/// and forgotten, so state is bounded by the windows open at once.
///
/// Sliding windows whose state can be merged are kept as panes of `slide` seconds: a record updates one
/// pane, and a window is the merge of its `size / slide` panes when it closes (instead of a record
/// updating every window it belongs to).
public final class EventTimeWindows<State: AnyObject> {
    /// Window length in seconds (nil: one window over the whole input).
    public let size: Int64?
    /// Seconds between window starts.
    public let slide: Int64
    /// Seconds a record may lag the newest event and still count.
    public let lateness: Int64
    /// Newest event time minus lateness.
    public private(set) var watermark = Int64.min {
        didSet { cut = max(watermark, floor) }
    }
    /// For the block being added: windows ending at or before this were written by the group member that
    /// read its partition before (see `SourcePartition.floors`); its records for them are passed over.
    private var floor = Int64.min {
        didSet { cut = max(watermark, floor) }
    }
    /// A window ending at or before this takes no record: the watermark passed it, or it is below the floor.
    private var cut = Int64.min
    private var open: [Int64: State] = [:]
    private let make: () -> State
    /// The one state when there is no window size.
    private var current: (start: Int64, state: State)?
    /// The windows of the current run of records: newest start first. Unretained: `open` (or `current`)
    /// holds each, and every removal from it clears these first. Retaining and releasing a state per
    /// record and window was part of the ~15 % that retains and releases took in the analytics benchmark's
    /// profile (14.7 → 12.9 % without it).
    private var runNewest = Int64.min
    private var runStates: [Unmanaged<State>?]
    /// Late records by the window they are reported with: the first window still open for the watermark
    /// when they came. That depends only on the records, not on when windows happen to be emitted.
    private var lateByWindow: [Int64: Int] = [:]
    /// Records late in all.
    public private(set) var lateTotal = 0
    /// Receives each closed window: start and end (nil for the whole input) and state. Late records are
    /// taken separately (`takeLate`), so that partitions' counts can be merged before they are reported.
    public var onClose: ((Int64?, Int64?, State) -> Void)?
    /// Merges the second state into the first (pane mode), or nil.
    private let merge: ((State, State) -> Void)?
    /// Pane mode: every window starting at or before this has been emitted or had no pane.
    private var closedThrough = Int64.min
    /// The earliest open window (or pane) start, so that finding nothing to close costs nothing even when a
    /// long lateness keeps many windows open.
    private var minOpen = Int64.max
    /// The commit hold of the block being added (a Kafka group's source; see `CommitHold`), set by `begin`.
    private var hold: CommitHold?
    /// The block being added and its lines' offsets, to hold a window's first record's own offset.
    private var holdLines: LineBlock?
    private var holdOffsets: [Int64] = []
    /// Where each line of `holdLines` starts, found when first needed.
    private var lineStarts: [Int32] = []
    /// Per open window (or pane) start: the first hold of each source partition whose records reached it.
    /// A window keeps them until it is emitted, so its records' offsets are not committed before its row
    /// is written.
    private var holds: [Int64: [CommitHold]] = [:]
    /// Holds of windows emitted or forgotten since `takeReleased`.
    private var released: [CommitHold] = []
    /// Seconds after a window's end that its holds are kept once it is emitted, while `keepingHolds`:
    /// a visits task's gap (and a window), since whether a request starts a visit depends on the user's
    /// requests before it, which a reader resuming at the held offset must read again.
    public var holdAfterEnd: Int64 = 0
    /// Whether to keep them: only where the commit's floors survive, so that the reader next passes over
    /// the windows already written (it would otherwise write them again from part of their records).
    public var keepingHolds = false
    /// Holds of emitted windows kept until the watermark reaches `until`, in that order.
    private var retained: [(until: Int64, holds: [CommitHold])] = []
    /// While a partition taken over from another group member is read: its records for windows already
    /// closed here go to these windows, which close on that partition's own event time (see
    /// `PartitionedWindows`).
    private var catchUp: EventTimeWindows?

    /// Windows of `size` seconds every `slide` seconds (`slide` defaults to `size`); with `merge`, sliding
    /// windows are kept as panes and merged when they close.
    public init(size: Int64?, slide: Int64? = nil, lateness: Int64, merge: ((State, State) -> Void)? = nil, make: @escaping () -> State) {
        self.size = size.map { max(1, $0) }
        var s = min(max(1, slide ?? size ?? 1), self.size ?? Int64.max)
        if let size = self.size, size % s != 0 {
            // A slide that does not divide the size would give records different numbers of windows.
            var (a, b) = (size, s)
            while b != 0 { (a, b) = (b, a % b) }
            s = a
        }
        self.slide = s
        runStates = [Unmanaged<State>?](repeating: nil, count: Int((self.size ?? s) / s))
        self.lateness = max(0, lateness)
        self.make = make
        self.merge = (self.size ?? s) > s ? merge : nil
    }

    /// Panes per window in pane mode (1 otherwise).
    private var panes: Int { merge == nil ? 1 : runStates.count }

    /// Open windows.
    public var openCount: Int { open.count }

    /// Whether sliding windows are kept as panes (catch-up windows are not offered then).
    public var usesPanes: Bool { merge != nil }

    /// The one state of a task over the whole input, while it is open (nil with a window size).
    public var wholeInput: State? { size == nil ? current?.state : nil }

    /// Starts a block: `hold` is its commit hold (nil: not a Kafka group's block), `catchUp` the windows its
    /// records go to when they are behind the windows closed here (a partition taken over).
    public func begin(hold: CommitHold?, lines: LineBlock? = nil, floor: Int64 = .min, catchUp: EventTimeWindows?) {
        self.catchUp = catchUp
        if self.floor != floor { self.floor = floor }
        catchUp?.begin(hold: hold, lines: lines, catchUp: nil)
        guard hold != nil || self.hold != nil else { return }
        self.hold = hold
        holdLines = hold == nil ? nil : lines
        holdOffsets = hold == nil ? [] : lines?.partition?.offsets ?? []
        lineStarts.removeAll(keepingCapacity: true)
        // Every window a block's records reach notes the block's hold: the run's windows are looked up again.
        runNewest = Int64.min
        for j in runStates.indices { runStates[j] = nil }
    }

    /// Notes a hold in window (or pane) `start` at the record whose client field starts at byte `position`
    /// of the block (the block's own hold when that is not known), unless a record of its partition is
    /// noted there already.
    private func noteHold(_ start: Int64, _ position: Int32) {
        guard let hold else { return }
        if holds[start]?.contains(where: { $0.partition == hold.partition }) == true { return }
        holds[start, default: []].append(lineOffset(position).map(hold.at) ?? hold)
    }

    /// The offset of the message holding byte `position` of the block, when the lines' offsets are known.
    private func lineOffset(_ position: Int32) -> Int64? {
        // A position past the lines is in bytes a map task derived (a client replaced by its network):
        // the block's own hold then.
        guard position >= 0, !holdOffsets.isEmpty, let lines = holdLines, Int(position) < lines.count else { return nil }
        if lineStarts.isEmpty {
            // Physical lines (empty ones too: a message is a line), as the offsets count them.
            let base = UnsafeRawPointer(lines.base)
            let count = lines.count
            var at = 0
            lineStarts.append(0)
            while at < count, let nl = memchr(base + at, 0x0A, count - at) {
                at = UnsafeRawPointer(nl) - base + 1
                if at < count { lineStarts.append(Int32(at)) }
            }
        }
        guard lineStarts.count == holdOffsets.count else { return nil }
        var (lo, hi) = (0, lineStarts.count - 1)
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= position { lo = mid } else { hi = mid - 1 }
        }
        return holdOffsets[lo]
    }

    /// The holds of the windows emitted or forgotten since the last call.
    public func takeReleased() -> [CommitHold] {
        var done = 0
        while done < retained.count && (retained[done].until <= watermark || !keepingHolds) { done += 1 }
        if done > 0 {
            for r in retained[..<done] { released += r.holds }
            retained.removeFirst(done)
        }
        defer { released.removeAll() }
        return released
    }

    /// Calls `body` with the state of every open window the record at `time` belongs to (and advances the
    /// watermark). Returns false when the record is late for at least one of its windows.
    ///
    /// `newest` is the event time the watermark moves to with this record: the newest in source order up
    /// to it when the record is one of a partition's (the others' records advance the watermark too), held
    /// back to the slowest partition of a partitioned source; by default the record's own time.
    @inline(__always)
    public func add(_ time: Int64, newest: Int64? = nil, at position: Int32 = -1, _ body: (State) -> Void) -> Bool {
        guard let size else {
            if runStates[0] == nil {
                if current == nil { current = (0, make()) }
                runStates[0] = .passUnretained(current!.state)
                noteHold(0, position)
            }
            runStates[0]!._withUnsafeGuaranteedRef { body($0) }
            return true
        }
        raise(newest ?? time)
        let newest = time - ((time % slide) + slide) % slide  // the latest window start containing `time`
        if merge != nil { return addToPane(newest, position) { body($0) } }
        if newest != runNewest {
            // Records come in runs with the same windows: look them up once per run.
            runNewest = newest
            for j in runStates.indices { runStates[j] = nil }
        }
        var onTime = true
        for j in 0..<runStates.count {
            let start = newest &- Int64(j) &* slide
            if start &+ size <= cut {
                if start &+ size <= floor { continue }  // written before the partition came here
                if let catchUp, catchUp.addCaughtUp(time, start, position, body) { continue }
                onTime = false
                continue
            }
            if let s = runStates[j] {
                s._withUnsafeGuaranteedRef { body($0) }
            } else {
                let s = state(start)
                runStates[j] = .passUnretained(s)
                noteHold(start, position)
                body(s)
            }
        }
        if !onTime { countLate() }
        return onTime
    }

    /// Catch-up windows: adds a record (of the partition taken over, in its order) to window `start` unless
    /// this partition's own event time has passed that window too. The watermark here follows only this
    /// partition's records.
    fileprivate func addCaughtUp(_ time: Int64, _ start: Int64, _ position: Int32, _ body: (State) -> Void) -> Bool {
        raise(time)
        guard let size, start &+ size > watermark else { return false }
        let s = state(start)
        noteHold(start, position)
        body(s)
        return true
    }

    /// Advances the watermark to `newest` minus the lateness (records of other partitions, or the end of a
    /// batch). In pane mode, closes the windows it passed at once, so that no record reaches a pane after a
    /// window using it has closed.
    public func raise(_ newest: Int64) {
        guard let size, newest != Int64.min, newest &- lateness > watermark else { return }
        watermark = newest &- lateness
        if merge != nil, let emit = onClose {
            let w = watermark &- size
            if w - ((w % slide) + slide) % slide > closedThrough {
                if open.isEmpty { closedThrough = w - ((w % slide) + slide) % slide } else { closePanes(all: false, emit) }
            }
        }
    }

    /// Pane mode: the record goes to its pane, which every window containing it will merge.
    private func addToPane(_ pane: Int64, _ position: Int32, _ body: (State) -> Void) -> Bool {
        let size = self.size!
        let earliest = pane &- Int64(panes - 1) &* slide
        let onTime = earliest &+ size > watermark
        if pane &+ size > watermark {
            if pane != runNewest || runStates[0] == nil {
                runNewest = pane
                runStates[0] = .passUnretained(state(pane))
                noteHold(pane, position)
            }
            runStates[0]!._withUnsafeGuaranteedRef { body($0) }
        }
        if !onTime { countLate() }
        return onTime
    }

    private func countLate() {
        let size = self.size!
        let firstOpen = watermark &- size &+ 1  // the earliest start whose window end is past the watermark
        let s = firstOpen - ((firstOpen % slide) + slide) % slide
        lateByWindow[s < firstOpen ? s + slide : s, default: 0] += 1
        lateTotal += 1
    }

    func state(_ start: Int64) -> State {
        if let existing = open[start] { return existing }
        let s = make()
        open[start] = s
        if start < minOpen { minOpen = start }
        return s
    }

    /// Emits, in order of start, every window that the watermark closed (all of them when `all`), and
    /// forgets them.
    public func close(all: Bool = false) {
        guard let emit = onClose else { return }
        guard let size else {
            if all {
                runStates[0] = nil
                emit(nil, nil, current?.state ?? make())
                current = nil
                release(holds.keys)
            }
            return
        }
        if merge != nil {
            closePanes(all: all, emit)
            return
        }
        guard all || (minOpen != Int64.max && minOpen &+ size <= watermark) else { return }
        let ready = open.keys.filter { all || $0 &+ size <= watermark }.sorted()
        minOpen = open.keys.filter { !(all || $0 &+ size <= watermark) }.min() ?? Int64.max
        if !ready.isEmpty {
            runNewest = Int64.min
            for j in runStates.indices { runStates[j] = nil }
        }
        for start in ready { emit(start, start + size, open.removeValue(forKey: start)!) }
        release(ready)
    }

    private func release<S: Sequence>(_ starts: S) where S.Element == Int64 {
        guard !holds.isEmpty else { return }
        for start in Array(starts) {
            guard let h = holds.removeValue(forKey: start) else { continue }
            if keepingHolds && holdAfterEnd > 0, let size {
                retained.append((start &+ size &+ holdAfterEnd, h))
            } else {
                released += h
            }
        }
    }

    /// Pane mode: merges and emits each closed window that has a pane, then drops the panes no open
    /// window needs.
    private func closePanes(all: Bool, _ emit: (_ start: Int64?, _ end: Int64?, _ state: State) -> Void) {
        // (Called from `add` as soon as the watermark closes a window, so that no record reaches a pane
        // after a window using it has closed: emission does not depend on batch boundaries.)
        let size = self.size!
        guard all || watermark != Int64.min else { return }
        // Windows closed now: starts up to the last one whose end the watermark passed.
        let limit: Int64
        if all {
            guard let last = open.keys.max() else { return }
            limit = last
        } else {
            let w = watermark &- size
            limit = w - ((w % slide) + slide) % slide
        }
        guard limit > closedThrough else { return }
        guard all || minOpen &- Int64(panes - 1) &* slide <= limit else {
            // No open pane belongs to a window that closed.
            closedThrough = limit
            return
        }
        var starts = Set<Int64>()
        for p in open.keys {
            for j in 0..<panes {
                let s = p - Int64(j) * slide
                if s > closedThrough && s <= limit { starts.insert(s) }
            }
        }
        for start in starts.sorted() {
            let merged = make()
            for j in 0..<panes {
                if let pane = open[start + Int64(j) * slide] { merge!(merged, pane) }
            }
            emit(start, start + size, merged)
        }
        closedThrough = limit
        // A pane is needed until the window starting with it has closed.
        let dropped = open.keys.filter { $0 <= closedThrough }
        for p in dropped { open[p] = nil }
        release(dropped)
        minOpen = open.keys.min() ?? Int64.max
        runNewest = Int64.min
        runStates[0] = nil
    }

    /// Writes the watermark, the open windows (or panes) with `state` writing each, and the late counts.
    public func saveState(_ w: inout StateWriter, _ state: (State, inout StateWriter) -> Void) {
        w.i64(watermark)
        w.i64(closedThrough)
        w.int(lateTotal)
        w.counts(lateByWindow)
        w.bool(current != nil)
        if let current {
            w.i64(current.start)
            state(current.state, &w)
        }
        w.int(open.count)
        for start in open.keys.sorted() {
            w.i64(start)
            state(open[start]!, &w)
        }
    }

    /// Replaces everything with saved windows, reading each state with `state`.
    public func restoreState(_ r: inout StateReader, _ state: (inout StateReader) throws -> State) throws {
        watermark = try r.i64()
        closedThrough = try r.i64()
        lateTotal = try r.int()
        lateByWindow = try r.counts()
        current = try r.bool() ? (try r.i64(), try state(&r)) : nil
        let n = try r.count(max: 1 << 24)
        open = [:]
        for _ in 0..<n {
            let start = try r.i64()
            open[start] = try state(&r)
        }
        minOpen = open.keys.min() ?? Int64.max
        runNewest = Int64.min
        for j in runStates.indices { runStates[j] = nil }
        // The restored windows' records are before the checkpoint's offsets, which the source resumes at.
        holds = [:]
        released = []
        retained = []
    }

    /// The late records counted since the last call, by the window they are reported with.
    public func takeLate() -> [Int64: Int] {
        defer { lateByWindow.removeAll(keepingCapacity: true) }
        return lateByWindow
    }

    /// Window bounds as result columns.
    public static func bounds(_ start: Int64?, _ end: Int64?, into row: inout ResultRow) {
        if let start, let end {
            row.set("window_start", .string(LogTime.iso8601(start)))
            row.set("window_end", .string(LogTime.iso8601(end)))
        }
    }
}
