import Foundation
import StreamtopEngine
import StreamtopLogs

/// The standard summary per event-time window: request count, status classes, distinct clients and top
/// paths, tumbling (`every`) or sliding (`every` and `slide`), with watermark and allowed lateness (see
/// `EventTimeWindows`). Results depend only on event times and source order, so replaying at 1×, 100× or
/// max gives the same windows.
public final class WindowOperator: OrderedOperator {
    /// One emitted window.
    public struct Result: Codable, Equatable, Sendable {
        /// Window start and end (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
        public var window_start: String
        public var window_end: String
        /// Records in the window.
        public var count: Int
        /// Records per status class (`2xx`…).
        public var status_classes: [String: Int]
        /// Distinct clients in the window (exact up to 4,096, then HyperLogLog, ±1.6%).
        public var unique_clients: Int
        /// Whether `unique_clients` is an estimate.
        public var unique_clients_estimated: Bool
        /// The most requested paths in the window (Space-Saving over 1,000 paths).
        public var top_paths: [KeyCount]
        /// Whether the window had more distinct paths than tracked, so `top_paths` counts are upper bounds.
        public var top_paths_estimated: Bool
        /// Records late since the previous window was emitted (they missed a window already closed).
        public var late_records: Int

        /// The result as a row for sinks.
        public var row: ResultRow {
            var r = ResultRow()
            r.set("window_start", .string(window_start))
            r.set("window_end", .string(window_end))
            r.set("count", .int(Int64(count)))
            var classes = ResultRow()
            for k in status_classes.keys.sorted() { classes.set(k, .int(Int64(status_classes[k]!))) }
            r.set("status_classes", .object(classes))
            r.set("unique_clients", .int(Int64(unique_clients)))
            r.set("unique_clients_estimated", .bool(unique_clients_estimated))
            r.set("top_paths", .counts(top_paths))
            r.set("top_paths_estimated", .bool(top_paths_estimated))
            r.set("late_records", .int(Int64(late_records)))
            return r
        }
    }

    /// One open window.
    final class Window {
        var count = 0
        var classes = [Int](repeating: 0, count: 6)
        var clients = DistinctCounter()
        let paths = SpaceSaving(capacity: 1000)

        /// Adds a pane's counts (sliding windows).
        static func merge(_ a: Window, _ b: Window) {
            a.count += b.count
            for i in a.classes.indices { a.classes[i] += b.classes[i] }
            a.clients.merge(b.clients)
            a.paths.merge(b.paths)
        }
    }

    /// Window length in seconds.
    public let seconds: Int64
    /// How far behind the newest event a record may be and still count in its window.
    public let lateness: Int64
    private var windows: PartitionedWindows<Window>!
    private let emit: (Result) -> Void

    /// Windows of `seconds` every `slide` seconds (default: tumbling), with `lateness` seconds of grace;
    /// `emit` receives each closed window in order, and `sink` its row.
    /// With several `partitions`, records are split by client (so distinct clients stay exact as long as
    /// they can) and each window merges the partitions' counts.
    public init(name: String = "window", seconds: Int64, slide: Int64? = nil, lateness: Int64, sink: ResultSink? = nil, partitions: Int = 1, emit: @escaping (Result) -> Void = { _ in }) {
        self.seconds = max(1, seconds)
        self.lateness = max(0, lateness)
        self.emit = emit
        super.init(name: name, sink: sink, partitions: partitions)
        windows = PartitionedWindows(partitions: self.partitions, size: self.seconds, slide: slide, lateness: lateness, merge: Window.merge, make: Window.init) { [unowned self] in self.emitWindow($0, $1, $2, $3) }
    }

    /// Records that missed a window already closed (read it once the run has ended).
    public var lateRecords: Int { windows.lateTotal }

    public override func partitionHash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 {
        ByteKeyCounter.hash(base + Int(r.clientStart), Int(r.clientLength))
    }

    public override func emittedThrough(sourcePartition: Int) -> Int64? { windows.emittedThrough(sourcePartition) }

    public override func consume(_ slice: PartitionSlice) {
        let base = slice.block.lines.base
        // Unretained in the closure (see `TopKOperator.consume`).
        let windows = Unmanaged.passUnretained(self.windows.begin(slice, task: name))
        forEachRecord(slice) { r, newest, client in
            windows._withUnsafeGuaranteedRef { windows in
                _ = windows.add(r.time, newest: newest, at: r.clientStart) { w in
                    w.count += 1
                    w.classes[min(5, Int(r.status) / 100)] += 1
                    w.clients.add(client)
                    if r.hasPath { w.paths.add(base + Int(r.pathStart), Int(r.pathLength)) }
                }
            }
        }
        self.windows.endBatch(slice)
    }

    public override func close() { windows.finish() }

    public override var stateShape: String { "window \(windows.shape)" }

    public override func saveWindows(_ w: inout StateWriter) {
        windows.saveState(&w) { s, w in
            w.int(s.count)
            w.numbers(s.classes.map { Int64($0) })
            s.clients.saveState(&w)
            s.paths.saveState(&w)
        }
    }

    public override func restoreWindows(_ r: inout StateReader) throws {
        try windows.restoreState(&r) { r in
            let s = Window()
            s.count = try r.int()
            s.classes = try r.numbers(Int64.self).map { Int($0) }
            try r.check(s.classes.count == 6, "status classes")
            s.clients = try DistinctCounter(restoring: &r)
            try s.paths.restoreState(&r)
            return s
        }
    }

    private func emitWindow(_ start: Int64?, _ end: Int64?, _ w: Window, _ late: Int) {
        var classes: [String: Int] = [:]
        for c in 1...5 where w.classes[c] > 0 { classes["\(c)xx"] = w.classes[c] }
        let top = w.paths.top(5)
        let result = Result(
            window_start: LogTime.iso8601(start!), window_end: LogTime.iso8601(end!), count: w.count,
            status_classes: classes, unique_clients: w.clients.count.value,
            unique_clients_estimated: w.clients.count.estimated, top_paths: top.items,
            top_paths_estimated: top.estimated, late_records: late)
        emit(result)
        // Like every analytics task: the latest window is this task's result (the dashboard shows it).
        publish([result.row])
    }
}
