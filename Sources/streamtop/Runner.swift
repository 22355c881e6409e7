import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs
import StreamtopService
import StreamtopTUI
import Synchronization

/// Builds the pipeline for a command and runs it headless or in the dashboard.
struct Runner {
    let options: RunOptions
    /// Outputs claimed so far; set by `run PIPELINE` (whose task sinks are opened before the run), made
    /// here otherwise.
    var outputs: OutputGuard?
    /// The task the report reads (a pipeline file's `report_input`), or nil for the default.
    var reportInput: String?
    /// The state directory, when opened by the caller (`run PIPELINE` opens it before its sinks); made
    /// here from `--state` otherwise.
    var checkpoints: CheckpointSession?

    /// Replays files by their timestamps (or at max speed).
    func replay(paths patterns: [String], speed: ReplaySpeed, loop: Bool, label: String, middle: [TaskSpec] = []) throws {
        if patterns.contains(where: KafkaAddress.isKafka) {
            return try replayKafka(patterns, speed: speed, loop: loop, middle: middle)
        }
        var paths: [String] = []
        for p in patterns {
            if Glob.isPattern(p) && !FileManager.default.fileExists(atPath: p) {
                let matches = Glob.expand(p)
                guard !matches.isEmpty else { throw CLIError("no file matches \(p)") }
                paths += matches
            } else {
                paths.append(p)
            }
        }
        let files = try FileSource(paths: paths, loop: loop, maxLineBytes: options.maxLineBytes)
        let format = try options.formatChoice()
        var pacer: ReplayPacer?
        let lines: LineSource
        switch speed {
        case .max:
            lines = files
        case .factor(let v):
            // A paced replay hands out small blocks: detect the format on a real sample of the first file
            // first, so that pacing reads each line's time with the right format from the start.
            if paths[0] != "-", let sample = try? FileSource(paths: [paths[0]], maxLineBytes: options.maxLineBytes).nextBlock() {
                format.detectIfNeeded(sample)
            }
            let p = ReplayPacer(files, speed: v, timeOf: { format.format.eventTime($0, $1, $2) })
            pacer = p
            lines = p
        }
        let span = pacer == nil ? nil : RecordingSpan.of(paths, format: format.format).map { $0.first...$0.last }
        pacer?.recordingEnd = span?.upperBound
        let guardian = outputs ?? OutputGuard(inputs: paths)
        let session = try checkpoints ?? CheckpointSession.open(options, outputs: guardian)
        try run(lines: lines, sourceNames: paths, header: "\(label) \(files.label)", pacer: pacer, span: span, middle: middle, watching: false, outputs: guardian, format: format, checkpoints: session)
    }

    /// Follows files or stdin.
    func watch(paths: [String], fromStart: Bool, middle: [TaskSpec] = []) throws {
        if paths.contains(where: KafkaAddress.isKafka) {
            return try watchKafka(paths, fromStart: fromStart, middle: middle)
        }
        let lines: LineSource
        let guardian = outputs ?? OutputGuard(inputs: paths)
        if paths == ["-"] {
            lines = try FileSource(paths: ["-"], maxLineBytes: options.maxLineBytes)
        } else {
            for p in paths where FileManager.default.fileExists(atPath: p) { try FileSource.checkReadable(p) }
            // With the dashboard, a followed file is read once a frame (--refresh): reading it more often
            // would only cut the same lines into more blocks between two frames. Headless, five times a
            // second (less while nobody looks: see `run`).
            let readEvery = options.headless ? 0.2 : min(1, try options.dashboard.dashboardSettings().refresh)
            lines = try FollowSource(paths: paths, fromStart: fromStart, pollMilliseconds: UInt32(readEvery * 1000), maxLineBytes: options.maxLineBytes)
        }
        let session = try checkpoints ?? CheckpointSession.open(options, outputs: guardian)
        try run(lines: lines, sourceNames: paths, header: paths == ["-"] ? "watch stdin" : lines.label, pacer: nil, span: nil, middle: middle, watching: true, outputs: guardian, format: try options.formatChoice(), checkpoints: session)
    }

    func run(lines: LineSource, sourceNames: [String], header: String, pacer: ReplayPacer?, span: ClosedRange<Int64>?, middle: [TaskSpec], watching: Bool, outputs: OutputGuard, format: FormatChoice, checkpoints: CheckpointSession?) throws {
        if outputs.kafkaSettings.isEmpty { outputs.kafkaSettings = try options.kafkaSettings() }
        let quarantine = try Quarantine(rejectsPath: options.rejects, sourceNames: sourceNames, raw: options.rejectsRaw, outputs: outputs)
        let window = try options.windowSeconds().map { w in
            WindowOperator(seconds: w.0, slide: try options.slideSeconds(), lateness: w.1, sink: try ResultSink(task: "window", results: options.results, outputs: outputs))
        }
        let pipeline = AccessPipeline(
            lines: lines, workers: options.workers, quarantine: quarantine, queueCapacity: options.queueCapacity,
            policy: options.policy.policy, format: format, filter: try options.filterExpression(), window: window, middle: middle,
            normalizePaths: options.normalizePaths, keyLimit: try options.keyLimit(watching: watching), maxLineBytes: options.maxLineBytes,
            reportInput: reportInput)
        let engine = pipeline.engine
        let headless = options.headless
        // A failed write to an output is reported once per file, in the decision log and (headless) on stderr.
        let reportFailure: @Sendable (String) -> Void = { message in
            engine.log(.engine, kind: .outputFailed, task: "sink", action: "write failed", reason: message)
            if headless { warn("\(message)") }
        }
        quarantine.file?.onFailure = reportFailure
        for op in pipeline.analytics { op.sink?.onFailure = reportFailure }
        // A filter on the time to serve passes nothing from a format that does not log it: said once, when
        // the format is known, rather than leaving an empty report to be puzzled over.
        let servedTimeFilter = (try options.filterExpression())?.usesServedTime == true
        func warnIfServedTimeIsNotLogged(_ f: LogFormat) {
            guard servedTimeFilter, f.logsServedTime == false else { return }
            let message = "--filter tests request_time, which the \(f.name) format does not log: no record passes it (use a format that logs it, e.g. --format nginx-timed)"
            engine.log(.engine, kind: .formatDetected, task: "parse", action: "filter passes nothing", reason: message)
            if headless { warn(message) }
        }
        if format.requested != "auto" { warnIfServedTimeIsNotLogged(format.format) }
        format.onDetected = { d in
            warnIfServedTimeIsNotLogged(d.format)
            let summary = "\(d.format.name) (\(d.matched) of \(d.total) lines of the first block parse)"
            if d.fits {
                engine.log(.engine, kind: .formatDetected, task: "parse", action: "format \(d.format.name)", reason: "detected: \(summary)", numbers: ["matched": Double(d.matched), "sampled": Double(d.total)])
                if headless { warn("format: \(summary)") }
            } else {
                let example = String(decoding: Escaped.bytes(Array(d.example.prefix(160))), as: UTF8.self) + (d.example.count > 160 ? "…" : "")
                // A "best" that matched nothing is no candidate at all.
                let closest = d.matched > 0 ? "best: \(summary)" : "none of the \(d.total) lines of the first block parse as any known format"
                let message = "no known format fits the input (\(closest)); a line: \(example) — use --format, --nginx-format or --apache-format"
                engine.log(.engine, kind: .formatDetected, task: "parse", action: "no format fits", reason: message, numbers: ["matched": Double(d.matched), "sampled": Double(d.total)])
                if headless { warn("\(message)") }
            }
        }
        // Source events (rotation, skipped gaps) go to the decision log, beside the scheduler's.
        let note: (String) -> Void = { engine.log(.engine, task: "source", action: "input", reason: $0) }
        (lines as? FollowSource)?.onEvent = note
        (lines.innermost as? KafkaSource)?.onEvent = note
        let sinks = pipeline.analytics.compactMap(\.sink)
        (lines.innermost as? KafkaSource)?.beforeCommit = { for sink in sinks { sink.deliver() } }
        let windowed = pipeline.analytics
        (lines.innermost as? KafkaSource)?.commitFloors = { p in
            var floors: [String: Int64] = [:]
            for task in windowed {
                if let t = task.emittedThrough(sourcePartition: p), t != .min { floors[task.name] = t }
            }
            return floors
        }
        for path in (lines as? FollowSource)?.missingPaths ?? [] {
            // tail -F says so too: a typo in the path would otherwise wait in silence.
            note("\(path) does not exist yet; waiting for it to appear")
            if headless { warn("\(Escaped.text(path)) does not exist yet; waiting for it to appear") }
        }
        pacer?.onEvent = note
        ((pacer?.source ?? lines) as? FileSource)?.onEvent = note
        // Set back to the checkpoint (if any) before anything runs; then checkpoints are taken.
        for line in try checkpoints?.attach(to: pipeline, sourceNames: sourceNames) ?? [] where headless { warn(line) }
        // The service endpoint answers from published snapshots only (checked here: `run` may take the
        // address from its pipeline file).
        if options.listen == nil && options.controlTokenFile != nil { throw CLIError("--control-token-file needs --listen (the address commands arrive on)") }
        let applier = CommandApplier(pipeline: pipeline, pacer: pacer)
        let counter = UncheckedBox(pipeline: pipeline, applier: applier)
        pipeline.aggregate.earlierCount.withLock { $0 = { focus, boundary in counter.applier.earlierCount(focus, boundary) } }
        let dashboard = LocalDashboard(
            pipeline: pipeline, applier: applier, header: header, pacer: pacer,
            sourceNames: sourceNames.map { $0.split(separator: "/").last.map(String.init) ?? $0 }, recordingSpan: span)
        // Headless, a followed file is read once a second while nobody looks through the endpoint (an
        // attached dashboard or a stream reader brings back five reads a second). A `--snapshots` file is
        // read by someone at its own pace: it keeps them.
        let looks = LookClock()
        if headless && options.snapshots == nil, let follow = lines as? FollowSource {
            follow.unwatched = (1000, { looks.lookedWithin(seconds: 5) })
        }
        let service = try options.listenAddress().map { address -> ServiceServer in
            let server = try ServiceServer(host: address.host, port: address.port, endpoints: serviceEndpoints(pipeline, dashboard: dashboard, looks: looks))
            server.onRestart = { message in
                engine.log(.engine, kind: .outputFailed, task: nil, action: "http restarted", reason: message)
                if headless { warn(message) }
            }
            try server.start()
            let listening = "listening on http://\(address.host):\(server.port ?? address.port) (/metrics, /healthz, /api/v1)"
            // The dashboard owns the terminal: there the decision log says it (a port of 0 is chosen now).
            if headless { warn(listening) } else { engine.log(.engine, task: "service", action: "listening", reason: listening) }
            return server
        }
        defer { service?.stop() }
        let kafka = lines.innermost as? KafkaSource
        defer {
            if let kafka {
                // Offsets are committed only when every block read was processed (a drained stop).
                let snap = engine.snapshot()
                kafka.close(commit: snap.finished && snap.tasks.allSatisfy { $0.queueDepth == 0 })
            }
        }
        let player = try options.actions.map { path -> ActionPlayer in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError("cannot read actions file \(path)")
            }
            let script = try ActionScript(text, file: path, task: { engine.taskID(named: $0) }, taskNames: applier.taskNames)
            return ActionPlayer(script: script, applier: applier)
        }
        let snapshots = try options.snapshots.map { path -> SnapshotWriter in
            try outputs.claim(path, what: "snapshots file")
            let w = try SnapshotWriter(path: path, every: options.every.milliseconds, pipeline: pipeline)
            w.file.onFailure = reportFailure
            return w
        }
        // Headless without --listen or --snapshots, nobody sees a whole-input table before the end: its
        // tasks copy nothing while the run goes on (a copy a second of up to `limit` groups per partition).
        if options.headless && service == nil && snapshots == nil {
            for task in pipeline.analytics { task.showsTableSoFar = false }
        }
        if options.headless {
            try runHeadless(pipeline, snapshots: snapshots, player: player)
        } else {
            try DashboardRunner(
                backend: dashboard, themeName: options.dashboard.themeName(), keymap: try options.dashboard.keymap(),
                settings: try options.dashboard.dashboardSettings())
                .run(snapshots: snapshots, player: player)
        }
    }

    /// What --listen serves: metrics and the JSON document from snapshots, and commands through the same
    /// applier as keys and action scripts (so through the engine's mailbox).
    private func serviceEndpoints(_ pipeline: AccessPipeline, dashboard: LocalDashboard, looks: LookClock) throws -> ServiceServer.Endpoints {
        let box = UncheckedBox(pipeline: pipeline, applier: dashboard.applier)
        var endpoints = ServiceServer.Endpoints(
            view: { (box.pipeline.engine.snapshot(), box.pipeline.quarantine.counts()) },
            document: {
                looks.touch()
                let snap = box.pipeline.engine.snapshot()
                let report = HeadlessReport(
                    summary: AccessSummary.published(in: snap), malformedReasons: box.pipeline.quarantine.counts(),
                    elapsedSeconds: snap.time, tasks: snap.tasks, decisions: snap.decisions, workers: snap.workers)
                let line = (try? HeadlessReport.encoder().encode(SnapshotLine(snap, decisions: [], partitions: box.pipeline.blockSource.partitionStatus))).map { String(decoding: $0, as: UTF8.self) } ?? "null"
                return "{\"snapshot\":\(line),\"report\":\((try? report.json()) ?? "null")}"
            },
            command: { text in
                if OperatorCommand.isHelp(text) { return .success("commands: " + OperatorCommand.grammar.joined(separator: "; ")) }
                let command: OperatorCommand
                do {
                    command = try box.applier.parse(text)
                } catch {
                    return .failure(ServiceServer.CommandRefused("\(error)"))
                }
                let before = box.pipeline.engine.snapshot().decisionCount
                let sent = box.applier.sentCommands
                let answer = box.applier.apply(command)
                guard box.applier.sentCommands != sent else {
                    // Nothing went to the engine: the applier answered itself, with a refusal ("step works
                    // while the replay is paused") unless it started reading the files for a drill-down.
                    return answer.hasPrefix(CommandApplier.drillDownOpened) ? .success(answer) : .failure(ServiceServer.CommandRefused(answer, conflict: true))
                }
                // What the engine did with it: its decision (a refusal is a 409), or the applier's answer.
                switch Self.outcome(of: box.pipeline.engine, after: before) {
                case .success("sent"): return .success(answer)
                case let verdict: return verdict
                }
            },
            token: try options.controlToken())
        endpoints.streamLine = { last in
            looks.touch()
            let snap = box.pipeline.engine.snapshot()
            let fresh = snap.decisions.filter { $0.sequence > last }
            let data = (try? HeadlessReport.encoder().encode(SnapshotLine(snap, decisions: fresh, partitions: box.pipeline.blockSource.partitionStatus))) ?? Data("{}".utf8)
            return (String(decoding: data, as: UTF8.self), snap.decisions.last?.sequence ?? last, snap.finished)
        }
        endpoints.dashboard = { top, rejects, share in
            looks.touch()
            let model = dashboard.model(top: top, rejects: rejects, share: share)
            return (try? DashboardModel.encoder().encode(model)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        endpoints.streamIntervalNanos = UInt64(max(10, min(60_000, options.every.milliseconds))) * 1_000_000
        if pipeline.blockSource.drainsOnStop {
            endpoints.partitions = { box.pipeline.blockSource.partitionStatus }
        }
        if pipeline.lines is FollowSource {
            endpoints.backlog = { (box.pipeline.lines as? FollowSource)?.backlogBytes }
        }
        return endpoints
    }

    /// What the engine did with a command just sent: the operator's decision it logged (`workers 2 → 3`,
    /// or `workers stay 2` with why, as a refusal), waited for up to a second; "sent" if none came (the
    /// engine applies commands between quanta, and a task stuck in one may take longer).
    static func outcome(of engine: Engine, after sequence: Int) -> Result<String, ServiceServer.CommandRefused> {
        let deadline = Date().addingTimeInterval(1)
        while Date() < deadline {
            let snap = engine.snapshot()
            if let d = snap.decisions.last(where: { $0.sequence > sequence && $0.actor == .operator }) {
                let text = "\(d.task.map { "\($0): " } ?? "")\(d.action) (\(d.reason))"
                return d.kind == .rejected ? .failure(ServiceServer.CommandRefused(text, conflict: true)) : .success(text)
            }
            usleep(20_000)
        }
        return .success("sent")
    }

    private func runHeadless(_ pipeline: AccessPipeline, snapshots: SnapshotWriter?, player: ActionPlayer?) throws {
        let engine = pipeline.engine
        // The first SIGINT/SIGTERM/SIGHUP stops the input and drains what was read (the engine resumes paused
        // tasks, which would otherwise hold it forever, and refuses new pauses); a second one ends at once
        // with what was counted.
        let signals = Atomic<Int>(0)
        let stop = SignalTrap([SIGINT, SIGTERM, SIGHUP]) {
            if signals.add(1, ordering: .relaxed).newValue == 1 {
                engine.stopInput()
            } else {
                engine.shutdown()
            }
        }
        let started = Date()
        // Actions at 0 s go to the mailbox first, so the engine applies them before its first record.
        player?.start()
        engine.start()
        snapshots?.start()
        var warnedPaused = false
        while !engine.waitUntilFinished(timeout: 0.5) {
            // The input ended but a paused task holds records: say so once, the run waits for a resume.
            let snap = engine.snapshot()
            if !warnedPaused, snap.inputEnded, let paused = snap.tasks.first(where: { $0.state == .paused && $0.queueDepth > 0 }) {
                warnedPaused = true
                warn("the input ended while task '\(Escaped.text(paused.name))' is paused with \(paused.queueDepth) blocks queued; waiting for it to be resumed (SIGTERM ends the run with its report)")
            }
        }
        // The engine finished the operators (windows emitted, sinks completed) on its way out.
        let final = engine.waitUntilFinished()
        for skipped in player?.stop() ?? [] {
            warn("action at line \(skipped.line) ('\(Escaped.text(skipped.text))') not applied: the input ended first")
        }
        snapshots?.finish()
        stop.cancel()
        var report = HeadlessReport(
            summary: AccessSummary.published(in: final), malformedReasons: pipeline.quarantine.counts(),
            elapsedSeconds: Date().timeIntervalSince(started), tasks: final.tasks, decisions: engine.allDecisions(),
            workers: final.workers)
        report.filter = options.filter
        report.kafka = pipeline.blockSource.partitionStatus
        report.injections = final.injections
        if signals.load(ordering: .relaxed) > 1 { report.interrupted = true }
        switch options.report {
        case .json:
            let out = OutputFile(descriptor: 1, name: "standard output", what: "report")
            if !out.write(try report.json() + "\n") {
                throw CLIError("cannot write the report to standard output: \(out.lastError ?? "write failed")")
            }
        case .none:
            break
        }
        // Never a silent success: a failed input or output makes the exit status non-zero.
        var problems: [String] = []
        if let failure = engine.failure { problems.append("\(failure)") }
        problems += pipeline.quarantine.file?.failureSummary.map { [$0] } ?? []
        problems += pipeline.analytics.flatMap { $0.sink?.failureSummaries ?? [] }
        problems += snapshots?.file.failureSummary.map { [$0] } ?? []
        if let c = final.checkpoint, c.failures > 0 {
            // The latest attempt decides: the one on disk is then older than the run, so a restart redoes work.
            let line = "\(c.failures) checkpoint\(c.failures == 1 ? "" : "s") failed (last: \(c.failure ?? "a later one succeeded"))"
            if c.failure != nil { problems.append(line) } else { warn(line) }
        }
        if !problems.isEmpty {
            for p in problems.dropLast() { warn("\(p)") }
            throw CLIError(problems.last!)
        }
    }
}

/// Runs a handler on a dispatch queue when one of the signals arrives (instead of the default action).
final class SignalTrap {
    private var sources: [DispatchSourceSignal] = []
    init(_ signals: [Int32], handler: @escaping () -> Void) {
        for s in signals {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            src.setEventHandler(handler: handler)
            src.resume()
            sources.append(src)
        }
    }
    func cancel() { sources.forEach { $0.cancel() } }
}

/// Writes periodic metric snapshots as NDJSON. Sendable by its lock: `finished`, `exited` and `thread`
/// are only touched under `done`, and the writing state only by the writer thread, then by `finish`
/// once that thread has left.
final class SnapshotWriter: @unchecked Sendable {
    /// The NDJSON file (or standard output for `-`).
    let file: OutputFile
    private let every: Int
    private let pipeline: AccessPipeline
    private var thread: Thread?
    private let done = NSCondition()
    private var finished = false

    init(path: String, every: Int, pipeline: AccessPipeline) throws {
        file = path == "-" ? OutputFile(descriptor: 1, name: "standard output", what: "snapshots") : try OutputFile(path, what: "snapshots file")
        self.every = every
        self.pipeline = pipeline
    }

    func start() {
        let t = Thread { [self] in
            done.lock()
            while !finished {
                done.unlock()
                write()
                done.lock()
                _ = done.wait(until: Date().addingTimeInterval(Double(every) / 1000))
            }
            exited = true
            done.broadcast()
            done.unlock()
        }
        thread = t
        t.start()
    }

    /// Stops the periodic thread, waits until it has left, then writes the last line (so two writes never overlap).
    func finish() {
        done.lock()
        finished = true
        done.broadcast()
        while thread != nil && !exited { done.wait() }
        done.unlock()
        write()
    }

    private var exited = false

    private var lastDecision = 0

    private func write() {
        let snap = pipeline.engine.snapshot()
        let fresh = snap.decisions.filter { $0.sequence > lastDecision }
        lastDecision = snap.decisions.last?.sequence ?? lastDecision
        let line = SnapshotLine(snap, decisions: fresh, partitions: pipeline.blockSource.partitionStatus)
        if var data = try? HeadlessReport.encoder().encode(line) {
            data.append(0x0A)
            file.write(Array(data))
        }
    }
}

/// One NDJSON snapshot line (also the `snapshot` of GET /api/v1/snapshot).
struct SnapshotLine: Encodable {
    struct Task: Encodable {
        var name: String
        var state: String
        var records_in: Int
        var records_out: Int
        var records_filtered: Int
        var queued_records: Int
        var queue_depth: Int
        var queue_capacity: Int
        var in_per_second: Double
        var out_per_second: Double
        var workers: Int
        var priority: Int
        var busy_ratio: Double
        var backpressured_ratio: Double
        var idle_ratio: Double
        var pinned: Bool
        var bytes_in: Int
        var bytes_out: Int
        var bytes_in_per_second: Double
        var batch_latency_ns: LatencySummary
        var record_latency_ns: LatencySummary
    }
    var time: Double
    var lines: Int
    var records: Int
    var malformed: Int
    var finished: Bool
    var policy: String
    var end_to_end_latency_ns: LatencySummary
    var tasks: [Task]
    var decisions: [Decision]
    /// A Kafka input's partitions and lag.
    var kafka: KafkaReport?
    /// Active rehearsals (`inject …`), if any.
    var injections: [String]?
    /// The last complete checkpoint (with --state).
    struct Checkpoint: Encodable {
        var number: Int
        var restored: Int?
        var drain_ns: UInt64
        var pause_ns: UInt64
        var write_ns: UInt64
        var bytes: Int
        var failures: Int
        var failure: String?
    }
    var checkpoint: Checkpoint?
}

extension SnapshotLine {
    /// The line for a snapshot, with the decisions to report in it and a Kafka input's partitions.
    init(_ snap: EngineSnapshot, decisions fresh: [Decision], partitions: PartitionStatus?) {
        let s = AccessSummary.published(in: snap, top: 5)
        self.init(
            time: (snap.time * 1000).rounded() / 1000, lines: s.lines, records: s.records, malformed: s.malformed,
            finished: snap.finished, policy: snap.policy, end_to_end_latency_ns: snap.endToEndLatency,
            tasks: snap.tasks.map {
                SnapshotLine.Task(
                    name: $0.name, state: $0.state.rawValue, records_in: $0.recordsIn, records_out: $0.recordsOut,
                    records_filtered: $0.recordsFiltered, queued_records: $0.queuedRecords, queue_depth: $0.queueDepth,
                    queue_capacity: $0.queueCapacity, in_per_second: $0.inPerSecond.rounded(),
                    out_per_second: $0.outPerSecond.rounded(), workers: $0.workers, priority: $0.priority,
                    busy_ratio: ($0.busyRatio * 1000).rounded() / 1000,
                    backpressured_ratio: ($0.backpressuredRatio * 1000).rounded() / 1000,
                    idle_ratio: ($0.idleRatio * 1000).rounded() / 1000, pinned: $0.pinned,
                    bytes_in: $0.bytesIn, bytes_out: $0.bytesOut, bytes_in_per_second: $0.bytesInPerSecond.rounded(),
                    batch_latency_ns: $0.latency, record_latency_ns: $0.recordLatency)
            }, decisions: fresh, kafka: partitions.map(KafkaReport.init), injections: snap.injections,
            checkpoint: snap.checkpoint.map {
                SnapshotLine.Checkpoint(
                    number: $0.number, restored: $0.restored, drain_ns: $0.drainNanos, pause_ns: $0.pauseNanos,
                    write_ns: $0.writeNanos, bytes: $0.bytes, failures: $0.failures, failure: $0.failure)
            })
    }
}

/// The pipeline and its command applier, handed to the HTTP server's tasks: both are safe from any thread
/// (snapshots are immutable, commands go through the engine's mailbox).
struct UncheckedBox: @unchecked Sendable {
    let pipeline: AccessPipeline
    let applier: CommandApplier
}
