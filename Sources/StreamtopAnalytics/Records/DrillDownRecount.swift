import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// A drill-down over a finished run's whole input: its files read again from the start, on a thread of
/// its own, each line parsed with the format the run used and the records of the key counted
/// (`DrillDown`). The report keeps no per-key breakdown, so once a replay has ended a drill-down counted
/// by the engine would stay empty; its input is still on disk, and reading it again costs about what the
/// run's parsing cost. It touches no engine state: it reads the files and
/// publishes its own summary, which the dashboard shows instead of the engine's.
public final class DrillDownRecount: Sendable {
    /// What is counted.
    public let focus: FocusKey
    private let paths: [String]
    private let format: LogFormat
    private let maxLineBytes: Int
    /// Lines the run's report counted, to say whether the files still hold the same input.
    private let reportLines: Int
    private let latest = Locked<DrillDownSummary?>(nil)
    private let cancelled = Atomic<Bool>(false)
    private let published = Atomic<Int>(0)
    /// How often a partial breakdown is published while the files are read.
    static let publishEvery: UInt64 = 200_000_000

    /// Prepares a recount of `focus` over `paths`; `start` begins it.
    public init(focus: FocusKey, paths: [String], format: LogFormat, maxLineBytes: Int, reportLines: Int) {
        self.focus = focus
        self.paths = paths
        self.format = format
        self.maxLineBytes = maxLineBytes
        self.reportLines = reportLines
        // Empty until the first block is counted, but already known as a recount.
        var empty = DrillDown(focus, generation: 0, since: 0).summary(top: 0, wholeRun: nil)
        empty.reread = DrillDownSummary.Reread(lines: 0, reportLines: reportLines, done: false)
        latest.withLock { $0 = empty }
    }

    /// The breakdown so far (nil before the first block), marked with how far the reading got.
    public var summary: DrillDownSummary? { latest.withLock { $0 } }

    /// How many times a breakdown has been published: a display redraws when it changes.
    public var publications: Int { published.load(ordering: .acquiring) }

    /// Starts reading on a thread of its own.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "drill-down recount"
        thread.start()
    }

    /// Stops reading (a drill-down closed or replaced); what was published stays.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Reads every file to its end (or until cancelled), publishing as it goes. Runs on the caller's
    /// thread; tests call it directly.
    public func run() {
        let drill = DrillDown(focus, generation: 0, since: Date().timeIntervalSince1970)
        var lines = 0
        var lastPublish = DispatchTime.now().uptimeNanoseconds
        func publish(done: Bool, failure: String? = nil) {
            var s = drill.summary(top: 100, wholeRun: nil)
            s.reread = DrillDownSummary.Reread(lines: lines, reportLines: reportLines, done: done, failure: failure)
            latest.withLock { $0 = s }
            published.add(1, ordering: .releasing)
        }
        do {
            let source = try FileSource(paths: paths, maxLineBytes: maxLineBytes)
            var records: [ParsedRecord] = []
            while !cancelled.load(ordering: .relaxed), let block = try source.nextBlock() {
                records.removeAll(keepingCapacity: true)
                var malformed = 0
                let base = block.base
                let limit = maxLineBytes
                block.forEachLine { start, length, _ in
                    guard length <= limit, case .record(let r) = format.parse(base, start: start, count: length) else {
                        malformed += 1
                        return
                    }
                    records.append(r)
                }
                drill.add(ParsedBlock(lines: block, records: records, malformed: malformed))
                lines += block.lineCount
                let now = DispatchTime.now().uptimeNanoseconds
                if now &- lastPublish >= Self.publishEvery {
                    publish(done: false)
                    lastPublish = now
                }
            }
            publish(done: !cancelled.load(ordering: .relaxed))
        } catch {
            publish(done: false, failure: "\(error)")
        }
    }
}
