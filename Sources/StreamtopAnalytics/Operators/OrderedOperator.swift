import Synchronization
import StreamtopEngine
import StreamtopLogs

/// Base of the stateful analytics tasks (windows, groups, top-K, distinct counts, sessions): it sees the
/// records in source order, whatever the number of workers upstream (batches carry the source sequence and
/// those that arrive early wait their turn), so results depend only on the input — not on worker counts,
/// replay speed, pauses or reallocations. Runs on one worker; batches pass through unchanged.
/// Subclasses override `consume` and `close`.
open class OrderedOperator: StreamOperator {
    /// Batches that arrived ahead of their turn.
    private var waiting: [Int: ParsedBlock] = [:]
    private var nextSequence = 0
    private let finished = Locked(false)
    /// The task's name (results say which task produced them).
    public let name: String
    /// Where results go (nil: kept for the caller only).
    public let sink: ResultSink?
    private let latestLock = Locked<[ResultRow]>([])

    /// Creates the operator.
    public init(name: String, sink: ResultSink?) {
        self.name = name
        self.sink = sink
    }

    public var maxParallelism: Int { 1 }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        waiting[batch.sequence] = (batch.payload as! ParsedBlock)
        while let next = waiting.removeValue(forKey: nextSequence) {
            consume(next)
            nextSequence += 1
        }
        // The result so far, as a value the engine publishes (rows are shared, not copied).
        return OperatorOutput(batch: batch, published: result())
    }

    /// The latest result as an immutable value.
    public func result() -> AnalyticsResult {
        AnalyticsResult(rows: latestRows(), live: liveFigures())
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

    /// Takes the records of one block, in source order.
    open func consume(_ block: ParsedBlock) {}

    /// Emits what is still open at the end of the input.
    open func close() {}

    /// Ends the task: consumes batches still waiting, emits everything open, finishes the sink, and returns
    /// the final result. Runs once (later calls only return the result); the engine calls it at the end of
    /// the input (or after a shutdown).
    @discardableResult
    public func finish() -> (any Sendable)? {
        let first = finished.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            for key in waiting.keys.sorted() { consume(waiting.removeValue(forKey: key)!) }
            close()
            sink?.finish()
        }
        return result()
    }
}

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
    public private(set) var watermark = Int64.min
    private var open: [Int64: State] = [:]
    private let make: () -> State
    /// The one state when there is no window size.
    private var current: (start: Int64, state: State)?
    /// The windows of the current run of records: newest start first.
    private var runNewest = Int64.min
    private var runStates: [State?]
    /// Late records by the window they are reported with: the first window still open for the watermark
    /// when they came. That depends only on the records, not on when windows happen to be emitted.
    private var lateByWindow: [Int64: Int] = [:]
    /// Records late in all.
    public private(set) var lateTotal = 0
    /// Receives each closed window: start and end (nil for the whole input), state, late records.
    public var onClose: ((Int64?, Int64?, State, Int) -> Void)?
    /// Merges the second state into the first (pane mode), or nil.
    private let merge: ((State, State) -> Void)?
    /// Pane mode: every window starting at or before this has been emitted or had no pane.
    private var closedThrough = Int64.min
    /// The earliest open window (or pane) start, so that finding nothing to close costs nothing even when a
    /// long lateness keeps many windows open.
    private var minOpen = Int64.max

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
        runStates = [State?](repeating: nil, count: Int((self.size ?? s) / s))
        self.lateness = max(0, lateness)
        self.make = make
        self.merge = (self.size ?? s) > s ? merge : nil
    }

    /// Panes per window in pane mode (1 otherwise).
    private var panes: Int { merge == nil ? 1 : runStates.count }

    /// Open windows.
    public var openCount: Int { open.count }

    /// Calls `body` with the state of every open window the record at `time` belongs to (and advances the
    /// watermark). Returns false when the record is late for at least one of its windows.
    public func add(_ time: Int64, _ body: (State) -> Void) -> Bool {
        guard let size else {
            if current == nil { current = (0, make()) }
            body(current!.state)
            return true
        }
        if time &- lateness > watermark { watermark = time &- lateness }
        let newest = time - ((time % slide) + slide) % slide  // the latest window start containing `time`
        if merge != nil {
            if let emit = onClose, watermark != Int64.min {
                let w = watermark &- size
                if w - ((w % slide) + slide) % slide > closedThrough {
                    if open.isEmpty { closedThrough = w - ((w % slide) + slide) % slide } else { closePanes(all: false, emit) }
                }
            }
            return addToPane(newest) { body($0) }
        }
        if newest != runNewest {
            // Records come in runs with the same windows: look them up once per run.
            runNewest = newest
            for j in runStates.indices { runStates[j] = nil }
        }
        var onTime = true
        for j in 0..<runStates.count {
            let start = newest &- Int64(j) &* slide
            if start &+ size <= watermark {
                onTime = false
                continue
            }
            if let s = runStates[j] {
                body(s)
            } else {
                let s = state(start)
                runStates[j] = s
                body(s)
            }
        }
        if !onTime { countLate() }
        return onTime
    }

    /// Pane mode: the record goes to its pane, which every window containing it will merge.
    private func addToPane(_ pane: Int64, _ body: (State) -> Void) -> Bool {
        let size = self.size!
        let earliest = pane &- Int64(panes - 1) &* slide
        let onTime = earliest &+ size > watermark
        if pane &+ size > watermark {
            if pane != runNewest || runStates[0] == nil {
                runNewest = pane
                runStates[0] = state(pane)
            }
            body(runStates[0]!)
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

    /// Emits, in order of start, every window that the watermark closed (all of them when `all`), with the
    /// late records reported with it (those reported with windows that had no records included), and
    /// forgets them.
    public func close(all: Bool = false) {
        guard let emit = onClose else { return }
        guard let size else {
            if all {
                emit(nil, nil, current?.state ?? make(), 0)
                current = nil
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
        for (i, start) in ready.enumerated() {
            let s = open.removeValue(forKey: start)!
            emit(start, start + size, s, takeLate(upTo: start, everything: all && i == ready.count - 1))
        }
    }

    /// Pane mode: merges and emits each closed window that has a pane, then drops the panes no open
    /// window needs.
    private func closePanes(all: Bool, _ emit: (_ start: Int64?, _ end: Int64?, _ state: State, _ late: Int) -> Void) {
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
        let ordered = starts.sorted()
        for (i, start) in ordered.enumerated() {
            let merged = make()
            for j in 0..<panes {
                if let pane = open[start + Int64(j) * slide] { merge!(merged, pane) }
            }
            emit(start, start + size, merged, takeLate(upTo: start, everything: all && i == ordered.count - 1))
        }
        closedThrough = limit
        // A pane is needed until the window starting with it has closed.
        for p in Array(open.keys) where p <= closedThrough { open[p] = nil }
        minOpen = open.keys.min() ?? Int64.max
        runNewest = Int64.min
        runStates[0] = nil
    }

    /// The late records reported with the window starting at `start` (those of windows that had no
    /// records before it included; with `everything`, all that are left, for the last window).
    private func takeLate(upTo start: Int64, everything: Bool) -> Int {
        var late = 0
        for (k, n) in lateByWindow where k <= start || everything {
            late += n
            lateByWindow[k] = nil
        }
        return late
    }

    /// Window bounds as result columns.
    public static func bounds(_ start: Int64?, _ end: Int64?, into row: inout ResultRow) {
        if let start, let end {
            row.set("window_start", .string(LogTime.iso8601(start)))
            row.set("window_end", .string(LogTime.iso8601(end)))
        }
    }
}
