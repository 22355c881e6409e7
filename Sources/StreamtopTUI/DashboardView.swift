import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// Renders a dashboard frame into a screen buffer. Pure: the same model, state and size give the same cells.
public enum DashboardView {
    /// Smallest terminal the layout fits.
    /// Below 80×24 the layout drops what matters least (latency medians, queue bars, the throughput graph)
    /// rather than refusing: 80×23 is an 80×24 terminal with a tmux status line, 100×20 a split pane.
    public static let minimumSize = (width: 60, height: 15)

    /// The screen row of the first task in the task table (the header, the bottleneck line and the
    /// table's own header come first).
    public static let firstTaskRow = 5

    /// The task a click on row `y` selects, if any.
    public static func task(atRow y: Int, taskCount: Int) -> Int? {
        let i = y - firstTaskRow
        return i >= 0 && i < taskCount ? i : nil
    }

    /// Draws one frame.
    public static func render(_ model: DashboardModel, state: DashboardState, width: Int, height: Int) -> ScreenBuffer {
        var buf = ScreenBuffer(width: width, height: height)
        guard width >= minimumSize.width, height >= minimumSize.height else {
            drawTooSmall(&buf)
            return buf
        }
        drawHeader(&buf, model)
        drawHealth(&buf, model.summary.health, state.thresholds, y: 2)
        if let advice = inputProblem(model) ?? state.thresholds.alert(model.summary.health?.minute, fiveMinutes: model.summary.health?.fiveMinutes).map({ BottleneckAdvisor.Advice(text: $0, role: .error) })
            ?? BottleneckAdvisor.advise(model.engine) {
            buf.put(Sanitizer.truncate(advice.text, to: buf.width - 2), x: 1, y: 3, role: advice.role)
        }
        switch state.view {
        case .pipeline:
            var y = firstTaskRow - 1
            y = drawTasks(&buf, model, state, y: y)
            y += 1
            // The graphs need their rows plus room for the analytics under them; with many tasks, the input's
            // graph alone on two rows (g still changes its span, which a hidden graph could not show).
            if height - 1 - y >= 12 {
                y = drawThroughput(&buf, model, state, y: y)
            } else if height - 1 - y >= 5 {
                y = drawThroughput(&buf, model, state, y: y, compact: true)
            }
            let remaining = height - 1 - y  // the last row is the hint bar
            let analyticsRows = remaining >= 12 ? max(6, remaining * 11 / 20) : remaining
            if analyticsRows >= 2 { drawAnalytics(&buf, model, y: y, rows: analyticsRows) }
            if remaining - analyticsRows >= 2 { drawDecisions(&buf, model, y: y + analyticsRows, rows: remaining - analyticsRows) }
        case .decisions:
            drawDecisionLog(&buf, model, state, y: 4, rows: height - 5)
        case .analytics:
            drawAnalyticsView(&buf, model, state, y: 4, rows: height - 5)
        }
        drawHints(&buf, state)
        if state.showRejects { drawRejects(&buf, model) }
        if state.showResults { drawResults(&buf, model, cursor: state.resultsScroll) }
        if let focus = state.drillDown { drawDrillDown(&buf, model, focus) }
        if let at = state.columnChooser { drawColumnChooser(&buf, state.hiddenColumns, cursor: at) }
        if state.showHelp { drawHelp(&buf, state.keymap, scroll: state.helpScroll) }
        return buf
    }

    /// The column chooser (F2): a box at the bottom, so the task table above it shows each change at once.
    static func drawColumnChooser(_ buf: inout ScreenBuffer, _ hidden: Set<TaskColumn>, cursor: Int) {
        let columns = TaskColumn.allCases
        let height = min(columns.count + 4, buf.height - firstTaskRow - 2)
        let width = min(buf.width - 4, 76)
        guard height >= 4 else { return }
        let (x0, y0) = (2, buf.height - 1 - height)
        // Whole rows are cleared: nothing of the panel underneath shows beside the box.
        buf.fill(x: 0, y: y0, width: buf.width, height: height, role: .normal)
        buf.fill(x: x0, y: y0, width: width, height: height, role: .help)
        buf.put(Sanitizer.truncate(" Task table columns — Space shows or hides, Esc closes", to: width - 1), x: x0, y: y0, role: .label)
        // The line that keeps the choice, at the box's foot.
        let keep = hidden.isEmpty ? "every column shown" : "to keep it, in settings.toml: " + TaskColumn.settingsLine(hidden)
        buf.put(Sanitizer.truncate(" " + keep, to: width - 1), x: x0, y: y0 + height - 1, role: .dim)
        // The cursor's row stays in the box when it is shorter than the list.
        let rows = height - 3
        let first = min(max(0, cursor - rows + 1), columns.count - rows)
        for (i, column) in columns.enumerated().dropFirst(max(0, first)).prefix(rows) {
            let y = y0 + 1 + i - max(0, first)
            let role: Role = i == cursor ? .selected : .help
            if i == cursor { buf.fill(x: x0, y: y, width: width, role: .selected) }
            let mark = hidden.contains(column) ? "[ ]" : "[x]"
            // Columns this width leaves out anyway say so: toggling them would change nothing in sight.
            let absent = (column == .p50 && buf.width < 80) || (column == .busy && buf.width < 100)
            let help = absent ? "(not at this width) " + column.help : column.help
            buf.put(Sanitizer.truncate(" \(mark) \(Format.padded(column.header, 6)) \(help)", to: width - 1), x: x0, y: y, role: role)
        }
    }

    /// A problem with the input that matters more than how the pipeline keeps up: a missing file, or an
    /// input that mostly does not parse (then no known format fits, and the decision log says which came
    /// closest).
    static func inputProblem(_ m: DashboardModel) -> BottleneckAdvisor.Advice? {
        if let w = m.inputWarning { return .init(text: w, role: .error) }
        let s = m.summary
        guard s.lines >= 20, s.malformed * 2 >= s.lines else { return nil }
        let share = Int((Double(s.malformed) * 100 / Double(s.lines)).rounded())
        let detection = m.engine.decisions.last { $0.kind == .formatDetected && $0.action == "no format fits" }
        let why = detection.map { ": " + $0.reason } ?? ": is the format right? (--format, --nginx-format, --apache-format)"
        return .init(text: "\(share)% of lines are malformed\(why) — r shows them", role: .error)
    }

    /// The site at a glance: the last minute's request rate, error shares, served time and bandwidth, then
    /// the last five minutes' where the width allows; values past their thresholds in the warning or error
    /// colour.
    static func drawHealth(_ buf: inout ScreenBuffer, _ health: SiteHealth?, _ limits: HealthThresholds, y: Int) {
        var x = buf.put(" site ", x: 0, y: y, role: .label)
        guard let minute = health?.minute else {
            buf.put("no requests yet", x: x, y: y, role: .dim)
            return
        }
        func percent(_ v: Double) -> String { v == 0 ? "0%" : v >= 0.0995 ? Format.fixed(v * 100, 0) + "%" : Format.fixed(v * 100, 1) + "%" }
        // A quiet site's rate has decimals (0.4 req/s is not 0).
        func rate(_ v: Double) -> String { v < 9.95 ? Format.fixed(v, 1) : Format.count(v) }
        func items(_ w: SiteHealth.Window) -> [(String, Role)] {
            var out: [(String, Role)] = [
                ("\(rate(w.perSecond)) req/s", .headerValue),
                ("4xx \(percent(w.clientErrorShare))", w.clientErrorShare >= limits.clientErrorWarning ? .warning : .normal),
                ("5xx \(percent(w.serverErrorShare))",
                 w.serverErrorShare >= limits.serverErrorAlert ? .error : w.serverErrorShare >= limits.serverErrorWarning ? .warning : .normal),
            ]
            if let p50 = w.servedP50, let p99 = w.servedP99 {
                out.append(("served p50 \(Format.duration(p50 * 1000)) p99 \(Format.duration(p99 * 1000))", p99 >= limits.slowP99Micros ? .warning : .normal))
            }
            out.append((Format.bytes(Int(w.bytesPerSecond)) + "/s", .normal))
            return out
        }
        x += buf.put("last min ", x: x, y: y, role: .dim)
        for (text, role) in items(minute) where x + Sanitizer.width(of: text) + 2 < buf.width {
            x += buf.put(text + "  ", x: x, y: y, role: role)
        }
        guard let five = health?.fiveMinutes, five.seconds > minute.seconds else { return }
        let rest = items(five).prefix(3)
        let need = 12 + rest.reduce(0) { $0 + Sanitizer.width(of: $1.0) + 2 }
        guard x + need < buf.width else { return }
        x += buf.put("│ 5 min ", x: x, y: y, role: .dim)
        for (text, role) in rest { x += buf.put(text + "  ", x: x, y: y, role: role) }
    }

    static func drawTooSmall(_ buf: inout ScreenBuffer, needs minimumSize: (width: Int, height: Int) = minimumSize) {
        // The longest wording that fits: even a 20×5 pane says what is wrong and how to leave.
        let lines = buf.width >= 40
            ? ["Terminal too small: \(buf.width)×\(buf.height)", "streamtop needs \(minimumSize.width)×\(minimumSize.height).", "Enlarge the window, or press q to quit."]
            : ["too small", "needs \(minimumSize.width)×\(minimumSize.height)", "q quits"]
        for (i, l) in lines.enumerated() {
            let y = buf.height / 2 - 1 + i
            let x = max(0, (buf.width - Sanitizer.width(of: l)) / 2)
            buf.put(l, x: x, y: y, role: i == 0 ? .warning : .normal)
        }
    }

    static func drawHeader(_ buf: inout ScreenBuffer, _ m: DashboardModel) {
        buf.fill(x: 0, y: 0, width: buf.width, height: 2, role: .header)
        var x = buf.put(" streamtop ", x: 0, y: 0, role: .title)
        // An attached instance that stopped answering says so before anything else: on a narrow terminal
        // the rest of the line would leave it no room, and a frozen frame would pass for a live one.
        if let r = m.remote, let since = r.lostSince {
            x += buf.put(" ⇄ UNREACHABLE since \(since) ", x: x, y: 0, role: .headerWarning)
        }
        // A rehearsal is never mistaken for a real incident: it is named first, marked as a warning.
        if let injected = m.engine.injections, !injected.isEmpty {
            let text = " REHEARSAL: " + injected.joined(separator: "; ") + " "
            x += buf.put(Sanitizer.truncate(text, to: max(14, buf.width * 2 / 5)), x: x, y: 0, role: .headerWarning)
        }
        x += buf.put(" " + Sanitizer.truncate(m.source, to: 32), x: x, y: 0, role: .header)
        if m.engine.finished {
            // A finished run says so: its last speed and rates are history.
            x += buf.put("  ■ ", x: x, y: 0, role: .header)
            x += buf.put("ended", x: x, y: 0, role: .headerValue)
        } else if let speed = m.speed {
            x += buf.put(m.replayPaused ? "  ‖ " : "  ▶ ", x: x, y: 0, role: .header)
            x += buf.put(m.replayPaused ? "paused" : speed, x: x, y: 0, role: m.replayPaused ? .headerWarning : .headerValue)
            // A looping replay says it started over: the counts keep adding up across passes.
            if let pass = m.replayPass, pass > 1 { x += buf.put(" ↻ pass \(pass)", x: x, y: 0, role: .headerValue) }
        }
        let elapsed = m.engine.time < 1 ? Format.duration(UInt64(m.engine.time * 1e9)) : Format.elapsed(m.engine.time)
        let state = (m.engine.finished ? "finished in " : "up ") + elapsed
        // Room the right end needs: the replay position gives way to it (the date first, then the time).
        let room = buf.width - x - Sanitizer.width(of: state) - 2
        if let pos = m.replayPosition, pos > 0, room >= 14 {
            let (y4, mo, d, _, _, _) = LogTime.civil(pos)
            x += buf.put("  at ", x: x, y: 0, role: .header)
            x += buf.put((room >= 25 ? String(format: "%04d-%02d-%02d ", y4, mo, d) : "") + LogTime.clock(pos), x: x, y: 0, role: .headerValue)
            // Log times are shown (and :seek reads them) in UTC, whatever offset the lines carry.
            if room >= 29 { x += buf.put(" UTC", x: x, y: 0, role: .header) }
            if let span = m.recordingSpan, span.upperBound > span.lowerBound, buf.width >= 100,
                x + 18 <= buf.width - Sanitizer.width(of: state) - 2 {
                // Where the replay stands in the recording.
                let fraction = min(1, max(0, Double(pos - span.lowerBound) / Double(span.upperBound - span.lowerBound)))
                let width = 12
                let filled = Int((fraction * Double(width)).rounded())
                x += buf.put("  ", x: x, y: 0, role: .header)
                x += buf.put(String(repeating: "█", count: filled), x: x, y: 0, role: .headerValue)
                x += buf.put(String(repeating: "░", count: width - filled), x: x, y: 0, role: .header)
                x += buf.put(" \(Int((fraction * 100).rounded()))%", x: x, y: 0, role: .header)
            }
        }
        // On a narrow terminal the left part may leave no room: the elapsed time alone, or nothing, rather
        // than one written over the other ("■ endefinished in 46.1s").
        let fitting = [state, elapsed].first { x + Sanitizer.width(of: $0) + 2 <= buf.width } ?? ""
        var right = fitting.isEmpty ? buf.width : buf.width - buf.putRight(fitting + " ", right: buf.width, y: 0, role: .header)
        if let r = m.remote {
            // An attached dashboard: which instance, and whether what it shows is current (the longest
            // wording that fits).
            let stale = r.lostSince != nil || r.age >= 2
            let age = r.age < 10 ? Format.fixed(r.age, 1) + " s" : Format.elapsed(r.age)
            let choices = r.lostSince != nil
                ? ["\(r.endpoint)\(r.reason.map { " (\($0))" } ?? ""), retrying · ", "\(r.endpoint) · ", ""]
                : ["⇄ \(r.endpoint) · data \(age) old · ", "⇄ \(r.endpoint) · ", "⇄ "]
            let room = right - x - 1
            if let link = choices.first(where: { Sanitizer.width(of: $0) <= room }) {
                right -= buf.putRight(link, right: right, y: 0, role: stale ? .headerWarning : .header)
            }
        }

        // Totals line.
        let s = m.summary
        let rate = m.engine.tasks.first.map { rates($0, m.engine).out } ?? 0
        var items: [(String, String, Role)] = [
            ("lines", Format.grouped(s.lines), .headerValue),
            (m.engine.finished ? "avg rate" : "rate", Format.count(rate) + "/s", .headerValue),
            ("records", Format.grouped(s.records), .headerValue),
            ("malformed", Format.grouped(s.malformed), s.malformed * 2 >= max(1, s.lines) && s.malformed > 0 ? .error : s.malformed > 0 ? .warning : .headerValue),
            ("clients", Format.grouped(s.uniqueClients), .headerValue),
        ]
        if let rt = s.requestTime {
            items.append(("served p50/p99", Format.duration(rt.p50 * 1000) + "/" + Format.duration(rt.p99 * 1000), .headerValue))
        }
        let e2e = m.engine.endToEndLatency
        if e2e.count > 0 { items.append(("e2e p99", Format.duration(e2e.p99), .headerValue)) }
        // A followed input: how far behind it the pipeline is.
        if let behind = m.backlogBytes { items.append(("behind", Format.bytes(Int(behind)), behind > 16 << 20 ? .warning : .headerValue)) }
        if let k = m.partitions {
            let owned = k.partitions.isEmpty ? "none" : k.partitions.map(String.init).joined(separator: ",")
            items.append(("partitions", owned, k.partitions.isEmpty ? .warning : .headerValue))
            // Unknown until the brokers said where the partitions end and where reading starts.
            items.append(("lag", k.totalLag.map { Format.count(Double($0)) + " msgs" } ?? "?", (k.totalLag ?? 0) > 1_000_000 ? .warning : .headerValue))
        }
        if let lag = m.eventLag { items.append(("event lag", lag < 60 ? Format.fixed(lag, 1) + "s" : Format.elapsed(lag), lag > 60 ? .warning : .headerValue)) }
        if let c = m.engine.checkpoint { items.append(checkpointItem(c, now: m.engine.time)) }
        // The process itself, as htop would show it.
        if let cpu = m.processCPU { items.append(("cpu", Format.fixed(cpu * 100, cpu < 0.1 ? 1 : 0) + "%", cpu >= 1.5 ? .warning : .headerValue)) }
        if let rss = m.processRSS { items.append(("rss", Format.bytes(rss), .headerValue)) }
        items.append(("workers", "\(m.engine.workers)", .headerValue))
        items.append(("policy", m.engine.policy, .headerValue))
        var cx = 1
        for (label, value, role) in items {
            let w = Sanitizer.width(of: label) + 1 + Sanitizer.width(of: value) + 2
            if cx + w > buf.width { break }
            cx += buf.put(label + " ", x: cx, y: 1, role: .header)
            cx += buf.put(value, x: cx, y: 1, role: role == .warning ? .headerWarning : role)
            cx += 2
        }
    }

    /// The last checkpoint in the totals line: its number, age, pause and size; a failed attempt in the
    /// warning colour with its count (the reason is in the decision log).
    static func checkpointItem(_ c: CheckpointStatus, now: Double) -> (String, String, Role) {
        if c.failure != nil {
            return ("checkpoint", "FAILED ×\(c.failures)" + (c.number > 0 ? ", last #\(c.number)" : ""), .warning)
        }
        guard c.number > 0 else { return ("checkpoint", "none yet", .headerValue) }
        guard c.time > 0 || c.restored != c.number else { return ("checkpoint", "#\(c.number) restored", .headerValue) }
        let age = Format.elapsed(max(0, now - c.time))
        return ("checkpoint", "#\(c.number) \(age) ago, \(Format.duration(c.pauseNanos)) pause, \(Format.bytes(c.bytes))", .headerValue)
    }

    /// A task's rates as shown: the last second's while running; once the run finished, its averages over
    /// the whole run (the last second's would stay on screen forever).
    static func rates(_ t: TaskSnapshot, _ e: EngineSnapshot) -> (in: Double, out: Double) {
        guard e.finished, e.time > 0 else { return (t.inPerSecond, t.outPerSecond) }
        return (Double(t.recordsIn) / e.time, Double(t.recordsOut) / e.time)
    }

    static func stateLabel(_ s: TaskState) -> (String, Role) {
        switch s {
        case .running: return ("running", .taskRunning)
        case .paused: return ("PAUSED", .taskPaused)
        case .stalled: return ("STALLED", .taskPaused)
        case .backpressured: return ("blocked", .taskBackpressured)
        case .idle: return ("idle", .taskIdle)
        case .finished: return ("done", .taskFinished)
        }
    }

    static func drawTasks(_ buf: inout ScreenBuffer, _ m: DashboardModel, _ state: DashboardState, y: Int) -> Int {
        let w = buf.width
        // Columns: marker, name (with the graph's shape), state, in/s, out/s, p50, p99, queue bar + count,
        // workers, priority. Wider terminals give the names room first, then the queue bar.
        // Sorted by a column, the table is a ranking: the graph's shape is not drawn.
        let tree = state.taskSort == .graph ? TaskTree.prefixes(m.engine.tasks) : m.engine.tasks.map { _ in "" }
        let longest = zip(tree, m.engine.tasks).map { Sanitizer.width(of: $0) + Sanitizer.width(of: $1.name) }.max() ?? 0
        // Narrower than 80: no median, no queue bar (the queue as depth/capacity), priority when it fits.
        let narrow = w < 80
        let hidden = state.hiddenColumns.union(narrow ? [.p50] : [])
        // From 100 columns: how busy each task's workers are (htop's CPU%), before the queue.
        let busy = w >= 100 && !hidden.contains(.busy) ? 6 : 0
        // What the hidden columns (F2) leave free goes to the names, then to the queue bar.
        let freed = hidden.subtracting([.busy]).reduce(0) { $0 + $1.width }
        let nameWidth = max(10, min(longest, 24, w - 96 + freed))
        let shift = nameWidth - 10
        // The bar stops at 40 cells: past that it only spreads the numbers apart.
        let barWidth = narrow ? 0 : max(8, min(40, w - 74 - shift - busy + freed))
        // Each shown column starts where the one before it ends.
        var at: [TaskColumn: Int] = [:]
        var next = 13 + shift
        for column in TaskColumn.allCases where !hidden.contains(column) {
            let width = switch column {
            case .busy: busy
            case .queue: narrow ? 6 : barWidth + 7
            case .workers: narrow ? 2 : 4
            default: column.width
            }
            guard width > 0 else { continue }
            at[column] = next
            next += width
        }
        let showPriority = at[.priority].map { !narrow || $0 + 5 <= w } ?? false
        let nameX = 2
        buf.fill(x: 0, y: y, width: w, role: .tableHeader)
        buf.put("TASK", x: nameX, y: y, role: .tableHeader)
        if let x = at[.state] { buf.put("STATE", x: x, y: y, role: .tableHeader) }
        if let x = at[.inRate] { buf.putRight(m.engine.finished ? "avg in/s" : "IN/s", right: x + 8, y: y, role: .tableHeader) }
        if let x = at[.outRate] { buf.putRight(m.engine.finished ? "avg out" : "OUT/s", right: x + 8, y: y, role: .tableHeader) }
        if let x = at[.p50] { buf.putRight("p50", right: x + 8, y: y, role: .tableHeader) }
        if let x = at[.p99] { buf.putRight("p99", right: x + 8, y: y, role: .tableHeader) }
        if let x = at[.queue] {
            if narrow { buf.putRight("QUEUE", right: x + 6, y: y, role: .tableHeader) } else { buf.put("QUEUE", x: x, y: y, role: .tableHeader) }
        }
        if let x = at[.busy] { buf.putRight("BUSY", right: x + 5, y: y, role: .tableHeader) }
        if let x = at[.workers] { buf.putRight("W", right: x + 3, y: y, role: .tableHeader) }
        if showPriority, let x = at[.priority] { buf.putRight("PRI", right: min(w, x + 5), y: y, role: .tableHeader) }
        if state.taskSort != .graph {
            // The column the table is sorted by: its header marked ▼ in the selection colour.
            let mark: (x: Int, right: Bool)? = switch state.taskSort {
            case .inRate: at[.inRate].map { ($0 + 8, true) }
            case .outRate: at[.outRate].map { ($0 + 8, true) }
            case .p99: at[.p99].map { ($0 + 8, true) }
            case .busy: at[.busy].map { ($0 + 5, true) }
            case .queue: at[.queue].map { narrow ? ($0 + 6, true) : ($0, false) }
            case .workers: at[.workers].map { ($0 + 3, true) }
            case .priority: showPriority ? at[.priority].map { (min(w, $0 + 5), true) } : nil
            case .graph: nil
            }
            let label = state.taskSort.rawValue
            if let mark, mark.right { buf.putRight("▼" + label, right: mark.x, y: y, role: .selected) }
            if let mark, !mark.right { buf.put(label + "▼", x: mark.x, y: y, role: .selected) }
        }
        var row = y + 1
        for i in state.taskSort.order(m.engine.tasks) {
            let t = m.engine.tasks[i]
            let selected = i == state.selected
            if selected { buf.fill(x: 0, y: row, width: w, role: .selected) }
            let base: Role = selected ? .selected : .normal
            buf.put(selected ? "▶" : " ", x: 0, y: row, role: base)
            let prefix = tree.indices.contains(i) ? tree[i] : ""
            let used = buf.put(prefix, x: nameX, y: row, role: selected ? .selected : .dim)
            buf.put(Sanitizer.truncate(t.name, to: max(3, nameWidth - used)), x: nameX + used, y: row, role: base)
            if let x = at[.state] {
                let (label, role) = stateLabel(t.state)
                buf.put(label, x: x, y: row, role: selected ? .selected : role)
            }
            let (inRate, outRate) = rates(t, m.engine)
            if let x = at[.inRate] { buf.putRight(Format.count(inRate), right: x + 8, y: row, role: base) }
            if let x = at[.outRate] { buf.putRight(Format.count(outRate), right: x + 8, y: row, role: base) }
            if let x = at[.p50] { buf.putRight(Format.duration(t.latency.p50), right: x + 8, y: row, role: base) }
            if let x = at[.p99] { buf.putRight(Format.duration(t.latency.p99), right: x + 8, y: row, role: base) }
            if let x = at[.busy], i > 0 {
                let pct = Int((t.busyRatio * 100).rounded())
                buf.putRight("\(pct)%", right: x + 5, y: row, role: selected ? .selected : pct >= 80 ? .warning : base)
            }
            if let x = at[.queue] {
                if narrow {
                    let fillRole: Role = t.queueFill >= 0.75 ? .queueHigh : base
                    buf.putRight(t.queueCapacity > 0 ? "\(t.queueDepth)/\(t.queueCapacity)" : "-", right: x + 6, y: row, role: selected ? .selected : fillRole)
                } else if t.queueCapacity > 0 {
                    let filled = Int((t.queueFill * Double(barWidth)).rounded(.up))
                    let fillRole: Role = t.queueFill >= 0.75 ? .queueHigh : .queueFill
                    for b in 0..<barWidth {
                        buf.put(b < filled ? "█" : "░", x: x + b, y: row, role: b < filled ? fillRole : .queueEmpty)
                    }
                    buf.putRight("\(t.queueDepth)/\(t.queueCapacity)", right: x + barWidth + 6, y: row, role: base)
                } else {
                    buf.put("(reads input)", x: x, y: row, role: selected ? .selected : .dim)
                }
            }
            if let x = at[.workers] { buf.putRight(t.pinned ? "*\(t.workers)" : "\(t.workers)", right: x + 3, y: row, role: base) }
            if showPriority, let x = at[.priority] { buf.putRight("\(t.priority)", right: min(w, x + 5), y: row, role: base) }
            row += 1
        }
        return row
    }

    static let sparkChars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func sparkline(_ values: [Double], width: Int) -> (String, Double) {
        let samples = Array(values.suffix(width))
        let peak = samples.max() ?? 0
        var line = ""
        for v in samples {
            let level = peak > 0 ? Int((v / peak) * 7.999) : 0
            line.append(v > 0 ? sparkChars[max(0, min(7, level))] : " ")
        }
        return (String(repeating: " ", count: max(0, width - samples.count)) + line, peak)
    }

    /// Overall throughput, and on taller terminals the selected task's, as sparklines over the last minutes.
    static func drawThroughput(_ buf: inout ScreenBuffer, _ m: DashboardModel, _ state: DashboardState, y: Int, compact: Bool = false) -> Int {
        // Every graph starts at the same column and is as wide, so one moment is at one x in all of them.
        let x0 = 12
        let width = max(10, buf.width - x0 - 16)
        let span = state.graphSpan
        let (series, seconds) = GraphSpan.series(
            span, tenHertz: m.engine.throughputHistory, perSecond: m.engine.throughputPerSecond ?? [], perMinute: m.engine.throughputPerMinute ?? [],
            secondsIntoMinute: m.engine.finished ? 0 : Int(m.engine.time) % 60, columns: width)
        var x = buf.put("Throughput ", x: 1, y: y, role: .label)
        let now = m.engine.finished ? (m.engine.tasks.first.map { rates($0, m.engine).out } ?? 0) : (m.engine.throughputHistory.last ?? 0)
        x += buf.put((m.engine.finished ? "avg " : "") + Format.count(now) + " lines/s", x: 1 + x, y: y, role: .headerValue)
        let selected = state.selected > 0 && state.selected < m.engine.tasks.count ? m.engine.tasks[state.selected] : nil
        if let t = selected {
            x += buf.put("  \(t.name) ", x: 1 + x, y: y, role: .label)
            x += buf.put("\(Format.count(rates(t, m.engine).out))/s p99 \(Format.duration(t.latency.p99))", x: 1 + x, y: y, role: .headerValue)
        }
        let spanText = seconds >= 3_600 && seconds.truncatingRemainder(dividingBy: 3_600) == 0 ? "\(Int(seconds) / 3_600)h"
            : Self.wholeSeconds(Format.elapsed(seconds))
        let spanLabel = "last \(spanText) · g span "
        if let t = selected, !m.engine.finished, let guess = whatIf(t, m.engine) {
            // What the planner's model expects of one worker more (] key): predict before acting.
            let room = buf.width - 1 - x - Sanitizer.width(of: spanLabel) - 2
            if let text = guess(now).first(where: { Sanitizer.width(of: $0) <= room }) { buf.put(text, x: 1 + x, y: y, role: .dim) }
        }
        buf.putRight(spanLabel, right: buf.width, y: y, role: .dim)
        buf.put("input", x: 1, y: y + 1, role: .label)
        let peak = drawGraph(&buf, series, x: x0, y: y + 1, role: .sparkline)
        buf.putRight(peakLabel(peak, unit: "/s"), right: buf.width, y: y + 1, role: .dim)
        // The selected task's own graphs over the same span: ten samples a second for the last minute,
        // then per second and per minute (an attached instance sends only the last minute).
        var row = y + 2
        let tall = buf.height >= 30 && !compact
        let short = span == .live || span == .minute
        let intoMinute = m.engine.finished ? 0 : Int(m.engine.time) % 60
        if let t = selected, tall, short || t.perSecond != nil {
            let own = GraphSpan.series(span, tenHertz: t.history, perSecond: t.perSecond ?? [], perMinute: t.perMinute ?? [], secondsIntoMinute: intoMinute, columns: width).values
            buf.put(Sanitizer.truncate(t.name, to: 10), x: 1, y: row, role: .label)
            let ownPeak = drawGraph(&buf, own, x: x0, y: row, role: .queueFill)
            buf.putRight(peakLabel(ownPeak, unit: "/s"), right: buf.width, y: row, role: .dim)
            row += 1
            if buf.height >= 34 {
                // Past the last minute, each sample is the highest p99 of its second or minute.
                let lat = GraphSpan.series(span, tenHertz: t.latencyHistory, perSecond: t.latencyPerSecond ?? [], perMinute: t.latencyPerMinute ?? [], secondsIntoMinute: intoMinute, columns: width, peaks: true).values
                buf.put("  p99", x: 1, y: row, role: .label)
                let latPeak = drawGraph(&buf, lat, x: x0, y: row, role: .warning)
                buf.putRight("peak \(Format.duration(UInt64(latPeak.peak)))\(latPeak.clipped ? " ▲" : "") ", right: buf.width, y: row, role: .dim)
                row += 1
            }
        }
        // Past the live span, a time axis under the graphs (on a tall enough terminal): where a minute or an
        // hour ago is.
        if span != .live && tall {
            buf.put(GraphSpan.axis(seconds: seconds, columns: width), x: x0, y: row, role: .dim)
            row += 1
        }
        if let t = selected, tall, !short, t.perSecond == nil {
            buf.put("(an attached instance sends task graphs of the last minute only — g)", x: x0, y: row, role: .dim)
            row += 1
        }
        return row
    }

    /// The model's answer for one worker more (`]`) and one fewer (`[`) on `t`, longest wording first:
    /// `  ] +1 worker → 560k/s (+37%), then aggregate limits · [ −1 → 300k/s (−27%)`, each relative change
    /// applied to the rate `measured` now (the one the line shows); nil when it cannot tell, or the task can
    /// take neither.
    static func whatIf(_ t: TaskSnapshot, _ e: EngineSnapshot) -> ((Double) -> [String])? {
        let more = ThroughputModel.whatIf(e, task: t.name, delta: 1).flatMap { $0.now.rate > 0 ? $0 : nil }
        let fewer = ThroughputModel.whatIf(e, task: t.name, delta: -1).flatMap { $0.now.rate > 0 ? $0 : nil }
        guard more != nil || fewer != nil else { return nil }
        func percent(_ ratio: Double) -> String {
            let change = Int(((ratio - 1) * 100).rounded())
            return change > 0 ? "+\(change)%" : change < 0 ? "−\(-change)%" : "±0%"
        }
        func limit(_ p: (now: ThroughputModel.Prediction, then: ThroughputModel.Prediction)) -> String {
            p.then.limit == t.name ? "" : p.then.limit == p.now.limit ? ", \(p.then.limit) still limits" : ", then \(p.then.limit) limits"
        }
        return { measured in
            let plus = more.map { "  ] +1 worker → \(Format.count(measured * $0.then.rate / $0.now.rate))/s (\(percent($0.then.rate / $0.now.rate)))" }
            // Alone, it says what it counts: `[ −1 worker → …`.
            let minus = fewer.map { "[ −1\(more == nil ? " worker" : "") → \(Format.count(measured * $0.then.rate / $0.now.rate))/s (\(percent($0.then.rate / $0.now.rate)))" }
            guard let plus, let more else {
                return minus.map { m in let alone = "  " + m; return [alone + limit(fewer!), alone] } ?? []
            }
            guard let minus else { return [plus + limit(more), plus] }
            return [plus + limit(more) + " · " + minus, plus + " · " + minus, plus + limit(more), plus]
        }
    }

    /// "30.0s" as "30s" (without Foundation's `replacingOccurrences`: the label is drawn every frame).
    static func wholeSeconds(_ text: String) -> String {
        text.hasSuffix(".0s") ? String(text.dropLast(3)) + "s" : text
    }

    static func peakLabel(_ p: (peak: Double, clipped: Bool), unit: String) -> String {
        "peak \(Format.count(p.peak))\(unit)\(p.clipped ? " ▲" : "") "
    }

    /// Draws a series as one row of bars, empty where there is no sample yet. The scale is the 95th
    /// percentile with room above it, so one burst does not flatten the rest: bars above it are drawn
    /// full in the alarm colour (and the peak label gets ▲). Returns the peak and whether anything was cut.
    static func drawGraph(_ buf: inout ScreenBuffer, _ values: [Double?], x: Int, y: Int, role: Role) -> (peak: Double, clipped: Bool) {
        let present = values.compactMap { $0 }
        let peak = present.max() ?? 0
        let sorted = present.filter { $0 > 0 }.sorted()
        let p95 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
        let scale = peak > p95 * 2 ? p95 * 1.25 : peak
        var clipped = false
        for (i, v) in values.enumerated() {
            guard let v, v > 0, scale > 0 else { continue }
            if v > scale {
                clipped = true
                buf.put("█", x: x + i, y: y, role: .queueHigh)
            } else {
                buf.put(String(sparkChars[max(0, min(7, Int(v / scale * 7.999)))]), x: x + i, y: y, role: role)
            }
        }
        return (peak, clipped)
    }

    static func statusRole(_ code: String) -> Role {
        switch code.first {
        case "2": return .status2xx
        case "3": return .status3xx
        case "4": return .status4xx
        case "5": return .status5xx
        default: return .normal
        }
    }

    static func drawAnalytics(_ buf: inout ScreenBuffer, _ m: DashboardModel, y: Int, rows: Int) {
        let w = buf.width
        // Counts stay near their keys on wide terminals: the path column stops at 72.
        let leftWidth = min(w / 2 - 4, 72)
        let s = m.summary
        // Top paths.
        buf.put("Top paths", x: 1, y: y, role: .tableHeader)
        buf.putRight("requests", right: leftWidth - 1, y: y, role: .tableHeader)
        for (i, p) in s.topPaths.prefix(rows - 1).enumerated() {
            buf.put(Sanitizer.truncate(p.key, to: leftWidth - 12), x: 1, y: y + 1 + i, role: .normal)
            buf.putRight(Format.count(Double(p.count)), right: leftWidth - 1, y: y + 1 + i, role: .headerValue)
        }
        // Status codes, then malformed reasons if any.
        let rx = leftWidth + 1
        // The clients column stops too, 56 columns after its start.
        let cr = min(w - 1, rx + 16 + 56)
        let rw = cr - rx
        buf.put("Status", x: rx, y: y, role: .tableHeader)
        buf.put("Top clients", x: rx + 16, y: y, role: .tableHeader)
        let total = max(1, s.records)
        let codes = s.status.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var r = 0
        for (code, count) in codes.prefix(rows - 1) {
            buf.put(code, x: rx, y: y + 1 + r, role: statusRole(code))
            buf.putRight(Format.percent(count, of: total), right: rx + 13, y: y + 1 + r, role: .normal)
            r += 1
        }
        // Top clients, then malformed reasons right below them when there are any.
        let malformedRows = m.malformedReasons.isEmpty ? 0 : min(2, m.malformedReasons.count) + 1
        let clients = s.topClients.prefix(max(0, rows - 1 - malformedRows))
        for (i, c) in clients.enumerated() {
            buf.put(Sanitizer.truncate(c.key, to: rw - 23), x: rx + 16, y: y + 1 + i, role: .normal)
            buf.putRight(Format.count(Double(c.count)), right: cr, y: y + 1 + i, role: .headerValue)
        }
        if malformedRows > 0 && rows - 1 - clients.count >= malformedRows {
            let my = y + 1 + clients.count
            buf.put("Malformed", x: rx + 16, y: my, role: .warning)
            for (i, (reason, count)) in m.malformedReasons.prefix(2).enumerated() {
                buf.put(Sanitizer.truncate(reason, to: rw - 24), x: rx + 16, y: my + 1 + i, role: .dim)
                buf.putRight(Format.grouped(count), right: cr, y: my + 1 + i, role: .warning)
            }
        }
    }

    /// When a decision was taken: the wall-clock time (local) when the run's start is known, else seconds
    /// since the start.
    static func when(_ d: Decision, _ m: DashboardModel) -> String {
        guard let start = m.startedAt else { return String(format: "%8.1fs", d.time) }
        return " " + Engine.clockTime(start + d.time)
    }

    static func drawDecisions(_ buf: inout ScreenBuffer, _ m: DashboardModel, y: Int, rows: Int) {
        guard rows >= 2 else { return }
        buf.put("Decisions (newest first)", x: 1, y: y, role: .tableHeader)
        buf.putRight("\(m.engine.decisionCount) logged · Tab for all ", right: buf.width, y: y, role: .dim)
        // Newest first, like the decisions view: the latest is where the eye lands.
        let recent = m.engine.decisions.suffix(rows - 1).reversed()
        for (i, d) in recent.enumerated() {
            let role: Role
            switch d.actor {
            case .operator: role = .decisionOperator
            case .scheduler: role = .decisionScheduler
            case .engine: role = .decisionEngine
            }
            let row = y + 1 + i
            var x = 1
            x += buf.put(when(d, m) + " ", x: x, y: row, role: .dim)
            x += buf.put(Format.padded(String(d.actor.rawValue.prefix(9)), 10), x: x, y: row, role: role)
            if let t = d.task { x += buf.put(t + " ", x: x, y: row, role: .label) }
            x += buf.put(d.action, x: x, y: row, role: .normal, maxWidth: buf.width - x - 1)
            buf.put(Sanitizer.truncate(" — " + d.reason, to: max(0, buf.width - x - 1)), x: x, y: row, role: .dim)
        }
    }

    static func drawHints(_ buf: inout ScreenBuffer, _ state: DashboardState) {
        let y = buf.height - 1
        buf.fill(x: 0, y: y, width: buf.width, role: .hint)
        if let text = state.commandLine ?? state.filterLine {
            let x = buf.put(state.commandLine != nil ? ":" : "/", x: 0, y: y, role: .hintKey)
            let shown = Sanitizer.width(of: text) > buf.width - 3 ? String(text.suffix(buf.width - 3)) : text
            let w = buf.put(shown, x: x, y: y, role: .hint)
            buf.put("█", x: x + w, y: y, role: .hintKey)
            // Tab's choices (or why it found none) beside what is typed.
            if state.commandLine != nil, let msg = state.message, buf.width - x - w - 4 > 8 {
                buf.putRight(Sanitizer.truncate(msg, to: buf.width - x - w - 4) + " ", right: buf.width, y: y, role: .hint)
            }
            return
        }
        var x = 1
        // The message (what the last key or command did, or why it was refused) comes first: the hints give
        // up their room for it, down to the most important few.
        let room = buf.width - 2 - (state.message.map { min(Sanitizer.width(of: $0) + 2, buf.width - 24) } ?? 0)
        for (keys, label) in state.keymap.hints(fitting: room) {
            let need = Sanitizer.width(of: keys) + Sanitizer.width(of: label) + 3
            if x + need > buf.width { break }
            x += buf.put(keys, x: x, y: y, role: .hintKey)
            x += buf.put(" " + label + "  ", x: x, y: y, role: .hint)
        }
        if let msg = state.message {
            let room = buf.width - x - 1
            if room > 8 { buf.putRight(Sanitizer.truncate(msg, to: room) + " ", right: buf.width, y: y, role: .hint) }
        }
    }

    /// Whether `text` passes the filter (case-insensitive substring; an empty filter passes everything).
    static func matches(_ text: String, _ filter: String) -> Bool {
        filter.isEmpty || text.range(of: filter, options: .caseInsensitive) != nil
    }

    static func viewTitle(_ buf: inout ScreenBuffer, _ title: String, _ state: DashboardState, y: Int, detail: String) {
        buf.fill(x: 0, y: y, width: buf.width, role: .tableHeader)
        var x = buf.put(" " + title, x: 0, y: y, role: .tableHeader)
        if !state.filter.isEmpty { x += buf.put("  filter “\(state.filter)”", x: x, y: y, role: .warning) }
        // The detail gives way to the title and the filter: on a narrow terminal it is cut, not drawn over them.
        let room = buf.width - x - 3
        if room >= 8 { buf.putRight(Sanitizer.truncate(detail, to: room) + " ", right: buf.width, y: y, role: .tableHeader) }
    }

    /// The decision log, newest first, filtered and scrolled.
    /// How far the list of the current view can scroll at this height: the first row of its last page
    /// (0 for the pipeline view). The loop clamps `state.scroll` to it, so PgDn and End stop at the end.
    public static func scrollLimit(_ m: DashboardModel, state: DashboardState, height: Int) -> Int {
        switch state.view {
        case .pipeline:
            return 0
        case .decisions:
            // The top row is the selection: End reaches the oldest decision.
            return max(0, decisionLines(m, state).count - 1)
        case .analytics:
            let longest = max(m.summary.topPaths.filter { matches($0.key, state.filter) }.count, m.summary.topClients.filter { matches($0.key, state.filter) }.count)
            let results = m.results.isEmpty ? 0 : min(m.results.count, max(1, (height - 5) / 3 - 1)) + 1
            return max(0, longest - (height - 5 - results - 3))
        }
    }

    static func drawDecisionLog(_ buf: inout ScreenBuffer, _ m: DashboardModel, _ state: DashboardState, y: Int, rows: Int) {
        let lines = decisionLines(m, state)
        let first = min(state.scroll, max(0, lines.count - 1))
        viewTitle(&buf, "Decisions (newest first)", state, y: y, detail: "\(lines.count) shown of \(m.engine.decisionCount) · / filter · ↑/↓ PgUp/PgDn")
        // The top row is the selected decision; its whole text (and numbers) is in the pane below the list.
        let detailRows = rows >= 10 ? min(5, rows / 3) : 0
        for (i, d) in lines.dropFirst(first).prefix(rows - 1 - detailRows).enumerated() {
            let row = y + 1 + i
            let selected = i == 0 && detailRows > 0
            if selected { buf.fill(x: 0, y: row, width: buf.width, role: .selected) }
            let role: Role = selected ? .selected : d.actor == .operator ? .decisionOperator : d.actor == .scheduler ? .decisionScheduler : .decisionEngine
            var x = 1
            x += buf.put(when(d, m) + " ", x: x, y: row, role: selected ? .selected : .dim)
            x += buf.put(Format.padded(d.actor.rawValue, 10), x: x, y: row, role: role)
            x += buf.put(Format.padded(d.task ?? "-", 10), x: x, y: row, role: selected ? .selected : .label)
            x += buf.put(d.action, x: x, y: row, role: selected ? .selected : .normal, maxWidth: buf.width - x - 1)
            buf.put(Sanitizer.truncate(" — " + d.reason, to: max(0, buf.width - x - 1)), x: x, y: row, role: selected ? .selected : .dim)
        }
        guard detailRows > 0, lines.indices.contains(first) else { return }
        let d = lines[first]
        let top = y + rows - detailRows
        buf.fill(x: 0, y: top, width: buf.width, role: .tableHeader)
        buf.put("\(when(d, m).trimmingCharacters(in: .whitespaces)) · \(d.actor.rawValue)\(d.policy.map { " (\($0))" } ?? "") · \(d.kind.rawValue)", x: 1, y: top, role: .tableHeader)
        var text = "\(d.task.map { "\($0): " } ?? "")\(d.action) — \(d.reason)"
        if !d.numbers.isEmpty {
            text += "  [" + d.numbers.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", ") + "]"
        }
        for (i, line) in wrap(text, width: buf.width - 2).prefix(detailRows - 1).enumerated() {
            buf.put(line, x: 1, y: top + 1 + i, role: .normal)
        }
    }

    /// The decisions the view lists: newest first, filtered.
    static func decisionLines(_ m: DashboardModel, _ state: DashboardState) -> [Decision] {
        m.engine.decisions.reversed().filter { d in
            matches("\(d.actor.rawValue) \(d.kind.rawValue) \(d.task ?? "") \(d.action) \(d.reason)", state.filter)
        }
    }

    /// Text broken into lines of at most `width` columns at spaces (a longer word is cut).
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 4 else { return [] }
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            if !line.isEmpty && Sanitizer.width(of: line) + 1 + Sanitizer.width(of: w) > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + w
            while Sanitizer.width(of: line) > width {
                lines.append(Sanitizer.truncate(line, to: width))
                line = String(line.dropFirst(width - 1))
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// Top paths and clients with status codes and methods, filtered and sorted; the selected row of the
    /// selected list (← →, ↑ ↓) is highlighted, and Enter drills into it.
    static func drawAnalyticsView(_ buf: inout ScreenBuffer, _ m: DashboardModel, _ state: DashboardState, y: Int, rows: Int) {
        var rows = rows
        if !m.results.isEmpty {
            // The pipeline's own results take the bottom rows, one per task.
            let shown = resultRows(m, rows: rows)
            rows -= shown + 1
            let selected = state.panel == .results
            if selected { buf.fill(x: 0, y: y + rows, width: buf.width, role: .selected) }
            buf.put("Pipeline results (Enter: whole tables)", x: 1, y: y + rows, role: selected ? .selected : .label)
            let nameWidth = min(18, (m.results.map { Sanitizer.width(of: $0.task) }.max() ?? 0) + 2)
            for (i, r) in m.results.prefix(shown).enumerated() {
                buf.put(Sanitizer.truncate(r.task, to: nameWidth - 2), x: 2, y: y + rows + 1 + i, role: .headerValue)
                buf.put(Sanitizer.truncate(r.text, to: buf.width - nameWidth - 3), x: 2 + nameWidth, y: y + rows + 1 + i, role: .normal)
            }
        }
        let s = m.summary
        let lists = analyticsLists(m, state)
        let (paths, clients) = (lists.paths, lists.clients)
        viewTitle(&buf, "Analytics", state, y: y, detail: "\(Format.grouped(s.uniquePaths)) paths · \(Format.grouped(s.uniqueClients)) unique clients · sorted by \(state.sortByName ? "name" : "count") (o)\(buf.width >= 110 ? " · ←/→ list · Enter drill" : "")")
        // Requests per minute of event time, the last minutes of the recording or stream; with room, GoAccess's
        // bandwidth per minute, hours of the day and visitors per day above it.
        let perMinute = s.perMinute.map { Double($0.count) }
        let (minutes, peak) = sparkline(perMinute, width: buf.width - 42)
        buf.put("Requests/min", x: 1, y: y + rows - 1, role: .label)
        buf.put(minutes, x: 14, y: y + rows - 1, role: .sparkline)
        let last = s.perMinute.last.map { "\(Format.count(Double($0.count))) at \(LogTime.clock($0.minute).prefix(5))" } ?? "-"
        buf.putRight("\(last), peak \(Format.count(peak)) ", right: buf.width, y: y + rows - 1, role: .dim)
        var listRows = rows - 3
        if rows >= 16 {
            let (bytes, bytesPeak) = sparkline(s.bytesPerMinute.map { Double($0.count) }, width: buf.width - 42)
            buf.put("Bytes/min", x: 1, y: y + rows - 2, role: .label)
            buf.put(bytes, x: 14, y: y + rows - 2, role: .sparkline)
            let lastBytes = s.bytesPerMinute.last.map { Format.bytes($0.count) } ?? "-"
            buf.putRight("\(lastBytes), peak \(Format.bytes(Int(bytesPeak))) ", right: buf.width, y: y + rows - 2, role: .dim)
            // The 24 hours of the day (UTC), one bar each, and the busiest.
            let hours = s.hours.count == 24 ? s.hours : Array(repeating: 0, count: 24)
            let (bars, _) = sparkline(hours.map(Double.init), width: 24)
            buf.put("Hours (UTC)", x: 1, y: y + rows - 3, role: .label)
            buf.put(bars, x: 14, y: y + rows - 3, role: .sparkline)
            var info = ""
            if let busiest = hours.indices.max(by: { hours[$0] < hours[$1] }), hours[busiest] > 0 { info = "busiest \(String(format: "%02d", busiest)):00 · " }
            let days = s.visitorsPerDay.suffix(3).map { d -> String in
                let (_, mo, dd, _, _, _) = LogTime.civil(d.minute)
                return String(format: "%02d-%02d ≈", mo, dd) + Format.count(Double(d.count))
            }
            // HyperLogLog estimates (±1.6 %, seeded per process): marked as such.
            info += days.isEmpty ? "" : "visitors/day " + days.joined(separator: " · ")
            buf.put(Sanitizer.truncate(info, to: buf.width - 41), x: 40, y: y + rows - 3, role: .dim)
            listRows -= 2
        }
        if let pass = m.replayPass, pass > 1 { buf.put("(the graphs add up \(pass) passes of the recording)", x: 1, y: y + rows - 4 - (rows >= 16 ? 0 : -1), role: .dim) }
        // A wide terminal gives GoAccess's smaller panels a column of their own; a narrower one stacks them
        // under the status codes and methods.
        let wide = buf.width >= wideAnalytics
        let colWidth = wide ? (buf.width - 25) / 3 : (buf.width - 24) / 2
        let columns: [(String, [KeyCount], Int, DashboardState.Panel)] = [("Top paths", paths, 1, .paths), ("Top clients", clients, 1 + colWidth + 1, .clients)]
        for (title, list, x, panel) in columns {
            buf.put(title, x: x, y: y + 1, role: state.panel == panel ? .headerValue : .label)
            for (i, item) in list.dropFirst(state.scroll).prefix(listRows - (m.replayPass ?? 1 > 1 ? 1 : 0)).enumerated() {
                let selected = state.panel == panel && state.scroll + i == state.cursor
                if selected { buf.fill(x: x - 1, y: y + 2 + i, width: colWidth, role: .selected) }
                buf.put(Sanitizer.truncate(item.key, to: colWidth - 9), x: x, y: y + 2 + i, role: selected ? .selected : .normal)
                buf.putRight(Format.count(Double(item.count)), right: x + colWidth - 1, y: y + 2 + i, role: selected ? .selected : .headerValue)
            }
        }
        let rx = buf.width - 22
        buf.put("Status", x: rx, y: y + 1, role: state.panel == .status ? .headerValue : .label)
        var row = y + 2
        for (i, (code, count)) in lists.status.prefix(statusRows(rows: rows)).enumerated() {
            let selected = state.panel == .status && i == state.cursor
            if selected { buf.fill(x: rx - 1, y: row, width: buf.width - rx + 1, role: .selected) }
            buf.put(code, x: rx, y: row, role: selected ? .selected : statusRole(code))
            buf.putRight(Format.count(Double(count)), right: buf.width - 1, y: row, role: selected ? .selected : .normal)
            row += 1
        }
        row += 1
        buf.put("Methods", x: rx, y: row, role: .label)
        let methods = s.methods.sorted(by: { $0.value > $1.value })
        let bottom = y + 1 + listRows
        for (method, count) in methods.prefix(max(0, min(4, bottom - row - 1))) {
            row += 1
            buf.put(Sanitizer.truncate(method, to: 10), x: rx, y: row, role: .normal)
            buf.putRight(Format.count(Double(count)), right: buf.width - 1, y: row, role: .normal)
        }
        // The paths most answered 404, then browsers, systems, referring sites and virtual hosts, where
        // there is room under the methods (or in their own column).
        let notFound = MiniPanel(title: "Not found (404)", items: s.topNotFound.filter { matches($0.key, state.filter) }, shares: false)
        let agents = s.browsers.reduce(0) { $0 + $1.count }
        let more = [
            MiniPanel(title: "Browsers", items: s.browsers, shares: true),
            MiniPanel(title: "Operating systems", items: s.systems, shares: true),
            MiniPanel(title: "Referring sites", items: s.topReferrers.filter { matches($0.key, state.filter) }, shares: false),
            MiniPanel(title: "Virtual hosts", items: s.topVhosts.filter { matches($0.key, state.filter) }, shares: false),
        ]
        if wide {
            drawMiniPanels(&buf, [notFound], x: rx, width: buf.width - rx - 1, top: row + 2, bottom: bottom, total: agents)
            drawMiniPanels(&buf, more, x: 1 + 2 * (colWidth + 1), width: colWidth - 1, top: y + 1, bottom: bottom, total: agents)
        } else {
            drawMiniPanels(&buf, [notFound] + more, x: rx, width: buf.width - rx - 1, top: row + 2, bottom: bottom, total: agents)
        }
    }

    /// Terminals at least this wide give the analytics view's small panels a column of their own.
    static let wideAnalytics = 150

    /// A small titled list in the analytics view: counts, or shares of the records with a user agent.
    struct MiniPanel {
        let title: String
        let items: [KeyCount]
        let shares: Bool
    }

    /// Stacks the non-empty panels from row `top` down to `bottom` (inclusive), each with its title and as
    /// many rows as an even split of the space leaves it (at least two); those that do not fit are left out.
    static func drawMiniPanels(_ buf: inout ScreenBuffer, _ panels: [MiniPanel], x: Int, width: Int, top: Int, bottom: Int, total: Int) {
        let shown = panels.filter { !$0.items.isEmpty }
        guard !shown.isEmpty, width >= 12 else { return }
        var row = top
        for (i, panel) in shown.enumerated() {
            let left = bottom - row + 1
            guard left >= 3 else { return }
            // Later panels keep their share of the rows: a long 404 list does not push the browsers out.
            let share = max(2, left / (shown.count - i) - 2)
            buf.put(Sanitizer.truncate(panel.title, to: width), x: x, y: row, role: .label)
            for item in panel.items.prefix(min(share, left - 1)) {
                row += 1
                let value = panel.shares ? Format.percent(item.count, of: total) : Format.count(Double(item.count))
                buf.put(Sanitizer.truncate(item.key, to: width - Sanitizer.width(of: value) - 1), x: x, y: row, role: .normal)
                buf.putRight(value, right: x + width, y: row, role: .normal)
            }
            row += 2
        }
    }

    /// Rows the pipeline results take at the bottom of the analytics view (with their title row: + 1).
    static func resultRows(_ m: DashboardModel, rows: Int) -> Int {
        m.results.isEmpty ? 0 : min(m.results.count, max(1, rows / 3 - 1))
    }

    /// Rows of the status list in an analytics view of `rows` rows.
    static func statusRows(rows: Int) -> Int { max(0, rows - 8) }

    /// The analytics view's lists as shown: filtered and sorted.
    static func analyticsLists(_ m: DashboardModel, _ state: DashboardState) -> (paths: [KeyCount], clients: [KeyCount], status: [(String, Int)]) {
        func prepare(_ list: [KeyCount]) -> [KeyCount] {
            let kept = list.filter { matches($0.key, state.filter) }
            return state.sortByName ? kept.sorted { $0.key < $1.key } : kept
        }
        let codes = m.summary.status.sorted { state.sortByName ? $0.key < $1.key : ($0.value, $1.key) > ($1.value, $0.key) }
        return (prepare(m.summary.topPaths), prepare(m.summary.topClients), codes)
    }

    /// Rows of the paths and clients lists on a screen `height` rows tall.
    static func listRows(_ m: DashboardModel, height: Int) -> Int {
        var rows = height - 5
        if !m.results.isEmpty { rows -= resultRows(m, rows: rows) + 1 }
        return max(1, rows - 3 - (rows >= 16 ? 2 : 0) - (m.replayPass ?? 1 > 1 ? 1 : 0))
    }

    /// Keeps the analytics view's cursor on a row of its list and the list scrolled so that it shows.
    public static func followCursor(_ state: inout DashboardState, _ m: DashboardModel, height: Int) {
        guard state.view == .analytics else { return }
        let lists = analyticsLists(m, state)
        var rows = height - 5
        if !m.results.isEmpty { rows -= resultRows(m, rows: rows) + 1 }
        switch state.panel {
        case .paths, .clients:
            let count = state.panel == .paths ? lists.paths.count : lists.clients.count
            state.cursor = max(0, min(state.cursor, count - 1))
            let visible = listRows(m, height: height)
            if state.cursor < state.scroll { state.scroll = state.cursor }
            if state.cursor >= state.scroll + visible { state.scroll = state.cursor - visible + 1 }
        case .status:
            state.cursor = max(0, min(state.cursor, min(lists.status.count, statusRows(rows: rows)) - 1))
        case .results:
            state.cursor = 0
        }
    }

    /// What Enter drills into: the selected path, client or status (nil on an empty list or the results).
    public static func selectedFocus(_ m: DashboardModel, state: DashboardState, width: Int, height: Int) -> FocusKey? {
        var s = state
        followCursor(&s, m, height: height)
        let lists = analyticsLists(m, s)
        switch s.panel {
        case .paths: return lists.paths.indices.contains(s.cursor) ? .path(lists.paths[s.cursor].key) : nil
        case .clients: return lists.clients.indices.contains(s.cursor) ? .client(lists.clients[s.cursor].key) : nil
        case .status: return lists.status.indices.contains(s.cursor) ? Int(lists.status[s.cursor].0).map { .status($0) } : nil
        case .results: return nil
        }
    }

    /// The lines of the results overlay: each analytics task's name, then every row of its latest result.
    public static func resultLines(_ m: DashboardModel) -> [(text: String, role: Role, focus: FocusKey?)] {
        var lines: [(text: String, role: Role, focus: FocusKey?)] = []
        for r in m.results {
            // A whole-input table while the run goes on: its rows so far (the final table comes at the end).
            let soFar = r.text.hasPrefix("so far ") ? "  · so far: the whole input's table is final at the end" : ""
            lines.append((r.task + soFar, .headerValue, nil))
            let rows = r.rows ?? [r.text]
            if rows.isEmpty { lines.append(("  no result yet", .dim, nil)) }
            for (i, row) in rows.enumerated() {
                let focus = r.rowFocus.flatMap { i < $0.count ? $0[i] : nil }
                lines.append(("  " + row, .normal, focus))
            }
            lines.append(("", .normal, nil))
        }
        return lines
    }

    /// The result table's cursor moved `step` rows (PgUp/PgDn: ten; Home/End: all the way), over result
    /// rows only: tasks' names, blank separators and "no result yet" are skipped. Stays put when there
    /// is no row that way.
    public static func moveResultCursor(_ lines: [(text: String, role: Role, focus: FocusKey?)], from: Int, by step: Int) -> Int {
        let rows = lines.indices.filter { lines[$0].role == .normal && !lines[$0].text.isEmpty }
        guard !rows.isEmpty else { return 0 }
        // Where the cursor is among the rows (a cursor on a heading counts as just before the next row).
        let at = rows.firstIndex { $0 >= from } ?? rows.count - 1
        let onRow = rows[at] == from
        let target = step > 0 ? at + (onRow ? step : step - 1) : at + step
        return rows[max(0, min(rows.count - 1, target))]
    }

    /// Clears the rows under the header and draws the box the results and drill-down overlays share;
    /// nil when the terminal has fewer than `minHeight` rows for it.
    static func overlayBox(_ buf: inout ScreenBuffer, minHeight: Int) -> (x: Int, y: Int, width: Int, height: Int)? {
        let (x0, y0, width, height) = (2, 3, buf.width - 4, buf.height - 6)
        guard height >= minHeight else { return nil }
        buf.fill(x: 0, y: y0, width: buf.width, height: height, role: .normal)
        buf.fill(x: x0, y: y0, width: width, height: height, role: .help)
        return (x0, y0, width, height)
    }

    /// The pipeline's results whole (Enter in the analytics view): every row of every task's latest
    /// result, a cursor moved with ↑/↓ and PgUp/PgDn (kept in sight); Enter on a row with keys (a
    /// group-by's group, a user) opens its drill-down.
    static func drawResults(_ buf: inout ScreenBuffer, _ m: DashboardModel, cursor: Int) {
        guard let (x0, y0, boxWidth, boxHeight) = overlayBox(&buf, minHeight: 4) else { return }
        buf.put(" Pipeline results ", x: x0 + 2, y: y0, role: .title)
        let lines = resultLines(m)
        let visible = boxHeight - 2
        let at = min(max(0, cursor), max(0, lines.count - 1))
        let first = min(max(0, at - visible / 2), max(0, lines.count - visible))
        if lines.isEmpty { buf.put("this pipeline has no analytics task (a pipeline file adds them)", x: x0 + 2, y: y0 + 1, role: .dim) }
        for (i, line) in lines.enumerated().dropFirst(first).prefix(visible) {
            let y = y0 + 1 + i - first
            if i == at {
                buf.fill(x: x0 + 1, y: y, width: boxWidth - 2, height: 1, role: .selected)
                buf.put(Sanitizer.truncate(line.text, to: boxWidth - 4), x: x0 + 2, y: y, role: .selected)
            } else {
                buf.put(Sanitizer.truncate(line.text, to: boxWidth - 4), x: x0 + 2, y: y, role: line.role)
            }
        }
        let more = lines.count > visible ? "\(first + 1)–\(min(lines.count, first + visible)) of \(lines.count) · " : ""
        let enter = lines.indices.contains(at) && lines[at].focus != nil ? "Enter drills into this row · " : ""
        buf.put(Sanitizer.truncate(more + "↑/↓ PgUp/PgDn · " + enter + "Esc closes", to: boxWidth - 4), x: x0 + 2, y: y0 + boxHeight - 1, role: .dim)
    }

    /// The most recent malformed lines with where they come from and why, sanitized.
    static func drawRejects(_ buf: inout ScreenBuffer, _ m: DashboardModel) {
        let boxWidth = buf.width - 4
        let boxHeight = buf.height - 6
        let x0 = 2
        let y0 = 3
        // The rows it covers are blanked edge to edge: the frame behind must not show at its sides.
        buf.fill(x: 0, y: y0, width: buf.width, height: boxHeight, role: .normal)
        buf.fill(x: x0, y: y0, width: boxWidth, height: boxHeight, role: .help)
        let total = m.malformedReasons.reduce(0) { $0 + $1.1 }
        buf.put(" Rejected lines: \(Format.grouped(total)) malformed ", x: x0 + 2, y: y0, role: .title)
        var y = y0 + 1
        let reasons = m.malformedReasons.map { "\($0.0) \(Format.grouped($0.1))" }.joined(separator: " · ")
        buf.put(Sanitizer.truncate(reasons.isEmpty ? "none so far" : reasons, to: boxWidth - 4), x: x0 + 2, y: y, role: .warning)
        y += 2
        let rows = m.recentRejects.suffix(max(0, boxHeight - 4))
        if rows.isEmpty { buf.put("(no malformed line has been seen)", x: x0 + 2, y: y, role: .dim) }
        for line in rows.reversed() {
            buf.put(Sanitizer.truncate(line, to: boxWidth - 4), x: x0 + 2, y: y, role: .help)
            y += 1
        }
        // Workers parse blocks side by side, so the latest rejected need not be in line order.
        buf.put(Sanitizer.truncate("latest first (line numbers may be out of order) · r closes", to: boxWidth - 4), x: x0 + 2, y: y0 + boxHeight - 1, role: .dim)
    }

    /// What each `:` command does, for the help screen (the grammar is `OperatorCommand.grammar`).
    static let commandHelp: [String: String] = [
        "pause TASK": "pause a task: its queue fills, upstream blocks, nothing is dropped",
        "resume TASK": "resume a paused task",
        "priority TASK N": "set a task's priority (higher runs first under strict-priority)",
        "priority TASK +N|-N": "raise or lower a task's priority",
        "workers TASK N": "give a task N workers (up to its parallelism and --workers)",
        "pin TASK": "keep a task's workers as they are (the adaptive policy leaves them alone)",
        "unpin TASK": "let the adaptive policy move a task's workers again",
        "policy strict|fair|adaptive": "switch the scheduling policy",
        "speed X|max": "replay at X times real time, or as fast as the pipeline goes",
        "replay pause|resume": "stop or restart the replay clock",
        "step [10s]": "while the replay is paused, hand out the next stretch of the recording",
        "seek HH:MM[:SS] (UTC) | +10m | 2024-11-25T14:00:00Z": "jump ahead in the recording (lines before are processed, none skipped)",
        "inject slow TASK 200us [cpu|io] | stall TASK 5s | burst 5x 30s | malformed 5% | skew client 80% | clear":
            "rehearse an incident: a slow or stalled task, a burst of input, bad lines, a hot client; shown in the header until it ends or inject clear",
        "focus path|client|status KEY | [in TASK] where FILTER | off":
            "drill into a key, or into the records a filter selects (in TASK: that task's own records), counted from now",
    ]

    /// Every key and every `:` command with what it does: one column when it fits the height, two when
    /// each description still gets 44 columns, else one column that ↑/↓ and PgUp/PgDn scroll.
    /// The help screen's rows: keys, then commands.
    public static func helpRows(_ keymap: Keymap) -> [(String, String)] {
        var rows = keymap.bindings.map { b in (b.keys.map(\.label).joined(separator: " "), b.help) }
        rows.append(("", ""))
        rows.append(("", "Commands, typed after : (the decision log shows what the engine did with them):"))
        rows += OperatorCommand.grammar.map { (":" + $0.split(separator: " ").first!, ($0 + " — ") + (commandHelp[$0] ?? "")) }
        rows.append((":help", "help — this screen"))
        return rows
    }

    /// The help rows as drawn in one column `width` wide: long descriptions wrap onto the next rows.
    public static func helpLines(_ keymap: Keymap, width: Int) -> [(String, String)] {
        let rows = helpRows(keymap)
        let keyWidth = rows.map { Sanitizer.width(of: $0.0) }.max() ?? 0
        let room = max(10, min(width - 2, 160) - 2 - keyWidth - 3)
        // Continuation lines are indented by two under their description.
        return rows.flatMap { keys, help in
            let parts = wrap(help, width: room - 2)
            return parts.isEmpty ? [(keys, "")] : parts.enumerated().map { i, line in (i == 0 ? keys : "", i == 0 ? line : "  " + line) }
        }
    }

    static func drawHelp(_ buf: inout ScreenBuffer, _ keymap: Keymap, scroll: Int = 0) {
        let whole = helpRows(keymap)
        let keyWidth = whole.map { Sanitizer.width(of: $0.0) }.max() ?? 0
        let boxWidth = min(buf.width - 2, 160)
        // The title, the closing hint and the box's edges take a row each.
        let available = max(1, buf.height - 3)
        // Two columns only when every description fits whole in one.
        let longest = whole.map { Sanitizer.width(of: $0.1) }.max() ?? 0
        let twoColumnsFit = (boxWidth - 2) / 2 - keyWidth - 3 >= longest
        let columns = whole.count > available && twoColumnsFit ? 2 : 1
        // One column: descriptions wrap instead of being cut.
        let rows = columns == 1 ? helpLines(keymap, width: buf.width) : whole
        let perColumn = (rows.count + columns - 1) / columns
        let visible = min(perColumn, available)
        let first = columns == 1 ? min(max(0, scroll), max(0, rows.count - visible)) : 0
        let boxHeight = min(buf.height - 1, visible + 2)
        let x0 = (buf.width - boxWidth) / 2
        let y0 = max(0, (buf.height - 1 - boxHeight) / 2)
        buf.fill(x: 0, y: y0, width: buf.width, height: boxHeight, role: .normal)
        buf.fill(x: x0, y: y0, width: boxWidth, height: boxHeight, role: .help)
        buf.put(" streamtop keys ", x: x0 + 2, y: y0, role: .title)
        let columnWidth = (boxWidth - 2) / columns
        for (i, (keys, help)) in rows.enumerated() {
            let column = i / perColumn
            let index = i % perColumn - first
            guard index >= 0, index < visible else { continue }
            let x = x0 + 2 + column * columnWidth
            let y = y0 + 1 + index
            buf.put(keys, x: x, y: y, role: .hintKey)
            buf.put(Sanitizer.truncate(help, to: max(0, columnWidth - keyWidth - 3)), x: x + keyWidth + 1, y: y, role: .help)
        }
        let more = visible < perColumn ? "↑/↓ PgUp/PgDn scroll (\(first + 1)–\(first + visible) of \(rows.count)) · " : ""
        buf.put(more + "? or Esc closes", x: x0 + 2, y: y0 + boxHeight - 1, role: .dim)
    }
}
