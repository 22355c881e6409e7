import Foundation
import StreamtopAnalytics
import StreamtopAssets
import StreamtopCurses
import StreamtopEngine
import StreamtopTUI
import Synchronization

/// The dashboard on the terminal: reads keys, turns them into view changes and commands for a backend
/// (the pipeline in this process, or an attached instance), and draws frames, until the operator quits or
/// a signal arrives. The terminal is restored by `close`, whatever happened.
final class DashboardLoop {
    let terminal: CursesTerminal
    private var state = DashboardState()
    private var currentTheme: String
    /// Set by SIGINT, SIGTERM or SIGHUP (on a dispatch thread).
    private final class QuitFlag: Sendable {
        let value = Atomic<Bool>(false)
    }
    private let quitRequested = QuitFlag()
    private var trap: SignalTrap?
    /// What the operator did, newest last, as the commands that put it back.
    private var undo: [(OperatorCommand, String)] = []
    /// The decision count when the last command was sent: the engine's answer to it (a refusal above
    /// all) replaces the optimistic message (`seeking to 23:58:00`) once it is logged.
    /// With it, the undo depth before the command: a refused command leaves nothing to undo.
    private var awaitingAnswerAfter: (decisions: Int, undo: Int)?
    /// Why the theme was chosen for the operator, when the terminal's background chose it.
    private var themeNote: String?

    /// Folders searched for `NAME.theme`: ./themes, then the themes shipped with the binary.
    static var themeDirectories: [String] {
        ["themes", Assets.themesDirectory?.path].compactMap { $0 }
    }

    /// Seconds between frames while the pipeline moves (`DashboardSettings.refresh`).
    private let refresh: Double

    /// Loads the theme and takes over the terminal.
    init(themeName requested: String, keymap: Keymap, settings: DashboardSettings = DashboardSettings()) throws {
        // No theme named: ask the terminal whether its background is light (before taking it over).
        var themeName = requested
        if requested == "auto" {
            let found = BackgroundQuery.detect()
            themeName = found?.background.theme ?? "default"
            if let found, found.background == .light { themeNote = "theme light: \(found.how) (--theme to choose another)" }
        }
        // A binary moved away from its resources still runs with the built-in attributes-only theme.
        let (theme, warnings) = themeName == "default" || requested == "auto"
            ? ((try? Theme.load(themeName, directories: Self.themeDirectories)) ?? (Theme.fallback, []))
            : try Theme.load(themeName, directories: Self.themeDirectories)
        for w in warnings { warn("theme \(themeName): \(w)") }
        terminal = CursesTerminal(theme: theme)
        currentTheme = themeName
        state.keymap = keymap
        state.thresholds = settings.thresholds
        state.graphSpan = settings.graphSpan
        state.hiddenColumns = settings.hiddenColumns
        refresh = settings.refresh
        try terminal.start(noColor: ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false)
        let quit = quitRequested
        trap = SignalTrap([SIGINT, SIGTERM, SIGHUP]) { quit.value.store(true, ordering: .relaxed) }
    }

    /// Gives the terminal back.
    func close() {
        trap?.cancel()
        terminal.stop()
    }

    /// Whether SIGINT, SIGTERM or SIGHUP arrived (the terminal went away, or the operator's shell asks).
    var quitting: Bool { quitRequested.value.load(ordering: .relaxed) }

    /// Runs until q or a signal. `finished` says when the pipeline has ended (one more frame is drawn);
    /// `message` is shown until the first key.
    func run(_ backend: DashboardBackend, finished: () -> Bool, message: String? = nil) {
        state.message = message ?? themeNote
        var analyticsFinished = false
        var lastFrame = Date.distantPast
        var lastActivity = 0
        var dirty = true
        var lastKey = Date()
        while !quitRequested.value.load(ordering: .relaxed) {
            // Wait for a key until the next frame may be drawn, then in tenths of a second for something
            // to move (sooner while a command's answer is awaited), rather than waking ten times a second
            // to find a frame not yet due. At most half a second, so that a signal to quit is seen soon.
            let sinceFrame = Date().timeIntervalSince(lastFrame)
            let wait = awaitingAnswerAfter != nil ? 0.05 : sinceFrame < refresh ? refresh - sinceFrame : 0.1
            if let key = terminal.readKey(timeoutMilliseconds: Int(min(0.5, max(0.01, wait)) * 1000)) {
                dirty = true
                lastKey = Date()
                if key == .resize { continue }
                if handle(key, backend) { break }
            }
            let now = Date()
            if !analyticsFinished && finished() {
                // The input ended and every task drained; the engine has closed the windows and written the
                // results: show them.
                analyticsFinished = true
                dirty = true
            }
            // A message answers the last key: after a while without keys it is stale ("seeking to 21:10").
            if state.message != nil && now.timeIntervalSince(lastKey) > 8 && state.commandLine == nil {
                state.message = nil
                dirty = true
            }
            let snap = backend.snapshot()
            if let after = awaitingAnswerAfter, let answer = snap.decisions.first(where: { $0.sequence > after.decisions && $0.actor == .operator }) {
                awaitingAnswerAfter = nil
                if answer.kind == .rejected {
                    if undo.count > after.undo { undo.removeLast(undo.count - after.undo) }
                    state.message = "\(answer.task.map { "\($0): " } ?? "")\(answer.action) — \(answer.reason)"
                    dirty = true
                }
            }
            // A frame every `refresh` (--refresh, 500 ms by default) while something moves; once a second
            // when nothing does (the clock and the ages still tick), which is most of what an idle
            // dashboard used to cost. A key is answered with a frame at once.
            let activity = Self.activity(snap) &+ backend.sideActivity &* 31
            let age = now.timeIntervalSince(lastFrame)
            if dirty || (activity != lastActivity && age >= refresh) || age >= max(1, refresh) {
                lastActivity = activity
                let (w, h) = terminal.size
                // The pipeline view lists as many top entries as its rows can show (a tall terminal is not
                // left blank under ten); the analytics view scrolls through all of them.
                let model = backend.model(top: state.view == .analytics ? AggregateOperator.publishedTop : max(10, h), rejects: state.showRejects)
                DashboardView.followCursor(&state, model, height: h)
                state.scroll = min(state.scroll, DashboardView.scrollLimit(model, state: state, height: h))
                // The help's lines only while it is open: laying them out (wrapping every description) was
                // a quarter of a busy dashboard's time when done for every frame.
                if state.showHelp {
                    state.helpScroll = min(state.helpScroll, max(0, DashboardView.helpLines(state.keymap, width: w).count - (h - 3)))
                }
                terminal.draw(DashboardView.render(model, state: state, width: w, height: h))
                lastFrame = now
                dirty = false
            }
        }
    }

    /// Whether a `:` command still means something once the run has ended: help, and drill-downs (the
    /// input files are read again for them).
    static func answersAfterTheEnd(_ text: String) -> Bool {
        let words = text.trimmingCharacters(in: .whitespaces).lowercased()
        return OperatorCommand.isHelp(words) || words.hasPrefix("focus ") || words == "focus"
    }

    /// Applies one key; true when it quits.
    private func handle(_ key: Key, _ backend: DashboardBackend) -> Bool {
        var effects: [DashboardEffect] = []
        if case .click(_, let y) = key {
            DashboardReducer.click(&state, y: y, tasks: backend.snapshot().tasks)
        } else if state.filterLine != nil {
            DashboardReducer.editFilter(&state, key)
        } else if state.commandLine != nil {
            effects = DashboardReducer.editCommandLine(&state, key, taskNames: backend.snapshot().tasks.map(\.name))
        } else if state.columnChooser != nil {
            DashboardReducer.editColumns(&state, key)
        } else if key == .escape && state.showHelp {
            state.showHelp = false
        } else if state.drillDown != nil, key == .enter || key == .escape {
            // Back to what it was opened from (the result table stays open under a group row's).
            state.drillDown = nil
            state.message = backend.apply(.focus(nil))
        } else if state.showResults, key == .enter || key == .escape {
            let lines = DashboardView.resultLines(backend.model(top: 10, rejects: false))
            let at = min(max(0, state.resultsScroll), max(0, lines.count - 1))
            if key == .escape {
                state.showResults = false
            } else if lines.indices.contains(at), let focus = lines[at].focus {
                openDrillDown(focus, backend)
            } else {
                state.message = "this row has no keys to drill into (a group-by's groups have) — Esc closes the table"
            }
        } else if state.showResults, let step = [Key.down: 1, .char("j"): 1, .pageDown: 10, .up: -1, .char("k"): -1, .pageUp: -10, .home: -100_000, .end: 100_000][key] {
            state.resultsScroll = DashboardView.moveResultCursor(DashboardView.resultLines(backend.model(top: 10, rejects: false)), from: state.resultsScroll, by: step)
        } else if state.showHelp, let step = [Key.down: 1, .char("j"): 1, .pageDown: 1000, .up: -1, .char("k"): -1, .pageUp: -1000, .home: -100_000, .end: 100_000][key] {
            // The help screen scrolls when it is taller than the terminal (the frame clamps it); a page
            // is what the screen shows.
            let page = max(1, terminal.size.1 - 4)
            let move = abs(step) == 1000 ? step / 1000 * page : step
            state.helpScroll = max(0, min(state.helpScroll + move, 100_000))
        } else if let action = state.keymap.action(for: key) {
            let snap = backend.snapshot()
            effects = DashboardReducer.reduce(&state, action, tasks: snap.tasks, policy: snap.policy, canChangeSpeed: backend.replay != nil)
        } else {
            state.message = "no action on \(key.label) — press ? for help"
        }
        // A finished run has nothing left to steer: say so rather than echo a command nobody carries out.
        let ended = backend.snapshot().finished
        for effect in effects {
            switch effect {
            case .command where ended, .scaleSpeed where ended, .undo where ended:
                state.message = "the run has ended: nothing to change (q quits)"
            case .runCommand(let text) where ended && !Self.answersAfterTheEnd(text):
                state.message = "the run has ended: nothing to change (q quits)"
            case .quit: return true
            case .command(let c):
                awaitingAnswerAfter = (backend.snapshot().decisionCount, undo.count)
                remember(.engine(c), state.message ?? "\(c)", backend)
                let result = backend.apply(.engine(c))
                if result != "sent" { state.message = result }
            case .scaleSpeed(let f):
                guard let replay = backend.replay else { break }
                let v = min(1000, max(0.1, replay.speed.isFinite ? replay.speed * f : 1000))
                remember(.speed(v), "speed", backend)
                state.message = backend.apply(.speed(v))
            case .undo:
                guard let (back, label) = undo.popLast() else {
                    state.message = "nothing to undo"
                    break
                }
                _ = backend.apply(back)
                state.message = "undid: \(label)"
            case .nextTheme:
                nextTheme()
            case .drillDown:
                let (w, h) = terminal.size
                guard let focus = DashboardView.selectedFocus(backend.model(top: AggregateOperator.publishedTop, rejects: false), state: state, width: w, height: h) else {
                    state.message = "nothing selected to drill into"
                    break
                }
                openDrillDown(focus, backend)
            case .runCommand(let text) where OperatorCommand.isHelp(text):
                state.showHelp = true
                state.helpScroll = 0
            case .runCommand(let text):
                do {
                    let command = try backend.parse(text)
                    if case .focus(let focus) = command, let focus {
                        openDrillDown(focus, backend)
                        break
                    }
                    if case .focus(nil) = command { state.drillDown = nil }
                    awaitingAnswerAfter = (backend.snapshot().decisionCount, undo.count)
                    remember(command, text, backend)
                    let result = backend.apply(command)
                    state.message = result == "sent" ? ":\(text)" : result
                } catch {
                    state.message = "\(error)"
                }
            }
        }
        return false
    }

    /// Asks for a drill-down and opens its overlay (over the analytics view) once the request went out;
    /// a refusal (a task that keeps none, a finished run) is said on the status line and opens nothing.
    private func openDrillDown(_ focus: FocusKey, _ backend: DashboardBackend) {
        awaitingAnswerAfter = (backend.snapshot().decisionCount, undo.count)
        let result = backend.apply(.focus(focus))
        // An attached instance answers "sent"; this process, CommandApplier's words.
        state.message = result == "sent" ? CommandApplier.drillDownOpened + "\(focus)" : result
        guard result == "sent" || result.hasPrefix(CommandApplier.drillDownOpened) else { return }
        state.drillDown = focus
        state.view = .analytics
    }

    private func remember(_ command: OperatorCommand, _ label: String, _ backend: DashboardBackend) {
        switch command {
        case .engine(let c):
            if let back = c.inverse(before: backend.snapshot()) { undo.append((.engine(back), label)) }
        case .speed:
            if let replay = backend.replay { undo.append((.speed(replay.speed.isFinite ? replay.speed : nil), label)) }
        case .replayPause(let p):
            if let replay = backend.replay { undo.append((.replayPause(p == nil ? nil : replay.paused), label)) }
        case .step, .seek, .focus:
            break
        }
        if undo.count > 100 { undo.removeFirst() }
    }

    private func nextTheme() {
        let all = ThemesCommand.available()
        guard !all.isEmpty else { return }
        let current = all.firstIndex { $0.name == currentTheme } ?? -1
        let next = all[(current + 1) % all.count]
        if let (t, _) = try? Theme.load(next.path, directories: []) {
            terminal.setTheme(t)
            currentTheme = next.name
            state.message = "theme \(next.name)"
        }
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
