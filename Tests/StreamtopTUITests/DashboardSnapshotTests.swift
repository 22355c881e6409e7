import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
@testable import StreamtopTUI

/// A fixed model: the same frame every time.
func sampleModel() -> DashboardModel {
    func task(_ i: Int, _ name: String, _ state: TaskState, depth: Int, rate: Double, p50: UInt64, p99: UInt64, workers: Int) -> TaskSnapshot {
        TaskSnapshot(
            id: TaskID(i), name: name, state: state, priority: i == 2 ? 3 : 0, workers: workers, workersBusy: 0,
            maxParallelism: 8, pinned: i == 2, recordsIn: 123_456, recordsOut: 123_000, recordsFiltered: 456, bytesIn: 9_999_999, bytesOut: 9_999_000,
            inPerSecond: rate, outPerSecond: rate, bytesInPerSecond: rate * 180, bytesOutPerSecond: rate * 180, queueDepth: depth, queueCapacity: i == 0 ? 0 : 8,
            queuedRecords: depth * 100, inFlightRecords: 0, latency: LatencySummary(p50: p50, p95: p99, p99: p99, max: p99, count: 10),
            recordLatency: LatencySummary(p50: p50 / 100, p95: p99 / 100, p99: p99 / 100, max: p99 / 100, count: 1000),
            nanosPerRecord: 150, busyRatio: 0.5, backpressuredRatio: 0, quanta: 42,
            history: (0..<200).map { Double(($0 * 13 + i * 7) % 50) * 20 },
            latencyHistory: (0..<200).map { Double(($0 * 7 + i) % 30) * 1000 })
    }
    let engine = EngineSnapshot(
        time: 83.4, workers: 2, policy: "strict-priority",
        tasks: [
            task(0, "source", .backpressured, depth: 0, rate: 0, p50: 4_900_000, p99: 5_000_000, workers: 1),
            task(1, "parse", .paused, depth: 8, rate: 0, p50: 9_500, p99: 17_000, workers: 2),
            task(2, "aggregate", .idle, depth: 0, rate: 4321, p50: 11_300, p99: 43_300, workers: 1),
            task(3, "sink", .running, depth: 3, rate: 1_234_567, p50: 190, p99: 461, workers: 1),
        ],
        decisions: [
            Decision(sequence: 1, time: 0, actor: .engine, kind: .started, task: nil, action: "started", reason: "2 workers, policy strict-priority"),
            Decision(sequence: 2, time: 7.6, actor: .operator, kind: .paused, task: "parse", action: "paused", reason: "operator request; input queue 0/8 will fill, upstream will block"),
            Decision(sequence: 3, time: 8.2, actor: .scheduler, policy: "strict-priority", kind: .backpressured, task: "source", action: "blocked by backpressure", reason: "parse's input queue is full (8/8 batches, 800 records); parse is paused"),
        ],
        decisionCount: 3, endToEndLatency: LatencySummary(p50: 900_000, p95: 1_000_000, p99: 1_200_000, max: 2_000_000, count: 5),
        throughputHistory: (0..<300).map { Double(($0 * 37) % 100) * 10 }, finished: false)
    let summary = AccessSummary(
        lines: 123_456, records: 123_000, malformed: 456, filtered: 0, bytes: 1_000_000,
        status: ["200": 100_000, "304": 12_000, "404": 8_000, "500": 2_500, "503": 500],
        methods: ["GET": 120_000, "POST": 3_000],
        topPaths: [KeyCount(key: "/", count: 30_000), KeyCount(key: "/index.html", count: 20_000),
                   KeyCount(key: "/\u{1B}[31mred\u{7}", count: 5), KeyCount(key: "/日本語/パス", count: 4),
                   KeyCount(key: "/" + String(repeating: "long", count: 40), count: 3)],
        topClients: [KeyCount(key: "66.249.66.1", count: 9_000), KeyCount(key: "2001:db8::1", count: 800)],
        uniqueClients: 4_321, uniquePaths: 999, firstEvent: 1_732_492_800, lastEvent: 1_732_496_400,
        perMinute: (0..<90).map { MinuteCount(minute: 1_732_492_800 + Int64($0) * 60, count: 100 + ($0 * 37) % 400) })
    var withHealth = summary
    // GoAccess's panels, a stranger's escape sequence among them.
    withHealth.hours = (0..<24).map { 1_000 + ($0 * 53) % 24 * 400 }
    withHealth.bytesPerMinute = (0..<90).map { MinuteCount(minute: 1_732_492_800 + Int64($0) * 60, count: 50_000 + ($0 * 31) % 90 * 1_000) }
    withHealth.topNotFound = [KeyCount(key: "/wp-login.php", count: 420), KeyCount(key: "/.env", count: 77), KeyCount(key: "/\u{1B}]0;pwned\u{7}", count: 3)]
    withHealth.visitorsPerDay = [MinuteCount(minute: 1_732_406_400, count: 3_900), MinuteCount(minute: 1_732_492_800, count: 4_100)]
    withHealth.topReferrers = [KeyCount(key: "www.google.com", count: 5_400), KeyCount(key: "news.ycombinator.com", count: 1_200), KeyCount(key: "t.co", count: 300)]
    withHealth.browsers = [KeyCount(key: "Chrome", count: 61_000), KeyCount(key: "Safari", count: 30_000), KeyCount(key: "Bots & tools", count: 20_000),
                           KeyCount(key: "Firefox", count: 9_000), KeyCount(key: "Edge", count: 3_000)]
    withHealth.systems = [KeyCount(key: "Windows", count: 50_000), KeyCount(key: "iOS", count: 25_000), KeyCount(key: "Android", count: 20_000),
                          KeyCount(key: "macOS", count: 15_000), KeyCount(key: "Unknown", count: 13_000)]
    withHealth.health = SiteHealth(
        minute: .init(seconds: 60, requests: 12_000, perSecond: 200, clientErrorShare: 0.066, serverErrorShare: 0.025, bytesPerSecond: 1_650_000,
                      servedP50: 12_000, servedP99: 480_000, recent: Array(repeating: [2000, 50], count: 6)),
        fiveMinutes: .init(seconds: 300, requests: 57_000, perSecond: 190, clientErrorShare: 0.061, serverErrorShare: 0.02, bytesPerSecond: 1_500_000,
                           servedP50: 11_000, servedP99: 450_000, recent: Array(repeating: [1900, 38], count: 30)))
    return DashboardModel(
        engine: engine, summary: withHealth, malformedReasons: [("bad time", 400), ("unterminated quote", 56)],
        source: "demo demo-access.log", speed: "600×", replayPosition: 1_732_496_400)
}

let snapshotDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

/// Compares a frame with its snapshot file (text, then the role layer). Set STREAMTOP_RECORD_SNAPSHOTS=1
/// to write the files anew after an intended change, and review the diff.
func assertSnapshot(_ buffer: ScreenBuffer, named name: String) throws {
    let text = buffer.text + "\n--- roles ---\n" + buffer.roles + "\n"
    let url = snapshotDirectory.appendingPathComponent(name + ".txt")
    if ProcessInfo.processInfo.environment["STREAMTOP_RECORD_SNAPSHOTS"] == "1" || !FileManager.default.fileExists(atPath: url.path) {
        try text.write(to: url, atomically: true, encoding: .utf8)
        Issue.record("recorded snapshot \(name); run again to compare")
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if expected != text {
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }
        Issue.record("snapshot \(name) differs at line \((first?.offset ?? 0) + 1):\nexpected: \(first?.element.0 ?? "")\nactual:   \(first?.element.1 ?? "")")
    }
}

@Suite struct DashboardSnapshotTests {
    /// A finished run at 60 columns: the elapsed time gives way to the left part instead of being
    /// written over it ("■ endefinished in 46.1s").
    @Test func aNarrowFinishedHeaderDoesNotOverwriteItself() {
        var m = sampleModel()
        m.engine.finished = true
        m.source = "replay elastic_apache_logs.log"
        for width in [60, 70, 80, 120] {
            let row = DashboardView.render(m, state: DashboardState(), width: width, height: 24).rowText(0)
            #expect(row.contains("■ ended") && !row.contains("endedf") && !row.contains("endef"), "\(width): \(row)")
            if width >= 80 { #expect(row.contains("finished in"), "\(width): \(row)") }
        }
    }

    @Test(arguments: [(80, 24), (120, 40), (60, 15), (80, 23), (100, 20), (200, 60), (20, 5)])
    func pipelineView(width: Int, height: Int) throws {
        var state = DashboardState()
        state.message = "pausing parse"
        let buf = DashboardView.render(sampleModel(), state: state, width: width, height: height)
        try assertSnapshot(buf, named: "pipeline-\(width)x\(height)")
    }

    @Test(arguments: [(80, 24), (120, 40)])
    func helpView(width: Int, height: Int) throws {
        var state = DashboardState()
        state.showHelp = true
        try assertSnapshot(DashboardView.render(sampleModel(), state: state, width: width, height: height), named: "help-\(width)x\(height)")
    }

    @Test func rejectedLinesAreShownSanitized() throws {
        var model = sampleModel()
        model.recentRejects = ["demo.log:12  bad time: 10.0.0.2 - - [32/Foo/2024] \u{1B}[2J\u{07}", "demo.log:40  unterminated quote: x"]
        var state = DashboardState()
        state.showRejects = true
        let buf = DashboardView.render(model, state: state, width: 80, height: 24)
        try assertSnapshot(buf, named: "rejects-80x24")
        #expect(buf.contains("demo.log:12  bad time: 10.0.0.2 - - [32/Foo/2024] ␛[2J␇"))
        let newest = (0..<buf.height).first { buf.rowText($0).contains("demo.log:40") }!
        let older = (0..<buf.height).first { buf.rowText($0).contains("demo.log:12") }!
        #expect(newest < older)
    }

    @Test(arguments: [(60, 15), (80, 23), (80, 24), (120, 40), (200, 60)])
    func decisionsAndAnalyticsViews(width: Int, height: Int) throws {
        var state = DashboardState()
        state.view = .decisions
        try assertSnapshot(DashboardView.render(sampleModel(), state: state, width: width, height: height), named: "decisions-\(width)x\(height)")
        state.view = .analytics
        try assertSnapshot(DashboardView.render(sampleModel(), state: state, width: width, height: height), named: "analytics-\(width)x\(height)")
    }

    @Test func filtersScrollAndSortNarrowTheViews() {
        var state = DashboardState()
        let tasks = sampleModel().engine.tasks
        _ = DashboardReducer.reduce(&state, .nextView, tasks: tasks, canChangeSpeed: true)
        #expect(state.view == .decisions)
        _ = DashboardReducer.reduce(&state, .filter, tasks: tasks, canChangeSpeed: true)
        for c in "OPERATOR" { DashboardReducer.editFilter(&state, .char(c)) }
        DashboardReducer.editFilter(&state, .enter)
        #expect(state.filter == "OPERATOR")
        var buf = DashboardView.render(sampleModel(), state: state, width: 100, height: 30)
        let shown = (buf.contains("operator  parse     paused"), buf.contains("blocked by backpressure —"), buf.contains("1 shown of 3"))
        #expect(shown == (true, false, true))
        _ = DashboardReducer.reduce(&state, .nextView, tasks: tasks, canChangeSpeed: true)
        #expect(state.view == .analytics)
        _ = DashboardReducer.reduce(&state, .filter, tasks: tasks, canChangeSpeed: true)
        for _ in 0..<8 { DashboardReducer.editFilter(&state, .backspace) }
        for c in "index" { DashboardReducer.editFilter(&state, .char(c)) }
        DashboardReducer.editFilter(&state, .enter)
        buf = DashboardView.render(sampleModel(), state: state, width: 100, height: 30)
        let filtered = (buf.contains("/index.html"), buf.contains("longlong"))
        #expect(filtered == (true, false))
        _ = DashboardReducer.reduce(&state, .selectNext, tasks: tasks, canChangeSpeed: true)
        // In the analytics view ↓ moves its row cursor (the task selection stays).
        #expect(state.cursor == 1 && state.selected == 1)
        _ = DashboardReducer.reduce(&state, .nextView, tasks: tasks, canChangeSpeed: true)
        #expect(state.view == .pipeline && state.scroll == 0)
    }

    @Test func theReplayBarShowsWhereTheReplayStands() {
        var model = sampleModel()
        model.recordingSpan = 1_732_492_800...1_732_579_200  // the whole day; position is 01:00
        let row = DashboardView.render(model, state: DashboardState(), width: 120, height: 40).rowText(0)
        #expect(row.contains("█░░░░░░░░░░░ 4%"), "\(row)")
    }

    @Test func tooSmallTerminalShowsAMessage() throws {
        // Below 60×15; 60×20 and 80×23 draw a smaller layout (snapshots above).
        let buf = DashboardView.render(sampleModel(), state: DashboardState(), width: 59, height: 20)
        #expect(buf.contains("Terminal too small: 59×20"))
        #expect(buf.contains("needs 60×15"))
        let tiny = DashboardView.render(sampleModel(), state: DashboardState(), width: 20, height: 5)
        #expect(tiny.contains("too small") && tiny.contains("q quits"), "even a 20×5 pane says how to leave: \(tiny.text)")
        _ = DashboardView.render(sampleModel(), state: DashboardState(), width: 0, height: 0)
        _ = DashboardView.render(sampleModel(), state: DashboardState(), width: 1, height: 1)
    }

    @Test func whatAUserNeedsIsOnScreen() {
        let buf = DashboardView.render(sampleModel(), state: DashboardState(), width: 80, height: 24)
        #expect(buf.contains("streamtop"))
        #expect(buf.contains("600×"))
        #expect(buf.contains("PAUSED"))
        #expect(buf.contains("blocked"))
        #expect(buf.contains("1.23M"))
        #expect(buf.contains("Top paths"))
        #expect(buf.contains("malformed 456"))
        #expect(buf.contains("site last min 200 req/s  4xx 6.6%  5xx 2.5%"), "the site's health: \(buf.rowText(2))")
        // The selected row (parse) is marked.
        let row = (0..<buf.height).first { buf.rowText($0).contains("parse") && buf.rowText($0).contains("PAUSED") }!
        #expect(buf.rowText(row).hasPrefix("▶"))
        #expect(buf.rowRoles(row).hasPrefix("S"))
    }

    @Test func untrustedTextNeverReachesTheScreenRaw() {
        let buf = DashboardView.render(sampleModel(), state: DashboardState(), width: 120, height: 40)
        for y in 0..<buf.height {
            for scalar in buf.rowText(y).unicodeScalars {
                #expect(scalar.value >= 0x20 && scalar.value != 0x7F && !(0x80..<0xA0).contains(scalar.value), "row \(y)")
            }
        }
        #expect(buf.contains("/␛[31mred␇"))
        // A wide path keeps columns aligned: every row is exactly the width in columns.
        for y in 0..<buf.height {
            #expect(Sanitizer.width(of: buf.rowText(y)) == 120, "row \(y)")
        }
    }
}

@Suite struct PipelineResultsPanelTests {
    @Test func theAnalyticsViewListsEachTasksLatestResultSanitized() {
        var row = ResultRow()
        row.set("window_start", .string("2024-11-25T12:05:00Z"))
        row.set("window_end", .string("2024-11-25T12:10:00Z"))
        row.set("requests", .int(95))
        row.set("visits", .int(81))
        row.set("top", .counts([KeyCount(key: "/\u{1B}[2Jevil", count: 33), KeyCount(key: "/b", count: 18)]))
        row.set("estimated", .bool(true))
        row.set("late_records", .int(4))
        let line = ResultSummary.describe(row, groups: 1)
        #expect(line == "12:05–12:10  requests 95 · visits 81 · top /\u{1B}[2Jevil 33, /b 18 · ≈ · late 4")
        var model = sampleModel()
        model.results = [ResultSummary(task: "visits", text: "active now 12 · " + line), ResultSummary(task: "by-endpoint", text: "no window closed yet")]
        var state = DashboardState()
        state.view = .analytics
        let buf = DashboardView.render(model, state: state, width: 120, height: 40)
        let text = buf.text
        #expect(text.contains("Pipeline results"))
        #expect(text.contains("  visits       active now 12 · 12:05–12:10  requests 95 · visits 81 · top /␛[2Jevil 33"))
        #expect(text.contains("  by-endpoint  no window closed yet"))
        #expect(!text.contains("\u{1B}"))
    }
}

/// Predict before acting: with a task selected, the throughput line says what the planner's model expects
/// of one worker more (issue 16).
@Suite struct WhatIfLineTests {
    @Test func theSelectedTasksNextWorkerIsPredictedWhereItCanHaveOne() {
        var m = sampleModel()
        // Aggregate costs the most per record: the limit (251 k/s); a second worker would take it to 502 k/s,
        // but then the pool (two workers, 4.3 µs of work per line) limits at 467 k/s.
        m.engine.tasks[2].nanosPerRecord = 4_000
        var state = DashboardState()
        state.selected = 2
        let row = DashboardView.render(m, state: state, width: 160, height: 40).text.split(separator: "\n").first { $0.contains("Throughput") } ?? ""
        // The model's change is applied to the rate the line shows (630 lines/s).
        #expect(row.contains("] +1 worker → 1.17k/s (+86%), then the worker pool limits"), "\(row)")
        // Parse already has both workers of the pool: one more is impossible, one fewer is predicted.
        state.selected = 1
        let full = DashboardView.render(m, state: state, width: 160, height: 40).text.split(separator: "\n").first { $0.contains("Throughput") } ?? ""
        #expect(!full.contains("+1 worker"), "\(full)")
        #expect(full.contains("[ −1 worker → "), "\(full)")
    }
}

/// Sorting the task table by a column (o / F6), as htop does: the ranking shows, the header marks the
/// column, and the selection keys follow the rows as shown.
@Suite struct TaskSortTests {
    func rows(_ m: DashboardModel, _ state: DashboardState) -> [String] {
        let lines = DashboardView.render(m, state: state, width: 120, height: 40).text.split(separator: "\n").map(String.init)
        let header = lines.firstIndex { $0.contains("TASK") && $0.contains("STATE") }!
        return lines[(header + 1)...].prefix(4).map { String($0.dropFirst(2).prefix { $0 != " " }) }
    }

    /// The graph's order is the tree's: a task the engine lists later (the report, added after a
    /// pipeline file's tasks) is drawn under the task it reads, not under the last branch.
    @Test func theTableListsEachTaskUnderTheOneItReads() {
        var m = sampleModel()
        let base = m.engine.tasks[1]
        func t(_ name: String, _ input: String) -> TaskSnapshot {
            var x = base
            x.name = name
            x.inputs = [input]
            return x
        }
        m.engine.tasks = [m.engine.tasks[0], t("parse", "source"), t("enrich", "parse"), t("win", "parse"), t("u", "win"), t("aggregate", "enrich"), t("sink", "aggregate")]
        #expect(TaskSort.graph.order(m.engine.tasks).map { m.engine.tasks[$0].name } == ["source", "parse", "enrich", "aggregate", "sink", "win", "u"])
        let table = DashboardView.render(m, state: DashboardState(), width: 120, height: 40).text
        #expect(table.contains("├ aggregate") || table.contains("│ aggregate"), "\(table)")
        let prefixes = TaskTree.prefixes(m.engine.tasks)
        #expect(prefixes[2] == "├ " && prefixes[5] == "│ " && prefixes[3] == "└ ", "\(prefixes)")
    }

    @Test func oCyclesTheColumnsAndTheTableFollows() {
        let m = sampleModel()
        var state = DashboardState()
        #expect(rows(m, state) == ["source", "parse", "aggregate", "sink"])
        _ = DashboardReducer.reduce(&state, .toggleSort, tasks: m.engine.tasks, canChangeSpeed: true)
        #expect(state.taskSort == .inRate && state.message == "tasks sorted by IN/s, largest first")
        // sink 1.23M/s, aggregate 4.3k/s, parse 0: the source stays on top.
        #expect(rows(m, state) == ["source", "sink", "aggregate", "parse"])
        let header = DashboardView.render(m, state: state, width: 120, height: 40).text.split(separator: "\n").first { $0.contains("STATE") } ?? ""
        #expect(header.contains("▼IN/s"), "\(header)")
        // Up from parse (the last row when sorted by IN/s) goes to the row above it as shown: aggregate.
        state.selected = 1
        _ = DashboardReducer.reduce(&state, .selectPrevious, tasks: m.engine.tasks, canChangeSpeed: true)
        #expect(m.engine.tasks[state.selected].name == "aggregate")
        // A click on the second task row selects the task shown there.
        DashboardReducer.click(&state, y: DashboardView.firstTaskRow + 1, tasks: m.engine.tasks)
        #expect(m.engine.tasks[state.selected].name == "sink")
        // p99: aggregate 43 µs, parse 17 µs, sink 461 ns.
        state.taskSort = .outRate
        _ = DashboardReducer.reduce(&state, .toggleSort, tasks: m.engine.tasks, canChangeSpeed: true)
        #expect(rows(m, state) == ["source", "aggregate", "parse", "sink"])
        // Around the cycle back to the graph's order, with its shape.
        while state.taskSort != .graph { _ = DashboardReducer.reduce(&state, .toggleSort, tasks: m.engine.tasks, canChangeSpeed: true) }
        #expect(state.message == "tasks in the graph's order")
        #expect(rows(m, state) == ["source", "parse", "aggregate", "sink"])
    }

    @Test func inTheAnalyticsViewOStillSortsByCountOrName() {
        var state = DashboardState()
        state.view = .analytics
        _ = DashboardReducer.reduce(&state, .toggleSort, tasks: sampleModel().engine.tasks, canChangeSpeed: true)
        #expect(state.sortByName && state.taskSort == .graph)
    }
}

/// Drill-down: ← → and ↑ ↓ choose a row of the analytics view, Enter opens its breakdown over the view.
@Suite struct DrillDownViewTests {
    func drilled(_ focus: FocusKey) -> DashboardModel {
        var model = sampleModel()
        model.startedAt = 1_764_000_000
        model.summary.drillDown = DrillDownSummary(
            focus: focus, generation: 1, since: 1_764_000_000 + 60, wholeRun: 8_000, requests: 640, bytes: 2_500_000,
            status: [KeyCount(key: "404", count: 600), KeyCount(key: "200", count: 40)],
            topPaths: [KeyCount(key: "/wp-login.php", count: 500), KeyCount(key: "/\u{1B}[2Jx", count: 140)],
            topClients: [KeyCount(key: "66.249.66.1", count: 400), KeyCount(key: "2001:db8::1", count: 240)],
            uniquePaths: 2, uniqueClients: 2, estimated: false,
            requestTime: LatencySummary(p50: 1_200, p95: 9_000, p99: 15_000, max: 80_000, count: 640),
            perMinute: (0..<30).map { MinuteCount(minute: 1_732_492_800 + Int64($0) * 60, count: 10 + ($0 * 7) % 30) })
        return model
    }

    @Test(arguments: [(80, 24), (120, 40), (60, 15)])
    func aStatusDrillDownShowsItsPathsAndClients(width: Int, height: Int) throws {
        var state = DashboardState()
        state.view = .analytics
        state.panel = .status
        state.cursor = 2
        state.drillDown = .status(404)
        let buf = DashboardView.render(drilled(.status(404)), state: state, width: width, height: height)
        try assertSnapshot(buf, named: "drilldown-\(width)x\(height)")
        #expect(buf.contains("Drill-down: status 404"))
        #expect(!buf.contains("\u{1B}"), "keys from the log are sanitized")
        if height >= 24 {
            #expect(buf.contains("whole run 8,000 requests"))
            #expect(buf.contains("p99 15.0ms"))
            #expect(buf.contains("/wp-login.php") && buf.contains("66.249.66.1"))
        }
        // However short the terminal, the breakdown's lists are what it is opened for: they come before
        // the graph.
        #expect(buf.contains("Paths (2)") && buf.contains("/wp-logi"), "\(buf.text)")
    }

    /// A recount that could not read anything says why, and shows no counts of zero above it.
    @Test func aRecountThatReadNothingShowsOnlyWhy() {
        var model = drilled(.path("/a"))
        model.summary.drillDown = DrillDownSummary(
            focus: .path("/a"), generation: 0, since: 0, wholeRun: nil, requests: 0, bytes: 0, status: [], topPaths: [], topClients: [],
            uniquePaths: 0, uniqueClients: 0, estimated: false, requestTime: nil, perMinute: [])
        model.summary.drillDown?.reread = DrillDownSummary.Reread(lines: 0, reportLines: 10, done: false, failure: "cannot open /x/a.log: Permission denied")
        var state = DashboardState()
        state.view = .analytics
        state.drillDown = .path("/a")
        let buf = DashboardView.render(model, state: state, width: 100, height: 30)
        #expect(buf.contains("reading the input again failed: cannot open /x/a.log: Permission denied"))
        #expect(!buf.contains("0 requests") && !buf.contains("Status"), "\(buf.text)")
    }

    /// Enter on a group row in the result table: the task's own drill-down, read from its result (not
    /// the report's), over the table it was opened from.
    @Test(arguments: [(80, 24), (120, 40)])
    func aGroupRowsDrillDownIsReadFromItsTask(width: Int, height: Int) throws {
        let focus = FocusKey.filter(task: "by_client", expression: #"client == "66.249.66.1" and status_class == "4xx""#)
        var model = drilled(focus)
        // A task keeps no whole-run count of a filter's records.
        model.summary.drillDown?.wholeRun = nil
        model.results = [ResultSummary(
            task: "by_client", text: "66.249.66.1 · 4xx · count 640", rows: ["66.249.66.1 · 4xx · count 640", "(other) · count 9"],
            rowFocus: [focus, nil], drillDown: model.summary.drillDown)]
        // The report's summary holds another drill-down: the overlay must not read that one.
        model.summary.drillDown = nil
        var state = DashboardState()
        state.view = .analytics
        state.panel = .results
        state.showResults = true
        state.resultsScroll = 1
        let table = DashboardView.render(model, state: state, width: width, height: height)
        #expect(table.contains("Enter drills into this row"), "the cursor is on a group row")
        state.resultsScroll = 2
        #expect(!DashboardView.render(model, state: state, width: width, height: height).contains("Enter drills"), "(other) has no keys")
        state.drillDown = focus
        let buf = DashboardView.render(model, state: state, width: width, height: height)
        try assertSnapshot(buf, named: "drilldown-task-\(width)x\(height)")
        #expect(buf.contains("Drill-down: by_client where client =="))
        #expect(buf.contains("640 requests") && !buf.contains("opening…"))
        #expect(!buf.contains("whole run"))
        #expect(buf.contains("/wp-login.php") && buf.contains("66.249.66.1"), "paths and clients both")
    }

    /// Minutes without a request are drawn as gaps, not closed up: a quiet spell shows.
    @Test func minutesWithoutRequestsAreGapsInTheSparkline() throws {
        var model = drilled(.status(404))
        let start: Int64 = 1_732_492_800
        model.summary.drillDown?.perMinute = [MinuteCount(minute: start, count: 5), MinuteCount(minute: start + 60, count: 5), MinuteCount(minute: start + 300, count: 5)]
        var state = DashboardState()
        state.view = .analytics
        state.drillDown = .status(404)
        let buf = DashboardView.render(model, state: state, width: 120, height: 40)
        let row = try #require((0..<buf.height).map { buf.rowText($0) }.first { $0.contains("Per min") })
        #expect(row.contains("██   █"), "two minutes, three quiet ones, one: [\(row)]")
    }

    @Test func untilTheEngineAnswersTheOverlaySaysItIsOpening() {
        var state = DashboardState()
        state.view = .analytics
        state.drillDown = .path("/index.html")
        // The model still holds another key's breakdown: it is not shown as this one's.
        let buf = DashboardView.render(drilled(.status(404)), state: state, width: 80, height: 24)
        #expect(buf.contains("Drill-down: path /index.html"))
        #expect(buf.contains("opening…"))
        #expect(!buf.contains("whole run"))
    }

    @Test func arrowsChooseTheRowAndEnterDrillsIntoIt() {
        let model = sampleModel()
        let tasks = model.engine.tasks
        var state = DashboardState()
        state.view = .analytics
        func press(_ a: Action) -> [DashboardEffect] { DashboardReducer.reduce(&state, a, tasks: tasks, canChangeSpeed: true) }
        #expect(DashboardView.selectedFocus(model, state: state, width: 80, height: 24) == .path("/"))
        _ = press(.selectNext)
        #expect(DashboardView.selectedFocus(model, state: state, width: 80, height: 24) == .path("/index.html"))
        _ = press(.nextPanel)
        #expect(state.panel == .clients && state.cursor == 0)
        _ = press(.last)
        // End goes to the last client; the frame keeps the cursor on the list.
        #expect(DashboardView.selectedFocus(model, state: state, width: 80, height: 24) == .client("2001:db8::1"))
        _ = press(.nextPanel)
        _ = press(.selectNext)
        #expect(DashboardView.selectedFocus(model, state: state, width: 80, height: 24) == .status(304), "status codes by count: 200, 304, …")
        #expect(press(.open) == [.drillDown])
        _ = press(.nextPanel)
        #expect(state.panel == .results)
        #expect(press(.open) == [])
        #expect(state.showResults)
        _ = press(.previousPanel)
        #expect(state.panel == .status)
        // Outside the analytics view the keys say where they work instead of doing something else.
        state.view = .pipeline
        #expect(press(.open) == [])
        #expect(state.message?.contains("analytics view") == true)
    }

    @Test func theCursorFollowsAFilteredListAndScrollsIntoSight() {
        var model = sampleModel()
        model.summary.topPaths = (0..<100).map { KeyCount(key: "/p\($0)", count: 1000 - $0) }
        var state = DashboardState()
        state.view = .analytics
        state.cursor = 60
        DashboardView.followCursor(&state, model, height: 24)
        #expect(state.scroll > 0 && state.scroll <= 60)
        let buf = DashboardView.render(model, state: state, width: 80, height: 24)
        #expect(buf.contains("/p60"))
        state.filter = "p9"
        DashboardView.followCursor(&state, model, height: 24)
        // /p9 and /p90…/p99: eleven rows, the cursor on the last.
        #expect(state.cursor == 10)
        #expect(DashboardView.selectedFocus(model, state: state, width: 80, height: 24) == .path("/p99"))
    }
}

/// F2 chooses the task table's columns (htop's setup screen): hidden columns leave their room to the names
/// and the queue bar, the chooser shows each change at once, and the settings file keeps the choice.
@Suite struct ColumnChooserTests {
    @Test func f2HidesAndShowsColumnsAndSaysHowToKeepIt() throws {
        var state = DashboardState()
        #expect(Keymap.standard.action(for: .function(2)) == .chooseColumns)
        _ = DashboardReducer.reduce(&state, .chooseColumns, tasks: [], canChangeSpeed: false)
        #expect(state.columnChooser == 0)
        // Down to p50, hide it; down to busy (p99 between), hide it.
        for key: Key in [.down, .down, .down, .char(" "), .down, .down, .enter] { DashboardReducer.editColumns(&state, key) }
        #expect(state.hiddenColumns == [.p50, .busy])
        #expect(state.message == "BUSY hidden")
        // The box's foot gives the line that keeps the choice.
        let open = DashboardView.render(sampleModel(), state: state, width: 120, height: 40)
        #expect((0..<open.height).contains { open.rowText($0).contains(#"to keep it, in settings.toml: hidden_columns = ["p50", "busy"]"#) })
        // `o` skips the hidden columns (BUSY here) when it cycles the sort.
        var sorting = state
        sorting.taskSort = .p99
        _ = DashboardReducer.reduce(&sorting, .toggleSort, tasks: [], canChangeSpeed: false)
        #expect(sorting.taskSort == .queue, "p99 → (BUSY hidden) → QUEUE")
        try assertSnapshot(DashboardView.render(sampleModel(), state: state, width: 120, height: 40), named: "columns-chooser-120x40")
        DashboardReducer.editColumns(&state, .escape)
        #expect(state.columnChooser == nil)

        // At 100 columns the bar is not at its 40 cells: the room of p50 (9) and BUSY (6) goes to it.
        let before = DashboardView.render(sampleModel(), state: DashboardState(), width: 100, height: 30)
        let after = DashboardView.render(sampleModel(), state: state, width: 100, height: 30)
        let header = after.rowText(DashboardView.firstTaskRow - 1)
        #expect(!header.contains("p50") && !header.contains("BUSY") && header.contains("p99") && header.contains("PRI"), "\(header)")
        // The queue bar takes the room: more cells than before.
        let parse = { (b: ScreenBuffer) in (0..<b.height).map(b.rowText).first { $0.contains("aggregate") && $0.contains("░") } ?? "" }
        let cells = { (row: String) in row.filter { $0 == "░" || $0 == "█" }.count }
        #expect(cells(parse(after)) == cells(parse(before)) + 15 && cells(parse(before)) == 20, "\(parse(before))\n\(parse(after))")
        // Sorted by a hidden column, nothing marks a header that is not there.
        state.taskSort = .busy
        #expect(!DashboardView.render(sampleModel(), state: state, width: 120, height: 40).rowText(DashboardView.firstTaskRow - 1).contains("▼"))
    }

    @Test func theSettingsFileHidesColumnsAndNamesAMistake() throws {
        let s = try DashboardSettings.parse(#"hidden_columns = ["p50", "priority"]"#)
        #expect(s.hiddenColumns == [.p50, .priority])
        #expect(throws: SettingsError.self) { try DashboardSettings.parse(#"hidden_columns = ["cpu"]"#) }
        do {
            _ = try DashboardSettings.parse("hidden_columns = [\"cpu\"]\n")
        } catch {
            #expect("\(error)" == "line 1: unknown column 'cpu' in hidden_columns (state, in, out, p50, p99, busy, queue, workers, priority)")
        }
    }
}
