import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// A drill-down counted from the input files read again, on a thread of its own, each line parsed with
/// the format the run used and the records of the key counted (`DrillDown`). The report keeps no per-key
/// breakdown, but a replay's files are still on disk, and reading them again costs about what the run's
/// parsing cost. Two uses:
/// - a finished run: the whole input, published as the breakdown the dashboard shows instead of the
///   engine's;
/// - a run under way (`limits`): only the part the report had read when the drill-down opened, up to each
///   file's boundary; the report's aggregate adds it to what it counts from the boundary on, so the
///   breakdown covers the whole run.
/// A followed file (`watch`) is read the second way from the byte the run started at (`followed`), on a
/// descriptor opened when the drill-down opened, so a rotation after that does not matter.
/// It touches no engine state: it reads the files and publishes its own copy.
public final class DrillDownRecount: Sendable {
    /// Why the part of a run read before a drill-down opened cannot be read again (it then counts from
    /// when it opened), in words for the operator.
    public struct Unavailable: Error, Sendable {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    /// What is counted.
    public let focus: FocusKey
    private let paths: [String]
    private let format: LogFormat
    private let maxLineBytes: Int
    /// Lines the run's report counted, to say whether the files still hold the same input.
    private let reportLines: Int
    /// Per path index, the byte to read up to (nil: every file to its end).
    private let limits: [Int: Int64]?
    /// Per path index, a followed file opened again where the run started reading it.
    private let followed: [Int: ReadSpan.Reopened]
    private let latest = Locked<DrillDownSummary?>(nil)
    private let latestDrill = Locked<(drill: DrillDown, progress: DrillDownSummary.Earlier)?>(nil)
    private let cancelled = Atomic<Bool>(false)
    private let published = Atomic<Int>(0)
    private let over = Atomic<Bool>(false)
    /// How often a partial breakdown is published while the files are read.
    static let publishEvery: UInt64 = 200_000_000

    /// Prepares a recount of `focus` over `paths`; `start` begins it.
    public init(focus: FocusKey, paths: [String], format: LogFormat, maxLineBytes: Int, reportLines: Int, limits: [Int: Int64]? = nil, followed: [Int: ReadSpan.Reopened] = [:]) {
        self.focus = focus
        self.followed = followed
        self.paths = paths
        self.format = format
        self.maxLineBytes = maxLineBytes
        self.reportLines = reportLines
        self.limits = limits
        // Empty until the first block is counted, but already known as a recount.
        var empty = DrillDown(focus, generation: 0, since: 0).summary(top: 0, wholeRun: nil)
        empty.reread = DrillDownSummary.Reread(lines: 0, reportLines: reportLines, done: false)
        latest.withLock { $0 = empty }
    }

    /// The breakdown so far (nil before the first block), marked with how far the reading got.
    public var summary: DrillDownSummary? { latest.withLock { $0 } }

    /// With `limits`: a copy of what was counted so far, and how far the reading got (nil before the
    /// first publication). The copy is never changed again: a reader may merge it.
    public var earlierPart: (drill: DrillDown, progress: DrillDownSummary.Earlier)? { latestDrill.withLock { $0 } }

    /// Whether reading stopped (done, failed or cancelled): nothing more will be published.
    public var isOver: Bool { over.load(ordering: .acquiring) }

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

    /// Reads every file to its end or its limit (or until cancelled), publishing as it goes. Runs on the
    /// caller's thread; tests call it directly.
    public func run() {
        let drill = DrillDown(focus, generation: 0, since: Date().timeIntervalSince1970)
        var lines = 0
        var bytes: Int64 = 0
        let total = limits.map { l in paths.indices.reduce(Int64(0)) { $0 + max(0, (l[$1] ?? 0) - (followed[$1]?.start ?? 0)) } } ?? 0
        var lastPublish = DispatchTime.now().uptimeNanoseconds
        func publish(done: Bool, failure: String? = nil) {
            if limits != nil {
                let progress = DrillDownSummary.Earlier(bytes: bytes, of: total, done: done, failure: failure)
                let copy = drill.copy()
                latestDrill.withLock { $0 = (copy, progress) }
            } else {
                var s = drill.summary(top: 100, wholeRun: nil)
                s.reread = DrillDownSummary.Reread(lines: lines, reportLines: reportLines, done: done, failure: failure)
                latest.withLock { $0 = s }
            }
            published.add(1, ordering: .releasing)
        }
        do {
            var records: [ParsedRecord] = []
            for (index, path) in paths.enumerated() {
                // A file the run had not read from when the drill-down opened holds nothing earlier.
                let limit = limits.map { $0[index] ?? 0 } ?? .max
                guard limit > 0 else { continue }
                let next = try blocks(index, path)
                while !cancelled.load(ordering: .relaxed), let block = try next(), block.sourceOffset < limit {
                    records.removeAll(keepingCapacity: true)
                    var malformed = 0
                    var counted = 0
                    let base = block.base
                    let maxLength = maxLineBytes
                    var times = LogTime.CLFCache()
                    block.forEachLine { start, length, _ in
                        // Lines from the boundary on are the engine's (a boundary is always between lines).
                        guard block.sourceOffset + Int64(start) < limit else { return }
                        counted += 1
                        guard length <= maxLength, case .record(let r) = format.parse(base, start: start, count: length, times: &times) else {
                            malformed += 1
                            return
                        }
                        records.append(r)
                    }
                    drill.add(ParsedBlock(lines: block, records: records, malformed: malformed))
                    lines += counted
                    bytes += min(Int64(block.count), limit - block.sourceOffset)
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now &- lastPublish >= Self.publishEvery {
                        publish(done: false)
                        lastPublish = now
                    }
                }
            }
            publish(done: !cancelled.load(ordering: .relaxed))
        } catch {
            publish(done: false, failure: "\(error)")
        }
        over.store(true, ordering: .releasing)
    }

    /// The blocks of file `index`: a followed file's from where the run started reading it (its lines up
    /// to the limit are complete: the run had read them), any other's from its start.
    private func blocks(_ index: Int, _ path: String) throws -> () throws -> LineBlock? {
        guard let file = followed[index] else {
            let source = try FileSource(paths: [path], maxLineBytes: maxLineBytes)
            return { try source.nextBlock() }
        }
        let chunker = LineChunker(sourceIndex: index, blockSize: 1 << 20, maxLineBytes: maxLineBytes, name: path)
        chunker.resume(offset: file.start, lines: 0)
        return {
            while true {
                switch try chunker.read(from: file.fd) {
                case .block(let b): return b
                case .partial: continue
                case .endOfData: return nil
                }
            }
        }
    }
}
