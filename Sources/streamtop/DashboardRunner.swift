import Foundation
import StreamtopAnalytics
import StreamtopAssets
import StreamtopCurses
import StreamtopEngine
import StreamtopLogs
import StreamtopTUI
import Synchronization

/// Runs the pipeline with the ncurses dashboard on this thread until the operator quits.
struct DashboardRunner {
    let pipeline: AccessPipeline
    let header: String
    let pacer: ReplayPacer?
    let themeName: String
    let applier: CommandApplier
    let sourceNames: [String]
    let keymap: Keymap
    let recordingSpan: ClosedRange<Int64>?

    /// Folders searched for `NAME.theme`: ./themes, then the themes shipped with the binary.
    static var themeDirectories: [String] {
        ["themes", Assets.themesDirectory?.path].compactMap { $0 }
    }

    func run(snapshots: SnapshotWriter?, player: ActionPlayer?) throws {
        // A binary moved away from its resources still runs with the built-in attributes-only theme.
        let (theme, warnings) = themeName == "default"
            ? ((try? Theme.load(themeName, directories: Self.themeDirectories)) ?? (Theme.fallback, []))
            : try Theme.load(themeName, directories: Self.themeDirectories)
        for w in warnings { warn("theme \(themeName): \(w)") }
        let terminal = CursesTerminal(theme: theme)
        try terminal.start(noColor: ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false)
        let quitRequested = Atomic<Bool>(false)
        let trap = SignalTrap([SIGINT, SIGTERM, SIGHUP]) { quitRequested.store(true, ordering: .relaxed) }
        defer {
            trap.cancel()
            terminal.stop()
        }
        let engine = pipeline.engine
        // Actions at 0 s go to the mailbox first, so the engine applies them before its first record.
        player?.start()
        engine.start()
        snapshots?.start()
        var state = DashboardState()
        state.keymap = keymap
        var currentTheme = themeName
        // What the operator did, newest last, as the commands that put it back.
        var undo: [(OperatorCommand, String)] = []
        func remember(_ command: OperatorCommand, _ label: String) {
            switch command {
            case .engine(let c):
                if let back = c.inverse(before: engine.snapshot()) { undo.append((.engine(back), label)) }
            case .speed:
                if let pacer { undo.append((.speed(pacer.speed.isFinite ? pacer.speed : nil), label)) }
            case .replayPause(let p):
                if let pacer { undo.append((.replayPause(p == nil ? nil : pacer.isPaused), label)) }
            case .step, .seek:
                break
            }
            if undo.count > 100 { undo.removeFirst() }
        }
        var analyticsFinished = false
        var lastFrame = Date.distantPast
        var lastActivity = 0
        var dirty = true
        while !quitRequested.load(ordering: .relaxed) {
            if let key = terminal.readKey(timeoutMilliseconds: 100) {
                dirty = true
                if key == .resize { continue }
                var effects: [DashboardEffect] = []
                if case .click(_, let y) = key {
                    DashboardReducer.click(&state, y: y, tasks: engine.snapshot().tasks)
                } else if state.filterLine != nil {
                    DashboardReducer.editFilter(&state, key)
                } else if state.commandLine != nil {
                    effects = DashboardReducer.editCommandLine(&state, key)
                } else if key == .escape && state.showHelp {
                    state.showHelp = false
                } else if let action = state.keymap.action(for: key) {
                    let snap = engine.snapshot()
                    effects = DashboardReducer.reduce(&state, action, tasks: snap.tasks, policy: snap.policy, canChangeSpeed: pacer != nil)
                } else {
                    state.message = "no action on \(key.label) — press ? for help"
                }
                var quit = false
                for effect in effects {
                    switch effect {
                    case .quit: quit = true
                    case .command(let c):
                        remember(.engine(c), state.message ?? "\(c)")
                        engine.send(c)
                    case .scaleSpeed(let f):
                        guard let pacer else { break }
                        let v = min(1000, max(0.1, pacer.speed.isFinite ? pacer.speed * f : 1000))
                        remember(.speed(v), "speed")
                        state.message = applier.apply(.speed(v))
                    case .undo:
                        guard let (back, label) = undo.popLast() else {
                            state.message = "nothing to undo"
                            break
                        }
                        _ = applier.apply(back)
                        state.message = "undid: \(label)"
                    case .nextTheme:
                        let all = ThemesCommand.available()
                        guard !all.isEmpty else { break }
                        let current = all.firstIndex { $0.name == currentTheme } ?? -1
                        let next = all[(current + 1) % all.count]
                        if let (t, _) = try? Theme.load(next.path, directories: []) {
                            terminal.setTheme(t)
                            currentTheme = next.name
                            state.message = "theme \(next.name)"
                        }
                    case .runCommand(let text):
                        do {
                            let command = try applier.parse(text)
                            remember(command, text)
                            let result = applier.apply(command)
                            state.message = result == "sent" ? ":\(text)" : result
                        } catch {
                            state.message = "\(error)"
                        }
                    }
                }
                if quit { break }
            }
            let now = Date()
            if !analyticsFinished && engine.isFinished {
                // The input ended and every task drained; the engine has closed the windows and written the
                // results: show them.
                analyticsFinished = true
                dirty = true
            }
            // Ten frames a second while something moves; once a second when nothing does (the clock and the
            // ages still tick), which is most of what an idle dashboard used to cost.
            let snap = engine.snapshot()
            let activity = Self.activity(snap)
            let age = now.timeIntervalSince(lastFrame)
            if dirty || (activity != lastActivity && age >= 0.1) || age >= 1 {
                lastActivity = activity
                // The report's aggregates as the engine published them (it rebuilds them at most once a
                // second: with millions of keys a merge costs real time).
                let summary = AccessSummary.published(in: snap, top: state.view == .analytics ? AggregateOperator.publishedTop : 10)
                let (w, h) = terminal.size
                let reasons = pipeline.quarantine.counts().sorted { $0.value > $1.value }.map { ($0.key.label, $0.value) }
                let rejects = state.showRejects ? pipeline.quarantine.recent().map { r in
                    "\(r.source < sourceNames.count ? sourceNames[r.source] : "input"):\(r.line)  \(r.reason.label): " + String(decoding: r.bytes, as: UTF8.self)
                } : []
                var model = DashboardModel(
                    engine: snap, summary: summary, malformedReasons: reasons,
                    recentRejects: rejects, source: header, speed: pacer.map { Quantity.speedLabel($0.speed) } ?? (header.hasPrefix("watch") ? nil : "max"),
                    replayPosition: pacer.map { $0.position.load(ordering: .relaxed) }, replayPaused: pacer?.isPaused ?? false)
                model.recordingSpan = recordingSpan
                if state.view == .analytics { model.results = ResultSummary.all(in: model.engine) }
                terminal.draw(DashboardView.render(model, state: state, width: w, height: h))
                lastFrame = now
                dirty = false
            }
        }
        _ = player?.stop()
        if engine.snapshot().checkpoint != nil {
            // With --state, quitting is a clean stop: what was read drains and a final checkpoint is taken,
            // so the next run resumes exactly here (bounded, in case a task is stuck).
            engine.stopInput()
            _ = engine.waitUntilFinished(timeout: 10)
        }
        engine.shutdown()
        snapshots?.finish()
    }

    /// A digest of what a frame shows that changes only when the pipeline does: counts, states, workers,
    /// queues, decisions, checkpoints, published results. Equal digests mean a frame would differ only in
    /// its clock and ages.
    static func activity(_ snap: EngineSnapshot) -> Int {
        var h = Hasher()
        h.combine(snap.decisionCount)
        h.combine(snap.policy)
        h.combine(snap.finished)
        h.combine(snap.inputEnded)
        h.combine(snap.checkpoint?.number)
        h.combine(snap.checkpoint?.failures)
        h.combine(snap.published.count)
        for t in snap.tasks {
            h.combine(t.recordsIn)
            h.combine(t.recordsOut)
            h.combine(t.recordsFiltered)
            h.combine(t.quanta)
            h.combine(t.state)
            h.combine(t.workers)
            h.combine(t.priority)
            h.combine(t.queueDepth)
            h.combine(t.inPerSecond)
        }
        return h.finalize()
    }
}
