import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs

/// Carries out operator commands from any front end (keys, the `:` line, an action script) the same way.
struct CommandApplier {
    let pipeline: AccessPipeline
    let pacer: ReplayPacer?
    /// The task whose drill-down is open (the report's aggregate's name for it), or nil: `focus off`
    /// closes it there, and opening one elsewhere closes it first, so one drill-down is open at a time.
    let focusedTask = Locked<String?>(nil)
    /// The recount of a drill-down opened after the run ended (its input files read again), if any.
    let recount = Locked<DrillDownRecount?>(nil)
    /// How the answer to a drill-down request starts when it went out (anything else is a refusal).
    static let drillDownOpened = "drill-down on "
    /// Commands sent to the engine's mailbox so far: an answer that sent none is the applier's own (a
    /// refusal, or a drill-down read from the files after the end).
    private let sent = Locked<Int>(0)
    var sentCommands: Int { sent.withLock { $0 } }

    private func send(_ command: ControlCommand) {
        sent.withLock { $0 += 1 }
        pipeline.engine.send(command)
    }

    var taskNames: [String] { pipeline.engine.taskNames.map(\.1) }

    /// Parses a typed command against the live task list.
    func parse(_ text: String) throws -> OperatorCommand {
        try OperatorCommand.parse(text, task: { pipeline.engine.taskID(named: $0) }, taskNames: taskNames)
    }

    /// Applies a command and returns a short message for the operator. Everything goes through the
    /// engine's mailbox and is logged when the engine applies it; the replay's state is only read here,
    /// to answer at once what cannot work.
    @discardableResult
    func apply(_ command: OperatorCommand) -> String {
        let engine = pipeline.engine
        switch command {
        case .engine(let c):
            send(c)
            return "sent"
        case .speed(let v):
            guard pacer != nil else { return rejected("speed", .speed(v)) }
            send(.transport(.speed(v)))
            return "replay speed \(Quantity.speedLabel(v ?? .infinity))"
        case .replayPause(let request):
            guard let pacer else { return rejected("replay pause", .pause(request)) }
            let pause = request ?? !pacer.isPaused
            guard pacer.isPaused != pause else { return pause ? "replay already paused" : "replay already playing" }
            send(.transport(.pause(pause)))
            return pause ? "replay paused (s steps, z resumes)" : "replay playing"
        case .step(let seconds):
            guard let pacer else { return rejected("step", .step(seconds)) }
            guard pacer.isPaused else { return "step works while the replay is paused (z)" }
            send(.transport(.step(seconds)))
            return "stepped \(seconds) s"
        case .seek(let target):
            let transport: TransportCommand
            switch target {
            case .absolute(let t): transport = .seekAbsolute(t)
            case .ahead(let s): transport = .seekAhead(s)
            case .timeOfDay(let s): transport = .seekTimeOfDay(s)
            }
            guard let pacer else { return rejected("seek", transport) }
            let now = pacer.position.load(ordering: .relaxed)
            let epoch = LineBlockSource.seekTarget(transport, from: now)
            guard epoch > now else { return "seek goes forward only: \(LogTime.iso8601(epoch)) is not after \(LogTime.iso8601(now))" }
            send(.transport(transport))
            return "seeking to \(LogTime.clock(epoch))"
        case .focus(let focus):
            let target = focus?.task ?? AccessPipeline.aggregateTask
            guard let id = engine.taskID(named: target) else {
                return focus?.task == nil ? "this pipeline keeps no report to drill into" : "no task '\(target)'"
            }
            if let task = focus?.task, !pipeline.analytics.contains(where: { $0.name == task }) {
                let kinds = pipeline.analytics.map(\.name)
                return "\(task) keeps no drill-downs: analytics tasks do (\(kinds.isEmpty ? "this pipeline has none" : kinds.joined(separator: ", "))); the report's records: focus where FILTER"
            }
            // Whatever happens next, a recount of an earlier drill-down is over.
            recount.withLock { r in
                r?.cancel()
                r = nil
            }
            if let focus, engine.snapshot().finished {
                guard focus.task == nil else {
                    return "the run has ended: \(target) counts nothing more, so its drill-down would stay empty (the report's drill-downs read the input again)"
                }
                let files: [String]
                switch rereadableFiles {
                case .success(let paths): files = paths
                case .failure(let refusal): return "the run has ended and " + refusal.reason
                }
                let snap = engine.snapshot()
                let job = DrillDownRecount(
                    focus: focus, paths: files, format: pipeline.format.format, maxLineBytes: pipeline.maxLineBytes,
                    reportLines: AccessSummary.published(in: snap, top: 0).lines)
                recount.withLock { $0 = job }
                job.start()
                return Self.drillDownOpened + "\(focus): the run has ended, so its input is read again for the whole run"
            }
            let previous = focusedTask.withLock { f -> String? in
                defer { f = focus == nil ? nil : target }
                return f
            }
            // Closing with none open known still closes the report's (another front end may have opened it).
            let close = focus == nil ? previous ?? AccessPipeline.aggregateTask : previous.flatMap { $0 == target ? nil : $0 }
            if let close, let old = engine.taskID(named: close) {
                send(.request(old, OperatorRequest(verb: "focus")))
            }
            if let focus { send(.request(id, OperatorRequest(verb: "focus", arguments: [focus.kind, focus.key]))) }
            return focus.map { Self.drillDownOpened + "\($0)" } ?? "drill-down closed"
        }
    }

    /// Starts nothing: makes the count of what a replay of files read before a drill-down opened, up to
    /// `boundary` (per file, where the report's input stood), when the input can be read again; the
    /// report's aggregate adds it to what it counts from then on. A looping demo's later passes read the
    /// files from their start again, so it has no such boundary.
    func earlierCount(_ focus: FocusKey, _ boundary: [Int: Int64]) -> Result<DrillDownRecount, DrillDownRecount.Unavailable> {
        if let follow = pipeline.lines as? FollowSource { return earlierCount(focus, boundary, following: follow) }
        if ((pacer?.source ?? pipeline.lines) as? FileSource)?.loop == true {
            return .failure(.init("the demo loops over its files, so its past is not one pass of them"))
        }
        switch rereadableFiles {
        case .failure(let why): return .failure(why)
        case .success(let files):
            return .success(DrillDownRecount(
                focus: focus, paths: files, format: pipeline.format.format, maxLineBytes: pipeline.maxLineBytes, reportLines: 0, limits: boundary))
        }
    }

    /// The same for `watch`: each followed file is read again from where the run started reading it, when
    /// none was rotated or truncated since (otherwise the drill-down counts from when it opens, and says
    /// why). The files are opened now, so a rotation while they are read does not matter.
    private func earlierCount(_ focus: FocusKey, _ boundary: [Int: Int64], following follow: FollowSource) -> Result<DrillDownRecount, DrillDownRecount.Unavailable> {
        if let mismatch = reportMismatch { return .failure(.init(mismatch)) }
        guard let spans = follow.readSpans, let last = spans.keys.max() else {
            return .failure(.init("a followed file was rotated, truncated or restored from a checkpoint: its earlier lines are no longer where they were read"))
        }
        // Read from the spans, not the source's followers (the source's thread adds to those).
        let paths = (0...last).map { spans[$0]?.path ?? "" }
        var reopened: [Int: ReadSpan.Reopened] = [:]
        for (index, end) in boundary where end > 0 {
            guard let file = spans[index]?.reopen() else {
                return .failure(.init("\(Escaped.text(paths[index])) is no longer the file that was read"))
            }
            reopened[index] = file
        }
        return .success(DrillDownRecount(
            focus: focus, paths: paths, format: pipeline.format.format, maxLineBytes: pipeline.maxLineBytes, reportLines: 0, limits: boundary,
            followed: reopened))
    }

    /// Why the report's counts would not match its input read again (something between the parser and
    /// the report), or nil.
    private var reportMismatch: String? {
        guard !pipeline.reportReadsParse else { return nil }
        let what = switch pipeline.reportReads {
        case "filter": "only what --filter passes"
        case "normalize": "paths as --normalize-paths folded them"
        default: "what task '\(pipeline.reportReads)' passes on"
        }
        return "the report counts \(what): reading the input again would not match it"
    }

    /// The input files, when a finished run's report can be counted again from them: regular files (not
    /// stdin or a pipe, which were read once) read once (a looping demo counted some lines several times),
    /// with nothing between the parser and the report. Otherwise why not, for the operator.
    private var rereadableFiles: Result<[String], DrillDownRecount.Unavailable> {
        if let mismatch = reportMismatch { return .failure(.init(mismatch)) }
        guard let files = (pacer?.source ?? pipeline.lines) as? FileSource else {
            let what = pipeline.lines is KafkaSource ? "a Kafka topic" : "standard input"
            return .failure(.init("its input (\(what)) was read once and cannot be read again"))
        }
        let passes = files.passes.load(ordering: .relaxed)
        guard passes == 1 else {
            return .failure(.init("the demo read its input \(passes) times over: reading it once would not match the report"))
        }
        for path in files.paths {
            var st = stat()
            guard path != "-" else { return .failure(.init("standard input was read once and cannot be read again")) }
            guard stat(path, &st) == 0 else {
                return .failure(.init("\(path) can no longer be read: \(String(cString: strerror(errno)))"))
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                return .failure(.init("\(path) is not a regular file (a pipe or a device is read once)"))
            }
        }
        return .success(files.paths)
    }

    /// A transport command for an input without a transport: sent anyway, so the engine logs the refusal
    /// like any command.
    private func rejected(_ what: String, _ command: TransportCommand) -> String {
        send(.transport(command))
        return "\(what) applies to paced replays only"
    }
}

/// Plays an action script against a running pipeline on its own thread, each command at its time.
/// Sendable by its lock: `stopped` and `next` are only touched under `done`; the script is immutable and
/// the applier only sends commands to the engine's mailbox, which takes them from any thread.
final class ActionPlayer: @unchecked Sendable {
    private let script: ActionScript
    private let applier: CommandApplier
    private let done = NSCondition()
    private var stopped = false
    private var next = 0

    init(script: ActionScript, applier: CommandApplier) {
        self.script = script
        self.applier = applier
    }

    /// Applies the entries at 0 s at once — call it before the engine starts, so "at 0 s" means before the
    /// first record — then plays the rest on its own thread.
    func start() {
        let start = Date()
        done.lock()
        while next < script.entries.count && script.entries[next].at <= 0 {
            applier.apply(script.entries[next].command)
            next += 1
        }
        let first = next
        done.unlock()
        Thread { [self] in
            for (i, entry) in script.entries.enumerated() where i >= first {
                done.lock()
                while !stopped && Date().timeIntervalSince(start) < entry.at {
                    _ = done.wait(until: start.addingTimeInterval(entry.at))
                }
                let stop = stopped
                done.unlock()
                if stop { return }
                applier.apply(entry.command)
                done.lock()
                next = i + 1
                done.unlock()
            }
        }.start()
    }

    /// Stops playing; returns the entries that were never applied (the run ended first).
    func stop() -> [ActionScript.Entry] {
        done.lock()
        stopped = true
        done.broadcast()
        let rest = Array(script.entries[next...])
        done.unlock()
        return rest
    }
}
