import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs
import StreamtopService
import StreamtopTUI

/// The dashboard's view of the pipeline in this process: models built from the engine's published
/// snapshot, commands through the applier (so through the engine's mailbox). `GET /api/v1/dashboard`
/// serves the same models to attached dashboards.
final class LocalDashboard: DashboardBackend, @unchecked Sendable {
    let pipeline: AccessPipeline
    let applier: CommandApplier
    let header: String
    let pacer: ReplayPacer?
    let sourceNames: [String]
    let recordingSpan: ClosedRange<Int64>?

    init(pipeline: AccessPipeline, applier: CommandApplier, header: String, pacer: ReplayPacer?, sourceNames: [String], recordingSpan: ClosedRange<Int64>?) {
        self.pipeline = pipeline
        self.applier = applier
        self.header = header
        self.pacer = pacer
        self.sourceNames = sourceNames
        self.recordingSpan = recordingSpan
    }

    func snapshot() -> EngineSnapshot { pipeline.engine.snapshot() }

    func model(top: Int, rejects: Bool) -> DashboardModel { model(top: top, rejects: rejects, share: false) }

    /// How often the recount of a drill-down after the end has published (the engine's snapshot does not
    /// change once the run is over, so without this its result would wait for the once-a-second frame).
    var sideActivity: Int { applier.recount.withLock { $0?.publications } ?? 0 }

    /// The model, with what a cluster view merges (`AccessSummary.share`) when `share` is set.
    func model(top: Int, rejects: Bool, share: Bool) -> DashboardModel {
        let snap = pipeline.engine.snapshot()
        // The report's aggregates as the engine published them (rebuilt at most once a second: with
        // millions of keys a merge costs real time).
        var summary = AccessSummary.published(in: snap, top: top)
        if !share { summary.share = nil }
        // The totals move with every block, not once a second (a short --refresh shows them move).
        let live = pipeline.aggregate.liveTotals
        summary.lines = max(summary.lines, live.lines)
        summary.records = max(summary.records, live.records)
        summary.malformed = max(summary.malformed, live.malformed)
        // A drill-down opened after the run ended is counted from the input files, not by the engine.
        if let recounted = applier.recount.withLock({ $0?.summary }) { summary.drillDown = recounted }
        let reasons = pipeline.quarantine.counts().sorted { $0.value > $1.value }.map { ($0.key.label, $0.value) }
        let recent = rejects ? pipeline.quarantine.recent().map { r in
            "\(r.place(sourceNames))  \(r.reason.label): " + String(decoding: r.bytes, as: UTF8.self)
        } : []
        var model = DashboardModel(
            engine: snap, summary: summary, malformedReasons: reasons, recentRejects: recent, source: header,
            speed: pacer.map { Quantity.speedLabel($0.speed) } ?? (header.hasPrefix("watch") ? nil : "max"),
            replayPosition: pacer.map { $0.position.load(ordering: .relaxed) }, replayPaused: pacer?.isPaused ?? false)
        model.recordingSpan = recordingSpan
        model.replaySpeed = pacer?.speed
        model.instanceID = Self.instanceID
        model.startedAt = startedAt(snap)
        (model.processCPU, model.processRSS) = usage.withLock { u in
            // CPU over at least the last second: per frame it would be noise.
            let now = Date()
            if now.timeIntervalSince(u.at) >= 1 {
                let stats = ProcessStats.current()
                u.cpu = u.seconds.map { (stats.cpuSeconds - $0) / now.timeIntervalSince(u.at) }
                (u.at, u.seconds, u.rss) = (now, stats.cpuSeconds, stats.residentBytes)
            }
            return (u.cpu, u.rss)
        }
        if let follow = pipeline.lines as? FollowSource {
            model.backlogBytes = follow.backlogBytes
            model.eventLag = summary.lastEvent.map { max(0, Date().timeIntervalSince1970 - Double($0)) }
        }
        if let kafka = pipeline.blockSource.partitionStatus {
            model.partitions = kafka
            // How old the newest line is means something live; a replay's lines are as old as the recording.
            if (pipeline.lines as? KafkaSource)?.mode == .follow {
                model.eventLag = summary.lastEvent.map { max(0, Date().timeIntervalSince1970 - Double($0)) }
            }
            if let problem = kafka.problem { model.inputWarning = problem }
        }
        let missing = (pipeline.lines as? FollowSource)?.missingPaths ?? []
        if !missing.isEmpty {
            let names = missing.prefix(3).joined(separator: ", ") + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
            model.inputWarning = "waiting for \(names) to appear: \(missing.count == 1 ? "it does" : "they do") not exist yet (a typo in the path?)"
        }
        if let files = (pacer?.source ?? pipeline.lines) as? FileSource, files.loop { model.replayPass = files.passes.load(ordering: .relaxed) }
        model.results = ResultSummary.all(in: snap)
        return model
    }

    var replay: (speed: Double, paused: Bool)? { pacer.map { ($0.speed, $0.isPaused) } }

    /// The run's start on the wall clock, fixed at the first model (the engine counts seconds from its
    /// start; computing it anew each frame would jitter by a tick).
    private let start = Locked<Double?>(nil)
    /// The process's CPU seconds when last sampled, and what the samples gave.
    private let usage = Locked<(at: Date, seconds: Double?, cpu: Double?, rss: Int?)>((.distantPast, nil, nil, nil))
    private func startedAt(_ snap: EngineSnapshot) -> Double {
        start.withLock { s in
            if let s { return s }
            let now = Date().timeIntervalSince1970 - snap.time
            s = now
            return now
        }
    }

    /// This process's identity for cluster views (`DashboardModel.instanceID`).
    static let instanceID = String(UInt64.random(in: 0...UInt64.max), radix: 16)

    func parse(_ text: String) throws -> OperatorCommand { try applier.parse(text) }

    func apply(_ command: OperatorCommand) -> String { applier.apply(command) }
}
