import Foundation
import StreamtopEngine
import StreamtopAnalytics

/// What the dashboard shows besides the engine's data: selection, overlays, the last message.
public struct DashboardState: Equatable, Sendable {
    /// The main views.
    public enum View: String, CaseIterable, Sendable {
        /// Tasks, throughput, top analytics and the latest decisions.
        case pipeline
        /// The decision log, full screen, scrollable and filterable.
        case decisions
        /// Top paths and clients, status codes and methods, sortable and filterable.
        case analytics
    }
    /// The view on screen.
    public var view = View.pipeline
    /// The committed filter (substring, case-insensitive) for the decisions and analytics views.
    public var filter = ""
    /// The filter being typed after `/`, or nil.
    public var filterLine: String?
    /// Rows scrolled in the decisions or analytics view.
    public var scroll = 0
    /// Analytics sorted by name instead of by count.
    public var sortByName = false
    /// How the task table is ordered.
    public var taskSort = TaskSort.graph
    /// Index of the selected task in the snapshot's task list.
    public var selected = 1
    /// What the throughput graph spans.
    public var graphSpan = GraphSpan.live
    /// When the health strip warns and alerts.
    public var thresholds = HealthThresholds()
    /// Whether the help screen is open.
    public var showHelp = false
    /// Task table columns the operator hid (F2).
    public var hiddenColumns: Set<TaskColumn> = []
    /// The column chooser (F2) when open: the row its cursor is on.
    public var columnChooser: Int?
    /// Rows scrolled in the help screen, when it is taller than the terminal.
    public var helpScroll = 0
    /// The analytics view's lists, ← and → move between them.
    public enum Panel: String, CaseIterable, Sendable {
        case paths, clients, status
        /// The pipeline's own results (Enter shows their whole tables).
        case results

        /// As the status line names it.
        public var label: String {
            switch self {
            case .paths: return "top paths"
            case .clients: return "top clients"
            case .status: return "status codes"
            case .results: return "pipeline results"
            }
        }
    }
    /// The analytics view's selected list, and the selected row in it (index in the list as shown,
    /// filtered and sorted; the frame keeps it within the list and in sight).
    public var panel = Panel.paths
    public var cursor = 0
    /// The drill-down open over the analytics view (Enter on a row), or nil.
    public var drillDown: FocusKey?
    /// Whether the pipeline results' whole tables are open (Enter in the analytics view), and the line
    /// selected in them (Enter on a row with keys drills into it).
    public var showResults = false
    public var resultsScroll = 0
    /// Whether the rejected-lines view is open.
    public var showRejects = false
    /// A short message for the status line (the result of the last key).
    public var message: String?
    /// The command being typed after `:`, or nil when the command line is closed.
    public var commandLine: String?
    /// The key bindings in force (the help screen and hint bar are drawn from them).
    public var keymap = Keymap.standard
    /// Creates the initial state.
    public init() {}
}

/// What applying an action asks the outside world to do.
public enum DashboardEffect: Equatable, Sendable {
    /// Send a command to the engine.
    case command(ControlCommand)
    /// Multiply the replay speed.
    case scaleSpeed(Double)
    /// Run a typed command (the runner parses it against the live task list).
    case runCommand(String)
    /// Switch to the next theme.
    case nextTheme
    /// Open a drill-down on the analytics view's selected row (the loop looks up what the row holds,
    /// `DashboardView.selectedFocus`).
    case drillDown
    /// Revert the last operator action.
    case undo
    /// Leave the dashboard.
    case quit
}

/// The one place where actions change the dashboard state.
public enum DashboardReducer {
    /// Applies `action` given the tasks on screen; returns the effects to carry out.
    public static func reduce(_ state: inout DashboardState, _ action: Action, tasks: [TaskSnapshot], policy: String = "", canChangeSpeed: Bool) -> [DashboardEffect] {
        let count = tasks.count
        if count > 0 { state.selected = min(max(state.selected, 0), count - 1) }
        let task = count > 0 ? tasks[state.selected] : nil
        switch action {
        case .selectNext where state.view == .analytics:
            state.cursor += 1
        case .selectPrevious where state.view == .analytics:
            state.cursor = max(0, state.cursor - 1)
        case .scrollDown where state.view == .analytics:
            state.cursor += 10
        case .scrollUp where state.view == .analytics:
            state.cursor = max(0, state.cursor - 10)
        case .first where state.view == .analytics:
            state.cursor = 0
        case .last where state.view == .analytics:
            // The frame clamps it to the end of the list.
            state.cursor = Int.max / 2
        case .nextPanel, .previousPanel:
            guard state.view == .analytics else {
                state.message = "← and → move between the analytics view's lists (Tab)"
                return []
            }
            let all = DashboardState.Panel.allCases
            let step = action == .nextPanel ? 1 : all.count - 1
            state.panel = all[(all.firstIndex(of: state.panel)! + step) % all.count]
            state.cursor = 0
            state.message = "\(state.panel.label): Enter \(state.panel == .results ? "shows their whole tables" : "drills down")"
        case .open:
            guard state.view == .analytics else {
                state.message = "Enter drills into a path, client or status in the analytics view (Tab)"
                return []
            }
            if state.panel == .results {
                state.showResults = true
                // The first task's first row (line 0 is its name).
                state.resultsScroll = 1
            } else {
                return [.drillDown]
            }
        case .selectNext where state.view != .pipeline:
            state.scroll += 1
        case .selectPrevious where state.view != .pipeline:
            state.scroll = max(0, state.scroll - 1)
        case .selectNext, .selectPrevious:
            // Up and down follow the table as shown (sorted or in the graph's order).
            let order = state.taskSort.order(tasks)
            if let at = order.firstIndex(of: state.selected) {
                state.selected = order[action == .selectNext ? min(at + 1, count - 1) : max(at - 1, 0)]
            }
        case .first where state.view != .pipeline:
            state.scroll = 0
        case .last where state.view != .pipeline:
            // The frame clamps it to the end of the list (`DashboardView.scrollLimit`).
            state.scroll = Int.max / 2
        case .first:
            state.selected = state.taskSort.order(tasks).first ?? 0
        case .last:
            state.selected = state.taskSort.order(tasks).last ?? 0
        case .scrollDown:
            state.scroll += 10
        case .scrollUp:
            state.scroll = max(0, state.scroll - 10)
        case .nextView:
            let all = DashboardState.View.allCases
            state.view = all[(all.firstIndex(of: state.view)! + 1) % all.count]
            state.scroll = 0
            state.message = "\(state.view.rawValue) view"
        case .filter:
            state.filterLine = state.filter
        case .graphSpan:
            let all = GraphSpan.allCases
            state.graphSpan = all[(all.firstIndex(of: state.graphSpan)! + 1) % all.count]
            state.message = "graph: \(state.graphSpan.label)"
        case .toggleSort where state.view == .pipeline:
            state.taskSort = state.taskSort.next(skipping: state.hiddenColumns)
            state.message = state.taskSort == .graph ? "tasks in the graph's order" : "tasks sorted by \(state.taskSort.rawValue), largest first"
        case .toggleSort:
            state.sortByName.toggle()
            state.message = state.sortByName ? "sorted by name" : "sorted by count"
        case .toggleHelp:
            state.showHelp.toggle()
            state.helpScroll = 0
        case .chooseColumns:
            state.columnChooser = state.columnChooser == nil ? 0 : nil
        case .toggleRejects:
            state.showRejects.toggle()
        case .cycleTheme:
            return [.nextTheme]
        case .undo:
            return [.undo]
        case .quit:
            return [.quit]
        case .togglePause:
            guard let t = task else { return [] }
            state.message = t.state == .paused ? "resuming \(t.name)" : "pausing \(t.name)"
            return [.command(.togglePause(t.id))]
        case .priorityUp, .priorityDown:
            guard let t = task else { return [] }
            let d = action == .priorityUp ? 1 : -1
            state.message = "\(t.name) priority \(t.priority) → \(t.priority + d)"
            return [.command(.adjustPriority(t.id, d))]
        case .addWorker, .removeWorker:
            guard let t = task else { return [] }
            if action == .addWorker && t.workers >= t.maxParallelism {
                // Say why nothing changes rather than pretend.
                state.message = t.maxParallelism == 1
                    ? "\(t.name) runs on one worker: \(t.id.index == 0 ? "the source has one reader" : "its state follows the order of events")"
                    : "\(t.name) already has \(t.workers) workers, its limit (workers in the pool or the operator's)"
                return []
            }
            state.message = action == .addWorker ? "one more worker for \(t.name)" : "one fewer worker for \(t.name)"
            return [.command(.adjustWorkers(t.id, action == .addWorker ? 1 : -1))]
        case .togglePin:
            guard let t = task, t.id.index > 0 else {
                state.message = "the source has one reader; nothing to pin"
                return []
            }
            state.message = t.pinned ? "unpinning \(t.name)" : "pinning \(t.name) at \(t.workers) workers"
            return [.command(.togglePin(t.id))]
        case .cyclePolicy:
            let all = SchedulingPolicy.allCases
            let current = all.firstIndex { $0.rawValue == policy } ?? 0
            let next = all[(current + 1) % all.count]
            state.message = "policy \(next.rawValue)"
            return [.command(.setPolicy(next))]
        case .commandLine:
            state.commandLine = ""
            state.message = nil
        case .replayPause:
            return [.runCommand("replay toggle")]
        case .replayStep:
            return [.runCommand("step 10s")]
        case .replayFaster, .replaySlower:
            guard canChangeSpeed else {
                state.message = "speed applies to paced replays only"
                return []
            }
            return [.scaleSpeed(action == .replayFaster ? 2 : 0.5)]
        }
        return []
    }
}

extension DashboardReducer {
    /// Handles a key while the column chooser (F2) is open: ↑/↓ move, Space or Enter shows or hides the
    /// column, Esc, F2 or q closes it. The table follows at once; the message gives the settings line that
    /// keeps the choice.
    public static func editColumns(_ state: inout DashboardState, _ key: Key) {
        guard let at = state.columnChooser else { return }
        let all = TaskColumn.allCases
        switch key {
        case .down, .char("j"): state.columnChooser = min(at + 1, all.count - 1)
        case .up, .char("k"): state.columnChooser = max(at - 1, 0)
        case .home: state.columnChooser = 0
        case .end: state.columnChooser = all.count - 1
        case .char(" "), .enter:
            let column = all[at]
            if state.hiddenColumns.contains(column) { state.hiddenColumns.remove(column) } else { state.hiddenColumns.insert(column) }
            // The settings line that keeps the choice is in the chooser's box (the status line is too short).
            state.message = "\(column.header) \(state.hiddenColumns.contains(column) ? "hidden" : "shown")"
            if let c = state.taskSort.column, state.hiddenColumns.contains(c) { state.taskSort = .graph }
        case .escape, .function(2), .char("q"): state.columnChooser = nil
        default: state.message = "in the column chooser: ↑/↓ move, Space shows or hides, Esc closes"
        }
    }
}

extension DashboardReducer {
    /// Handles a key while the command line is open: editing, Enter runs, Esc cancels.
    public static func editCommandLine(_ state: inout DashboardState, _ key: Key, taskNames: [String] = []) -> [DashboardEffect] {
        guard var text = state.commandLine else { return [] }
        switch key {
        case .tab:
            complete(&state, text, taskNames: taskNames)
        case .escape:
            state.commandLine = nil
        case .enter:
            state.commandLine = nil
            let command = text.trimmingCharacters(in: .whitespaces)
            return command.isEmpty ? [] : [.runCommand(command)]
        case .backspace:
            if text.isEmpty { state.commandLine = nil } else {
                text.removeLast()
                state.commandLine = text
            }
        case .char(let c):
            if text.count < 200 { state.commandLine = text + String(c) }
            state.message = nil
        default:
            break
        }
        return []
    }
}

extension DashboardReducer {
    /// Commands the `:` line completes (the first words of `OperatorCommand.grammar`, and help).
    static var commandWords: [String] {
        var seen = Set<String>()
        return (OperatorCommand.grammar.compactMap { $0.split(separator: " ").first.map(String.init) } + ["help"]).filter { seen.insert($0).inserted }
    }

    /// Tab on the `:` line: completes the word being typed — a command first, then a task name, a policy,
    /// or replay's argument — as far as the candidates agree, and lists them when several remain.
    static func complete(_ state: inout DashboardState, _ text: String, taskNames: [String]) {
        var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let partial = words.last ?? ""
        let candidates: [String]
        switch words.count {
        case 1: candidates = commandWords
        case 2:
            switch words[0].lowercased() {
            case "pause", "resume", "priority", "workers", "pin", "unpin": candidates = taskNames
            case "policy": candidates = ["strict", "fair", "adaptive"]
            case "replay": candidates = ["pause", "resume"]
            case "speed": candidates = ["max"]
            default: candidates = []
            }
        default: candidates = []
        }
        let matching = candidates.filter { $0.lowercased().hasPrefix(partial.lowercased()) }
        guard let first = matching.first else {
            state.message = candidates.isEmpty ? "nothing to complete here" : "no match for '\(partial)'"
            return
        }
        if matching.count == 1 {
            words[words.count - 1] = first
            state.commandLine = words.joined(separator: " ") + " "
            state.message = nil
            return
        }
        // The longest prefix they share, then the choices.
        var common = first
        for m in matching.dropFirst() {
            while !m.lowercased().hasPrefix(common.lowercased()) { common.removeLast() }
        }
        if common.count > partial.count {
            words[words.count - 1] = common
            state.commandLine = words.joined(separator: " ")
        }
        state.message = matching.joined(separator: "  ")
    }

    /// A click on the task table selects the task under it.
    public static func click(_ state: inout DashboardState, y: Int, tasks: [TaskSnapshot]) {
        guard state.commandLine == nil, !state.showHelp, let row = DashboardView.task(atRow: y, taskCount: tasks.count) else { return }
        let i = state.taskSort.order(tasks)[row]
        state.selected = i
        state.message = "selected \(tasks[i].name)"
    }
}

extension DashboardReducer {
    /// Handles a key while the filter line is open: editing, Enter applies, Esc cancels.
    public static func editFilter(_ state: inout DashboardState, _ key: Key) {
        guard var text = state.filterLine else { return }
        switch key {
        case .escape: state.filterLine = nil
        case .enter:
            state.filter = text.trimmingCharacters(in: .whitespaces)
            state.filterLine = nil
            state.scroll = 0
            state.message = state.filter.isEmpty ? "filter cleared" : "filter: \(state.filter)"
        case .backspace:
            if !text.isEmpty { text.removeLast() }
            state.filterLine = text
        case .char(let c):
            if text.count < 100 { state.filterLine = text + String(c) }
        default: break
        }
    }
}
