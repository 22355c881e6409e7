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
    private let finished = Mutex(false)
    /// The task's name (results say which task produced them).
    public let name: String
    /// Where results go (nil: kept for the caller only).
    public let sink: ResultSink?
    private let latestLock = Mutex<[ResultRow]>([])

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
        return OperatorOutput(batch: batch)
    }

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

    /// Ends the task: consumes batches still waiting, emits everything open, finishes the sink. Runs once.
    public func finish() {
        let first = finished.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        for key in waiting.keys.sorted() { consume(waiting.removeValue(forKey: key)!) }
        close()
        sink?.finish()
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

    /// Windows of `size` seconds every `slide` seconds (`slide` defaults to `size`).
    public init(size: Int64?, slide: Int64? = nil, lateness: Int64, make: @escaping () -> State) {
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
    }

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
        if !onTime {
            let firstOpen = watermark &- size &+ 1  // the earliest start whose window end is past the watermark
            let s = firstOpen - ((firstOpen % slide) + slide) % slide
            lateByWindow[s < firstOpen ? s + slide : s, default: 0] += 1
            lateTotal += 1
        }
        return onTime
    }

    func state(_ start: Int64) -> State {
        if let existing = open[start] { return existing }
        let s = make()
        open[start] = s
        return s
    }

    /// Emits, in order of start, every window that the watermark closed (all of them when `all`), with the
    /// late records reported with it (those reported with windows that had no records included), and
    /// forgets them.
    public func close(all: Bool = false, _ emit: (_ start: Int64?, _ end: Int64?, _ state: State, _ late: Int) -> Void) {
        guard let size else {
            if all {
                emit(nil, nil, current?.state ?? make(), 0)
                current = nil
            }
            return
        }
        let ready = open.keys.filter { all || $0 &+ size <= watermark }.sorted()
        if !ready.isEmpty {
            runNewest = Int64.min
            for j in runStates.indices { runStates[j] = nil }
        }
        for (i, start) in ready.enumerated() {
            let s = open.removeValue(forKey: start)!
            var late = 0
            for (k, n) in lateByWindow where k <= start || (all && i == ready.count - 1) {
                late += n
                lateByWindow[k] = nil
            }
            emit(start, start + size, s, late)
        }
    }

    /// Window bounds as result columns.
    public static func bounds(_ start: Int64?, _ end: Int64?, into row: inout ResultRow) {
        if let start, let end {
            row.set("window_start", .string(LogTime.iso8601(start)))
            row.set("window_end", .string(LogTime.iso8601(end)))
        }
    }
}
