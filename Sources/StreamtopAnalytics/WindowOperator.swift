import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Tumbling event-time windows over the records that pass by: per window the request count, status
/// classes, distinct clients and top paths. A window is emitted once the watermark (the latest event time
/// seen minus the allowed lateness) passes its end, then its state is dropped, so memory stays bounded for
/// runs of any length. Records for a window already emitted are counted as late, never silently dropped.
/// Results depend only on event times, so replaying at 1×, 100× or max gives the same windows.
///
/// Runs on one worker at a time (window state is ordered by event time); batches pass through unchanged.
public final class WindowOperator: StreamOperator {
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
        /// Records that arrived after this window had been emitted (reported on the next window emitted).
        public var late_records: Int
    }

    /// One open window. A class, so that a record updates it through one lookup, in place.
    private final class Window {
        var count = 0
        var classes = [Int](repeating: 0, count: 6)
        var clients = DistinctCounter()
        let paths = SpaceSaving(capacity: 1000)
    }

    /// Window length in seconds.
    public let seconds: Int64
    /// How far behind the newest event a record may be and still count in its window.
    public let lateness: Int64
    private var windows: [Int64: Window] = [:]
    private var watermark = Int64.min
    private var emittedUpTo = Int64.min
    private var lateSinceLastEmit = 0
    private let lateTotal = Atomic<Int>(0)
    private let emit: (Result) -> Void
    /// Batches that arrived ahead of their turn (data-parallel tasks upstream finish out of order).
    private var waiting: [Int: ParsedBlock] = [:]
    private var nextSequence = 0

    /// Windows of `seconds`, with `lateness` seconds of grace; `emit` receives each closed window in order.
    public init(seconds: Int64, lateness: Int64, emit: @escaping (Result) -> Void) {
        self.seconds = max(1, seconds)
        self.lateness = max(0, lateness)
        self.emit = emit
    }

    public var maxParallelism: Int { 1 }

    /// Records that arrived after their window was emitted.
    public var lateRecords: Int { lateTotal.load(ordering: .relaxed) }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        // Restore source order first, so windows and lateness do not depend on worker timing.
        waiting[batch.sequence] = (batch.payload as! ParsedBlock)
        while let next = waiting.removeValue(forKey: nextSequence) {
            consume(next)
            nextSequence += 1
        }
        return OperatorOutput(batch: batch)
    }

    private func consume(_ parsed: ParsedBlock) {
        let base = parsed.lines.base
        var newest = watermark &+ lateness
        var currentStart = Int64.min
        var current: Window?
        for r in parsed.records {
            let start = r.time - ((r.time % seconds) + seconds) % seconds
            if start < emittedUpTo {
                lateSinceLastEmit += 1
                lateTotal.add(1, ordering: .relaxed)
                continue
            }
            if start != currentStart || current == nil {
                // Records of a window come in runs: look the window up once per run.
                if let w = windows[start] {
                    current = w
                } else {
                    let w = Window()
                    windows[start] = w
                    current = w
                }
                currentStart = start
            }
            let w = current!
            w.count += 1
            w.classes[min(5, Int(r.status) / 100)] += 1
            w.clients.add(ByteKeyCounter.hash(base + Int(r.clientStart), Int(r.clientLength)))
            if r.hasPath { w.paths.add(base + Int(r.pathStart), Int(r.pathLength)) }
            if r.time > newest { newest = r.time }
        }
        if newest != Int64.min { watermark = max(watermark, newest - lateness) }
        emitClosed(upTo: watermark)
    }

    /// Emits every window still open (at the end of the input), after any batch still waiting its turn.
    public func flush() {
        for key in waiting.keys.sorted() { consume(waiting.removeValue(forKey: key)!) }
        emitClosed(upTo: Int64.max)
    }

    private func emitClosed(upTo mark: Int64) {
        for start in windows.keys.sorted() where mark == Int64.max || start + seconds <= mark {
            let w = windows.removeValue(forKey: start)!
            var classes: [String: Int] = [:]
            for c in 1...5 where w.classes[c] > 0 { classes["\(c)xx"] = w.classes[c] }
            emit(Result(
                window_start: LogTime.iso8601(start), window_end: LogTime.iso8601(start + seconds), count: w.count,
                status_classes: classes, unique_clients: w.clients.count.value,
                unique_clients_estimated: w.clients.count.estimated, top_paths: w.paths.top(5).items,
                top_paths_estimated: w.paths.top(5).estimated,
                late_records: lateSinceLastEmit))
            lateSinceLastEmit = 0
            emittedUpTo = max(emittedUpTo, start + seconds)
        }
    }
}

/// Writes window results as NDJSON, one object per line, flushed per line so a kill leaves whole lines.
public final class ResultWriter: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    /// Results written.
    public private(set) var written = 0

    /// Writes to a file (created or truncated), or to stdout for `-`.
    public init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                throw SourceError("cannot write results file \(path)")
            }
            handle = h
        }
    }

    /// Appends one result.
    public func write(_ result: WindowOperator.Result) {
        guard var data = try? HeadlessReport.encoder().encode(result) else { return }
        data.append(0x0A)
        lock.lock()
        handle.write(data)
        written += 1
        lock.unlock()
    }
}
