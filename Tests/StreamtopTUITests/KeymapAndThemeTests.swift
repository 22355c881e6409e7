import Foundation
import Testing
import StreamtopAnalytics
@testable import StreamtopEngine
@testable import StreamtopTUI

@Suite struct KeymapTests {
    @Test func everyActionHasAKeyAndNoKeyIsBoundTwice() {
        let all: [Action] = [.selectNext, .selectPrevious, .togglePause, .priorityUp, .priorityDown, .addWorker, .removeWorker, .replayFaster, .replaySlower, .replayPause, .replayStep, .togglePin, .cyclePolicy, .commandLine, .toggleRejects, .cycleTheme, .undo, .nextView, .filter, .toggleSort, .scrollUp, .scrollDown, .first, .last, .graphSpan, .toggleHelp, .quit]
        for a in all { #expect(Keymap.standard.bindings.contains { $0.action == a }, "\(a)") }
        let keys = Keymap.standard.bindings.flatMap(\.keys)
        #expect(Set(keys).count == keys.count)
    }

    @Test func issueKeysDoWhatTheySay() {
        #expect(Keymap.standard.action(for: .up) == .selectPrevious)
        #expect(Keymap.standard.action(for: .char("k")) == .selectPrevious)
        #expect(Keymap.standard.action(for: .down) == .selectNext)
        #expect(Keymap.standard.action(for: .char("j")) == .selectNext)
        #expect(Keymap.standard.action(for: .char("p")) == .togglePause)
        #expect(Keymap.standard.action(for: .char(" ")) == .togglePause)
        #expect(Keymap.standard.action(for: .char("+")) == .priorityUp)
        #expect(Keymap.standard.action(for: .char("-")) == .priorityDown)
        #expect(Keymap.standard.action(for: .char("]")) == .addWorker)
        #expect(Keymap.standard.action(for: .char("[")) == .removeWorker)
        #expect(Keymap.standard.action(for: .char("?")) == .toggleHelp)
        #expect(Keymap.standard.action(for: .char("q")) == .quit)
    }

    @Test func helpAndHintsComeFromTheTable() {
        var state = DashboardState()
        state.showHelp = true
        let buf = DashboardView.render(sampleModel(), state: state, width: 120, height: 40)
        for b in Keymap.standard.bindings {
            #expect(buf.contains(b.keys.map(\.label).joined(separator: " ")), "help lists \(b.action)")
        }
        // On 80×24 the help wraps its descriptions (none is cut) and scrolls: every binding and command is
        // there (console issue, defect 3).
        var seen = ""
        for scroll in 0..<60 {
            state.helpScroll = scroll
            seen += DashboardView.render(sampleModel(), state: state, width: 80, height: 24).text
        }
        for b in Keymap.standard.bindings {
            #expect(seen.contains(b.keys.map(\.label).joined(separator: " ")), "80×24 help lists \(b.action)")
        }
        #expect(seen.contains("blocks, nothing is dropped)") && seen.contains("alone), or unpin"), "long descriptions wrap instead of being cut")
        #expect(seen.contains(":seek") && seen.contains("seek HH:MM[:SS] (UTC) | +10m") && seen.contains(":help"), "commands are listed")
        state.helpScroll = 0
        let hintRow = buf.rowText(buf.height - 1)
        for (keys, label) in Keymap.standard.hints(fitting: 118) { #expect(hintRow.contains("\(keys) \(label)")) }
        #expect(Keymap.standard.hints(fitting: 1000).count == Keymap.standard.hints.count)
        #expect(hintRow.contains("↑/↓ select"))
        // On a narrow terminal help and quit stay; the least important hints go.
        let narrow = DashboardView.render(sampleModel(), state: DashboardState(), width: 80, height: 24).rowText(23)
        #expect(narrow.contains("? help") && narrow.contains("q quit") && narrow.contains("p pause"), "\(narrow)")
    }

    @Test func reducerTurnsKeysIntoEngineCommands() {
        let tasks = sampleModel().engine.tasks
        var state = DashboardState()
        #expect(DashboardReducer.reduce(&state, .togglePause, tasks: tasks, canChangeSpeed: true) == [.command(.togglePause(TaskID(1)))])
        #expect(state.message == "resuming parse")
        _ = DashboardReducer.reduce(&state, .selectNext, tasks: tasks, canChangeSpeed: true)
        #expect(DashboardReducer.reduce(&state, .addWorker, tasks: tasks, canChangeSpeed: true) == [.command(.adjustWorkers(TaskID(2), 1))])
        #expect(DashboardReducer.reduce(&state, .priorityDown, tasks: tasks, canChangeSpeed: true) == [.command(.adjustPriority(TaskID(2), -1))])
        // A task that runs on one worker (windows, sessions…) says so instead of pretending.
        var ordered = tasks
        ordered[2].maxParallelism = 1
        #expect(DashboardReducer.reduce(&state, .addWorker, tasks: ordered, canChangeSpeed: true) == [])
        #expect(state.message == "aggregate runs on one worker: its state follows the order of events")
        for _ in 0..<10 { _ = DashboardReducer.reduce(&state, .selectNext, tasks: tasks, canChangeSpeed: true) }
        #expect(state.selected == 3)
        for _ in 0..<10 { _ = DashboardReducer.reduce(&state, .selectPrevious, tasks: tasks, canChangeSpeed: true) }
        #expect(state.selected == 0)
        #expect(DashboardReducer.reduce(&state, .replayFaster, tasks: tasks, canChangeSpeed: false) == [])
        #expect(DashboardReducer.reduce(&state, .replayFaster, tasks: tasks, canChangeSpeed: true) == [.scaleSpeed(2)])
        #expect(DashboardReducer.reduce(&state, .quit, tasks: tasks, canChangeSpeed: true) == [.quit])
        #expect(DashboardReducer.reduce(&state, .cyclePolicy, tasks: tasks, policy: "strict-priority", canChangeSpeed: true) == [.command(.setPolicy(.fairShare))])
        #expect(DashboardReducer.reduce(&state, .cyclePolicy, tasks: tasks, policy: "adaptive", canChangeSpeed: true) == [.command(.setPolicy(.strictPriority))])
        state.selected = 2
        #expect(DashboardReducer.reduce(&state, .togglePin, tasks: tasks, canChangeSpeed: true) == [.command(.togglePin(TaskID(2)))])
    }

    @Test func aKeymapFileRebindsKeysAndHelpFollows() throws {
        let map = try Keymap.standard.applying(keymapFile: """
            # mine
            [keys]
            quit = ["x", "F10"]
            pause = ["space"]
            """)
        #expect(map.action(for: .char("x")) == .quit)
        #expect(map.action(for: .char("q")) == nil)
        #expect(map.action(for: .char("p")) == nil)
        #expect(map.action(for: .char(" ")) == .togglePause)
        var state = DashboardState()
        state.keymap = map
        state.showHelp = true
        let buf = DashboardView.render(sampleModel(), state: state, width: 120, height: 40)
        let helpShowsIt = buf.contains("x F10") && buf.contains("quit and restore the terminal")
        #expect(helpShowsIt)
        let hint = buf.rowText(39)
        #expect(hint.contains("x quit"), "\(hint)")
        do {
            _ = try Keymap.standard.applying(keymapFile: "[keys]\nexplode = [\"e\"]")
            Issue.record("accepted an unknown action")
        } catch {
            #expect("\(error)".hasPrefix("line 2: unknown action 'explode' (select-next, select-previous, pause,"))
        }
        #expect(throws: KeymapError("line 2: key j is bound to both select-next (by default) and quit (line 2)")) {
            try Keymap.standard.applying(keymapFile: "[keys]\nquit = [\"j\"]")
        }
        #expect(throws: KeymapError("line 3: key x is bound to both pause (line 2) and quit (line 3)")) {
            try Keymap.standard.applying(keymapFile: "[keys]\npause = [\"x\"]\nquit = [\"x\"]")
        }
        #expect(throws: KeymapError("line 2: unknown key 'hyper'")) {
            try Keymap.standard.applying(keymapFile: "[keys]\nquit = [\"hyper\"]")
        }
    }

    @Test func clickingATaskRowSelectsIt() {
        let model = sampleModel()
        var state = DashboardState()
        let buf = DashboardView.render(model, state: state, width: 80, height: 24)
        let row = (0..<buf.height).first { buf.rowText($0).dropFirst(2).hasPrefix("sink ") }!
        DashboardReducer.click(&state, y: row, tasks: model.engine.tasks)
        #expect(state.selected == 3)
        DashboardReducer.click(&state, y: 0, tasks: model.engine.tasks)  // the header: nothing happens
        #expect(state.selected == 3)
    }

    @Test func theCommandLineCollectsAndRunsACommand() {
        var state = DashboardState()
        _ = DashboardReducer.reduce(&state, .commandLine, tasks: [], canChangeSpeed: true)
        #expect(state.commandLine == "")
        for c in "pause parsex" { _ = DashboardReducer.editCommandLine(&state, .char(c)) }
        _ = DashboardReducer.editCommandLine(&state, .backspace)
        let buf = DashboardView.render(sampleModel(), state: state, width: 80, height: 24)
        #expect(buf.rowText(23).hasPrefix(":pause parse█"))
        #expect(DashboardReducer.editCommandLine(&state, .enter) == [.runCommand("pause parse")])
        #expect(state.commandLine == nil)
        _ = DashboardReducer.reduce(&state, .commandLine, tasks: [], canChangeSpeed: true)
        #expect(DashboardReducer.editCommandLine(&state, .escape) == [])
        #expect(state.commandLine == nil)
    }
}

@Suite struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("themes").path

    @Test func shippedThemesLoadWithoutWarnings() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.themesDirectory).filter { $0.hasSuffix(".theme") }
        #expect(Set(files) == ["default.theme", "light.theme", "high-contrast.theme", "mono.theme", "nord.theme"])
        for f in files {
            let (theme, warnings) = try Theme.load("\(Self.themesDirectory)/\(f)", directories: [])
            #expect(warnings.isEmpty, "\(f): \(warnings)")
            #expect(theme.styles.count >= 10)
        }
    }

    @Test func badEntriesAreWarningsWithLineNumbers() throws {
        let text = """
            name = "x"
            colour = "red"
            [palette]
            good = "#00ff00"
            bad = "#zzzzzz"
            [roles]
            "title" = { fg = "good", bold = true }
            "nonsense" = { fg = "red" }
            "task" = { fg = "mauve" }
            "task.paused" = { blink = true }
            """
        let (theme, warnings) = try Theme.parse(text, name: "x")
        let lines = Set(warnings.map(\.line))
        #expect(lines == [2, 5, 8, 9, 10], "\(warnings)")
        #expect(theme.style(for: .title) == Style(fg: .rgb(0, 255, 0), bold: true))
        // Dotted roles fall back to their parent.
        #expect(theme.style(for: .taskRunning) == theme.style(for: .task))
        #expect(throws: ThemeError.self) { try Theme.parse("[roles\n", name: "broken") }
    }

    @Test func coloursDegradeTo256And8() {
        #expect(ThemeColor("#ff0000")!.index256 == 196)
        #expect(ThemeColor("#ff0000")!.index8 == 1)
        #expect(ThemeColor("bright-blue") == .basic(12))
        #expect(ThemeColor("default")!.index256 == -1)
        #expect(ThemeColor("#808080")!.index256 == 244)
        #expect(ThemeColor("#2c313a")!.index256 == 236)  // a dark grey stays grey, not teal
        #expect(ThemeColor("#61afef")!.index256 == 75)
    }
}

@Suite struct SanitizerTests {
    @Test func controlCharactersBecomeVisible() {
        #expect(Sanitizer.displayable("a\u{1B}[2Jb\u{07}\u{7F}") == "a␛[2Jb␇␡")
        #expect(Sanitizer.displayable("x\u{9B}y\u{202E}z") == "x\u{FFFD}y\u{FFFD}z")
        #expect(Sanitizer.displayable(bytes: [0x41, 0xFF, 0x42]) == "A\u{FFFD}B")
        #expect(Sanitizer.displayable("plain ascii") == "plain ascii")
    }

    @Test func wideCharactersTakeTwoColumns() {
        var buf = ScreenBuffer(width: 10, height: 1)
        let used = buf.put("日本x", x: 0, y: 0, role: .normal)
        #expect(used == 5)
        #expect(buf.rowText(0) == "日本x     ")
        #expect(Sanitizer.truncate("日本語テキスト", to: 6) == "日本…")
    }
}

@Suite struct BottleneckAdvisorTests {
    func snapshot(_ edit: (inout [TaskSnapshot]) -> Void) -> EngineSnapshot {
        var snap = sampleModel().engine
        for i in snap.tasks.indices {
            snap.tasks[i].state = i == 0 ? .running : .idle
            snap.tasks[i].queueDepth = 0
            snap.tasks[i].busyRatio = 0.1
            snap.tasks[i].backpressuredRatio = 0
        }
        edit(&snap.tasks)
        return snap
    }

    @Test func namesTheSaturatedTaskAndTheKeyThatHelps() throws {
        let s = snapshot { t in
            t[2].busyRatio = 0.97
            t[2].queueDepth = 7
            t[2].workers = 1
        }
        let advice = try #require(BottleneckAdvisor.advise(s))
        #expect(advice.text == "aggregate is the bottleneck: busy 97%, input queue 88% full — press ] to add a worker")
        #expect(advice.role == .warning)
    }

    @Test func aPausedTaskThatBlocksComesFirst() throws {
        let s = snapshot { t in
            t[1].state = .paused
            t[1].queueDepth = 8
        }
        #expect(try #require(BottleneckAdvisor.advise(s)).text.hasPrefix("parse is paused, queue full (8/8)"))
    }

    @Test func fullQueuesBlameTheTaskAtTheirEndNotTheOneBehind() throws {
        // parse's and aggregate's queues are full, the sink's is not: aggregate holds everything up.
        let s = snapshot { t in
            t[0].state = .backpressured
            t[1].queueDepth = 8
            t[1].busyRatio = 0.3
            t[1].backpressuredRatio = 0.7
            t[2].queueDepth = 8
            t[2].busyRatio = 0.98
            t[2].workers = 1
        }
        let advice = try #require(BottleneckAdvisor.advise(s))
        #expect(advice.text == "aggregate is the bottleneck: busy 98%, input queue full (8/8) — press ] to add a worker", "\(advice.text)")
        #expect(advice.role == .warning)
        // Full but hardly busy: it is starved of worker time, and priority is what helps.
        let starved = snapshot { t in
            t[2].queueDepth = 8
            t[2].busyRatio = 0.05
        }
        #expect(try #require(BottleneckAdvisor.advise(starved)).text.hasPrefix("aggregate holds the pipeline up: input queue full (8/8) but busy only 5%"))
    }

    @Test func aPausedTaskIsNeverKeepingUp() throws {
        let s = snapshot { t in
            t[1].state = .paused
            t[1].queueDepth = 3
        }
        let advice = try #require(BottleneckAdvisor.advise(s))
        #expect(advice.text == "parse is paused: its queue fills (3/8), then upstream waits — select it and press p")
        #expect(advice.role == .warning)
        // A paused source reads nothing: never "keeping up".
        let source = snapshot { t in t[0].state = .paused }
        #expect(try #require(BottleneckAdvisor.advise(source)).text == "source is paused: no input is read — select it and press p")
    }

    @Test func allIsWellIsSaidQuietly() throws {
        let advice = try #require(BottleneckAdvisor.advise(snapshot { _ in }))
        #expect(advice.text.hasPrefix("keeping up with the input"))
        #expect(advice.role == .dim)
    }
}

/// Failures must not look like success (console issue, defect 6): a missing file or an input that mostly
/// does not parse is said first, in the error colour, instead of "keeping up with the input".
@Suite struct InputProblemTests {
    @Test func aMissingFileIsSaidBeforeAnyAdvice() {
        var m = sampleModel()
        m.inputWarning = "waiting for nonexist.log to appear: it does not exist yet (a typo in the path?)"
        let buf = DashboardView.render(m, state: DashboardState(), width: 120, height: 40)
        #expect(buf.rowText(3).contains("waiting for nonexist.log to appear"), "\(buf.rowText(3))")
        #expect(buf.rowRoles(3).contains(Role.error.code))
    }

    @Test func mostlyMalformedInputIsAnErrorWithWhy() {
        var m = sampleModel()
        m.summary.lines = 300
        m.summary.malformed = 300
        m.engine.decisions.append(Decision(sequence: 9, time: 0.1, actor: .engine, kind: .formatDetected, task: "parse", action: "no format fits", reason: "no known format fits the input (best: combined (0 of 300 lines of the first block parse))"))
        let buf = DashboardView.render(m, state: DashboardState(), width: 160, height: 40)
        #expect(buf.rowText(3).contains("100% of lines are malformed: no known format fits the input (best: combined"), "\(buf.rowText(3))")
        #expect(buf.rowRoles(3).contains(Role.error.code))
        // A few malformed lines among many stay a warning in the totals, not an alarm.
        m.summary.malformed = 3
        let calm = DashboardView.render(m, state: DashboardState(), width: 160, height: 40)
        #expect(!calm.rowText(3).contains("malformed"), "\(calm.rowText(3))")
    }
}

/// A finished run says so consistently (console issue, defect 4): its last second's rates and speed are
/// history, so the frame shows "ended", the run's length, and averages over the whole run.
@Suite struct FinishedRunTests {
    @Test func aFinishedRunShowsAveragesAndItsLength() {
        var m = sampleModel()
        m.speed = "max"
        m.engine.finished = true
        m.engine.inputEnded = true
        m.engine.time = 2.0
        let buf = DashboardView.render(m, state: DashboardState(), width: 120, height: 40)
        let header = buf.rowText(0)
        #expect(header.contains("■ ended") && !header.contains("▶ max"), "\(header)")
        #expect(header.contains("finished in 2.0s"), "\(header)")
        let source = m.engine.tasks[0]
        // recordsOut / time, not the last second's rate.
        #expect(buf.rowText(1).contains("avg rate \(Format.count(Double(source.recordsOut) / 2))/s"), "\(buf.rowText(1))")
        #expect(buf.contains("avg in/s"))
        let sink = (0..<buf.height).map { buf.rowText($0) }.first { $0.dropFirst(2).hasPrefix("sink ") } ?? ""
        #expect(sink.contains(Format.count(Double(m.engine.tasks[3].recordsIn) / 2)) && !sink.contains("1.23M"), "\(sink)")
    }
}

/// The decisions panel reads like the decisions view (newest first) and says when, on the wall clock
/// (console issue, defect 11).
@Suite struct DecisionTimeTests {
    @Test func decisionsAreNewestFirstAtTheirWallClockTime() {
        var m = sampleModel()
        m.startedAt = 1_732_500_000
        let buf = DashboardView.render(m, state: DashboardState(), width: 120, height: 40)
        let rows = (0..<buf.height).map { buf.rowText($0) }
        guard let title = rows.firstIndex(where: { $0.contains("Decisions (newest first)") }) else {
            Issue.record("no decisions panel: \(buf.text)")
            return
        }
        #expect(rows[title + 1].contains(Engine.clockTime(1_732_500_000 + 8.2)) && rows[title + 1].contains("blocked by backpressure"), "\(rows[title + 1])")
        #expect(rows[title + 3].contains("started"), "the oldest is last: \(rows[title + 3])")
    }
}

/// One number format, so that a column reads alike all the way down (console issue, defect 9).
@Suite struct NumberFormatTests {
    /// The frame's own fixed-point formatter writes what `%.Nf` writes, ties and negatives included.
    @Test func fixedWritesWhatPrintfWrites() {
        var values: [Double] = (0..<30_000).map { Double($0) / 1000 } + [0.125, 0.375, 2.675, 1.005, 0.285, 99.95, 9.995, -0.04, -0.05, -1.25, 1e14 + 0.5]
        var rng = SystemRandomNumberGenerator()
        values += (0..<20_000).map { _ in Double.random(in: -1_000_000...1_000_000, using: &rng) }
        for v in values {
            for d in 0...2 {
                #expect(Format.fixed(v, d) == String(format: "%.\(d)f", v), "\(v) with \(d) digits")
            }
        }
    }

    @Test func countsHaveThreeSignificantDigitsAndAUnitFromAThousand() {
        let cases: [(Double, String)] = [
            (0, "0"), (999, "999"), (999.6, "1.00k"), (7580, "7.58k"), (11_300, "11.3k"), (170_600, "171k"), (803_843, "804k"),
            (999_700, "1.00M"), (2_920_000, "2.92M"), (172_930_000, "173M"), (12_000_000_000, "12.0G"), (-4321, "-4.32k"),
        ]
        for (v, s) in cases { #expect(Format.count(v) == s, "\(v)") }
    }

    @Test func bytesAlwaysSayTheirUnit() {
        #expect(Format.bytes(512) == "512B")
        #expect(Format.bytes(12_345) == "12.3kB")
        #expect(Format.bytes(172_930_000) == "173MB")
        #expect(Format.bytes(1_200_000_000) == "1.20GB")
        var row = ResultRow()
        row.set("bytes", .int(172_930_000))
        row.set("requests", .int(7580))
        #expect(ResultSummary.describe(row, groups: 1) == "bytes 173MB · requests 7.58k")
    }

    @Test func aWholeInputTableSoFarSaysSo() {
        var row = ResultRow()
        row.set("client", .string("10.0.0.3"))
        row.set("count", .int(12))
        #expect(ResultSummary.of(task: "by_client", AnalyticsResult(rows: [row], soFar: true)).text == "so far 10.0.0.3 · count 12")
        #expect(ResultSummary.of(task: "by_client", AnalyticsResult(rows: [row])).text == "10.0.0.3 · count 12")
    }
}

/// Themes are checked for readability (console issue, defect 10): nord's grey text was ~1.7:1 on its own
/// background. Every bundled theme now gives each text role WCAG's 4.5:1.
@Suite struct ThemeContrastTests {
    @Test func lowContrastTextIsReportedWithItsRatio() throws {
        let (theme, warnings) = try Theme.parse(#"""
            name = "murky"
            background = "#2e3440"
            [roles]
            "dim" = { fg = "#4c566a" }
            "normal" = { fg = "#eceff4" }
            """#, name: "murky")
        #expect(warnings.isEmpty)
        let hard = theme.contrastWarnings()
        let dim = try #require(hard.first { $0.role == .dim })
        #expect(abs(dim.ratio - 1.69) < 0.05, "\(dim.ratio)")
        #expect(!hard.contains { $0.role == .normal })
        #expect(abs(ThemeColor.contrast(.rgb(0, 0, 0), .rgb(255, 255, 255)) - 21) < 0.01)
    }

    @Test func everyBundledThemeIsReadable() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".theme") }
        #expect(files.count >= 5)
        for f in files {
            let (theme, _) = try Theme.load(dir + "/" + f, directories: [])
            #expect(theme.contrastWarnings().isEmpty, "\(f): \(theme.contrastWarnings().map { "\($0.role) \($0.ratio)" })")
        }
    }
}

/// The throughput graph (console issue, defect 12): spans up to 15 minutes, graphs aligned on one time
/// axis, a burst drawn clipped instead of flattening the rest.
@Suite struct GraphTests {
    @Test func spansFitTheirSamplesToTheWidthWithNowAtTheRightEdge() {
        // 30 s of ten-hertz samples: the minute span is empty on its left half.
        let tenHertz = (0..<300).map { Double($0 < 150 ? 10 : 20) }
        let (minute, seconds) = GraphSpan.series(.minute, tenHertz: tenHertz, perSecond: [], columns: 60)
        #expect(seconds == 60 && minute.count == 60)
        #expect(minute[..<30].allSatisfy { $0 == nil }, "before the run: nothing")
        #expect(minute[30..<45].allSatisfy { $0 == 10 } && minute[45...].allSatisfy { $0 == 20 }, "\(minute)")
        // Fewer samples than columns: each spans several; 5 minutes of per-second samples over 600 columns.
        let perSecond = (0..<300).map(Double.init)
        let (five, _) = GraphSpan.series(.fiveMinutes, tenHertz: [], perSecond: perSecond, columns: 600)
        #expect(five.count == 600 && five[0] == 0 && five[1] == 0 && five[599] == 299)
        // Live: one sample a column, the newest last.
        let (live, liveSeconds) = GraphSpan.series(.live, tenHertz: tenHertz, perSecond: [], columns: 100)
        #expect(live.last == 20 && live.count == 100 && liveSeconds == 10)
    }

    @Test func hourSpansReadMinutesAndEndWithTheMinuteUnderWay() {
        // Two hours of per-minute rates: the hour span shows the last 59 and the minute under way.
        let perMinute = (0..<120).map { Double($0) }
        let perSecond = Array(repeating: 500.0, count: 900)
        let (hour, seconds) = GraphSpan.series(.hour, tenHertz: [], perSecond: perSecond, perMinute: perMinute, secondsIntoMinute: 20, columns: 60)
        #expect(seconds == 3_600 && hour.count == 60)
        #expect(hour[0] == 61 && hour[58] == 119 && hour[59] == 500, "\(hour)")
        // Six hours over 90 columns: the part before the run is empty, four minutes a column after it.
        let (six, sixSeconds) = GraphSpan.series(.sixHours, tenHertz: [], perSecond: [], perMinute: perMinute, columns: 90)
        #expect(sixSeconds == 21_600 && six.count == 90)
        #expect(six[..<60].allSatisfy { $0 == nil } && six[60] == 1.5 && six[89] == 117.5, "\(six)")
        // A finished run (no minute under way) ends with its last whole minute.
        #expect(GraphSpan.series(.hour, tenHertz: [], perSecond: perSecond, perMinute: perMinute, columns: 60).values.last == 119)
    }

    @Test func theAxisMarksRoundTimesBeforeNow() {
        let hour = GraphSpan.axis(seconds: 3_600, columns: 60)
        #expect(hour.count == 60 && hour.hasSuffix("now"), "[\(hour)]")
        #expect(hour.contains("-10m") && hour.contains("-30m") && hour.contains("-50m") && hour.hasPrefix("-1h"), "[\(hour)]")
        // -30m is half way: its label ends at the middle column.
        let half = hour.range(of: "-30m")!
        #expect(hour.distance(from: hour.startIndex, to: half.upperBound) == 30, "[\(hour)]")
        let day = GraphSpan.axis(seconds: 86_400, columns: 100)
        #expect(day.contains("-6h") && day.contains("-12h") && day.hasSuffix("now"), "[\(day)]")
        #expect(GraphSpan.axis(seconds: 60, columns: 120).contains("-30s"))
        #expect(GraphSpan.axis(seconds: 60, columns: 5).isEmpty, "too narrow for an axis")
    }

    @Test func aLongSpanDrawsItsAxisUnderTheGraph() {
        var m = sampleModel()
        m.engine.throughputPerMinute = (0..<400).map { Double(1_000 + ($0 * 37) % 500) }
        var state = DashboardState()
        state.graphSpan = .sixHours
        let buf = DashboardView.render(m, state: state, width: 120, height: 40)
        let input = (0..<buf.height).first { buf.rowText($0).hasPrefix(" input") }!
        #expect(buf.rowText(input + 1).contains("-3h") && buf.rowText(input + 1).hasSuffix("now" + String(repeating: " ", count: 16)), "[\(buf.rowText(input + 1))]")
        #expect(buf.rowText(input - 1).contains("last 6h"), "\(buf.rowText(input - 1))")
    }

    /// The selected task's graphs follow the long spans too (its own per-minute rates and p99 peaks),
    /// aligned with the input's; an attached instance's tasks, which send only the last minute, say so.
    @Test func aSelectedTasksGraphsSpanHours() {
        var m = sampleModel()
        m.engine.throughputPerMinute = (0..<400).map { Double(1_000 + ($0 * 37) % 500) }
        var state = DashboardState()
        state.graphSpan = .sixHours
        state.selected = 1
        // The last 20 minutes busier than the rest: the right end of the task's graph is high.
        m.engine.tasks[1].perSecond = Array(repeating: 100, count: 900)
        m.engine.tasks[1].perMinute = Array(repeating: 100, count: 340) + Array(repeating: 900, count: 20)
        m.engine.tasks[1].latencyPerSecond = Array(repeating: 2_000_000, count: 900)
        m.engine.tasks[1].latencyPerMinute = Array(repeating: 2_000_000, count: 360)
        let buf = DashboardView.render(m, state: state, width: 120, height: 40)
        let input = (0..<buf.height).first { buf.rowText($0).hasPrefix(" input") }!
        let own = buf.rowText(input + 1)
        #expect(own.hasPrefix(" " + m.engine.tasks[1].name.prefix(10)), "[\(own)]")
        #expect(own.contains("▁") && own.contains("█") && own.contains("peak 900/s"), "[\(own)]")
        #expect(buf.rowText(input + 2).hasPrefix("   p99") && buf.rowText(input + 2).contains("peak 2.00ms"), "[\(buf.rowText(input + 2))]")
        #expect(buf.rowText(input + 3).contains("-3h"), "the axis under all of them: [\(buf.rowText(input + 3))]")
        // Without them (an attached instance), the graph is left out and the reason given.
        m.engine.tasks[1].perSecond = nil
        let remote = DashboardView.render(m, state: state, width: 120, height: 40)
        #expect(remote.contains("task graphs of the last minute only"))
    }

    /// A p99's peaks stay peaks at every span: a column of several seconds or minutes keeps the highest.
    @Test func peaksAreKeptWhenSamplesShareAColumn() {
        let perSecond = Array(repeating: 100.0, count: 899) + [5_000]
        for span in [GraphSpan.fiveMinutes, .fifteenMinutes] {
            let peaks = GraphSpan.series(span, tenHertz: [], perSecond: perSecond, columns: 50, peaks: true).values.compactMap { $0 }
            let means = GraphSpan.series(span, tenHertz: [], perSecond: perSecond, columns: 50).values.compactMap { $0 }
            #expect(peaks.max() == 5_000, "\(span)")
            #expect(means.max()! < 5_000, "a mean of the column's samples: \(span)")
        }
    }

    @Test func aBurstIsClippedNotFlatteningEverythingElse() {
        var buf = ScreenBuffer(width: 40, height: 1)
        let values: [Double?] = Array(repeating: 100, count: 30) + [10_000] + Array(repeating: 50, count: 9)
        let (peak, clipped) = DashboardView.drawGraph(&buf, values, x: 0, y: 0, role: .sparkline)
        #expect(peak == 10_000 && clipped)
        let row = buf.rowText(0)
        #expect(row.hasPrefix("▇▇▇▇") && row.hasSuffix("▄▄▄▄"), "the ordinary values use the scale: \(row)")
        #expect(buf.rowRoles(0).contains(Role.queueHigh.code), "the burst is marked")
        #expect(!row.contains("▁▁▁▁▁▁▁▁▁▁"), "nothing is flattened to the floor: \(row)")
    }

    @Test func gCyclesTheSpan() {
        var state = DashboardState()
        for expected in [GraphSpan.minute, .fiveMinutes, .fifteenMinutes, .hour, .sixHours, .day, .live] {
            _ = DashboardReducer.reduce(&state, .graphSpan, tasks: [], canChangeSpeed: false)
            #expect(state.graphSpan == expected)
        }
        #expect(Keymap.standard.action(for: .char("g")) == .graphSpan)
    }
}

/// A 5xx share past its alert threshold for half a minute is said first, in the error colour; the
/// thresholds are the settings file's.
@Suite struct HealthAlertTests {
    @Test func aLastingServerErrorShareRaisesTheAlert() {
        var m = sampleModel()
        m.summary.health?.minute?.serverErrorShare = 0.073
        // The last four buckets at 7.3 %, the two before at 1 %: 40 s.
        m.summary.health?.minute?.recent = Array(repeating: [2000, 146], count: 4) + Array(repeating: [2000, 20], count: 2)
        let buf = DashboardView.render(m, state: DashboardState(), width: 140, height: 40)
        #expect(buf.rowText(3).contains("ALERT 5xx 7.3% ≥ 5% for 40 s (last minute: 876 of 12,000 requests)"), "\(buf.rowText(3))")
        #expect(buf.rowRoles(3).contains(Role.error.code))
        #expect(buf.rowRoles(2).contains(Role.error.code), "the strip's 5xx share is in the error colour")
        // A brief spike does not alert yet…
        m.summary.health?.minute?.recent = [[2000, 146], [2000, 20]]
        #expect(!DashboardView.render(m, state: DashboardState(), width: 140, height: 40).rowText(3).contains("ALERT"))
        // …unless the operator's settings say 10 s is enough; a higher alert level silences it.
        var state = DashboardState()
        state.thresholds.alertAfterSeconds = 10
        #expect(DashboardView.render(m, state: state, width: 140, height: 40).rowText(3).contains("ALERT 5xx 7.3% ≥ 5% for 10 s"))
        state.thresholds.serverErrorAlert = 0.10
        #expect(!DashboardView.render(m, state: state, width: 140, height: 40).rowText(3).contains("ALERT"))
    }
}

/// What the process itself costs, as htop shows it, and how busy each task is.
@Suite struct ProcessUsageTests {
    @Test func theHeaderShowsCPUAndMemoryAndTheTableShowsBusy() {
        var m = sampleModel()
        m.processCPU = 0.023
        m.processRSS = 33_000_000
        let buf = DashboardView.render(m, state: DashboardState(), width: 160, height: 40)
        #expect(buf.rowText(1).contains("cpu 2.3%") && buf.rowText(1).contains("rss 33.0MB"), "\(buf.rowText(1))")
        #expect(buf.contains("BUSY"))
        let parse = (0..<buf.height).map { buf.rowText($0) }.first { $0.dropFirst(2).hasPrefix("parse ") } ?? ""
        #expect(parse.contains(" 50% "), "\(parse)")
        // A followed input: how far behind it the pipeline is, in the totals and the cluster's LAG column.
        m.backlogBytes = 48_000_000
        m.eventLag = 2.5
        let behind = DashboardView.render(m, state: DashboardState(), width: 200, height: 40)
        #expect(behind.rowText(1).contains("behind 48.0MB") && behind.rowText(1).contains("event lag 2.5s"), "\(behind.rowText(1))")
        let cluster = ClusterView.render(ClusterModel(instances: [.init(link: RemoteStatus(endpoint: "a:1", age: 0.1), model: m)]), state: ClusterState(), width: 140, height: 30)
        #expect((0..<cluster.height).map { cluster.rowText($0) }.contains { $0.contains("a:1") && $0.contains("48.0MB") }, "\(cluster.text)")
    }
}

/// The settings file (console issue: saved settings): theme, graph span and alert thresholds; a mistake is
/// an error with its line, never a setting silently ignored.
@Suite struct SettingsTests {
    @Test func settingsAreReadWithTheirUnits() throws {
        let s = try DashboardSettings.parse(#"""
            theme = "nord"
            graph = "5m"
            refresh = "2s"
            [alerts]
            server_errors_warning = "0.5%"
            server_errors_alert = "2%"
            client_errors_warning = 30
            slow_p99 = "250ms"
            alert_after = "1m"
            """#)
        #expect(s.theme == "nord" && s.graphSpan == .fiveMinutes && s.refresh == 2)
        #expect(s.thresholds.serverErrorWarning == 0.005 && s.thresholds.serverErrorAlert == 0.02 && s.thresholds.clientErrorWarning == 0.30)
        #expect(s.thresholds.slowP99Micros == 250_000 && s.thresholds.alertAfterSeconds == 60)
        #expect(try DashboardSettings.parse("") == DashboardSettings())
    }

    /// An error storm of three minutes: the alert says so (it is counted over the last five minutes, not
    /// only the last one), an `alert_after` of two minutes fires, and past five it says "5 min or more".
    @Test func anAlertCountsHowLongBeyondTheLastMinute() throws {
        func storm(seconds: Int64) -> (SiteHealth.Window?, SiteHealth.Window?) {
            var w = HealthWindow()
            for t in 0..<(600 - seconds) { w.add(time: 1_700_000_000 + t, status: 200, size: 1, servedMicros: -1) }
            for t in (600 - seconds)..<600 {
                for k in 0..<10 { w.add(time: 1_700_000_000 + t, status: k < 3 ? 503 : 200, size: 1, servedMicros: -1) }
            }
            return (w.summary(seconds: 60), w.summary(seconds: 300))
        }
        var limits = HealthThresholds()
        limits.alertAfterSeconds = 120
        let (minute, five) = storm(seconds: 180)
        #expect(limits.alert(minute) == nil, "the last minute alone cannot tell two minutes")
        let alert = try #require(limits.alert(minute, fiveMinutes: five))
        #expect(alert.hasPrefix("ALERT 5xx 30.0% ≥ 5% for 180 s"), "\(alert)")
        let (m, f) = storm(seconds: 400)
        #expect(limits.alert(m, fiveMinutes: f)?.contains("for 5 min or more") == true)
    }

    @Test func mistakesAreErrorsWithTheirLine() {
        let cases: [(String, String)] = [
            ("theme = \"nord\"\ncolour = \"red\"\n", "line 2: unknown setting 'colour' (theme, graph, hidden_columns, refresh, [alerts])"),
            ("refresh = \"50ms\"\n", "line 1: refresh 50ms is out of range: from 100ms to 10s"),
            ("refresh = \"often\"\n", "line 1: refresh wants a duration like \"500ms\" or \"2s\", not 'often'"),
            ("refresh = 2\n", "line 1: refresh wants a duration like"),
            ("graph = \"2h\"\n", "line 1: graph wants live, 1m, 5m, 15m, 1h, 6h or 24h"),
            ("[alerts]\nserver_errors_alert = \"500%\"\n", "line 2: server_errors_alert wants a share like \"5%\" (above 0, at most 100)"),
            ("[alerts]\nslow_p99 = \"soon\"\n", "line 2: slow_p99 wants a duration like \"30s\" or \"500ms\" (at most a day)"),
            ("[alerts]\nserver_errors_warning = \"10%\"\n", "server_errors_warning is above server_errors_alert"),
            ("[alerts]\nsilence = true\n", "line 2: unknown alert setting 'silence'"),
            ("[alerts]\nalert_after = \"6m\"\n", "line 2: alert_after is at most 5m"),
        ]
        for (text, message) in cases {
            do {
                _ = try DashboardSettings.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(text): \(error)")
            }
        }
    }
}

/// Enter in the analytics view shows each pipeline result whole (console issue: drill-down on results).
@Suite struct ResultTableTests {
    @Test func everyRowOfEveryResultIsThereAndScrolls() {
        var m = sampleModel()
        m.results = [
            ResultSummary(task: "by_status", text: "status 200 …", rows: (0..<40).map { "status \(200 + $0) · count \($0)" }),
            ResultSummary(task: "errors", text: "12:05–12:10  count 95", rows: ["12:05–12:10  count 95"]),
        ]
        var state = DashboardState()
        state.view = .analytics
        state.showResults = true
        var seen = ""
        for scroll in stride(from: 0, to: 60, by: 10) {
            state.resultsScroll = scroll
            seen += DashboardView.render(m, state: state, width: 120, height: 30).text
        }
        for i in 0..<40 { #expect(seen.contains("status \(200 + i) · count \(i)"), "row \(i)") }
        #expect(seen.contains("by_status") && seen.contains("errors") && seen.contains("Pipeline results"))
        #expect(DashboardView.resultLines(m).count == 1 + 40 + 1 + 1 + 1 + 1)
    }

    /// The cursor moves over result rows only: task names and blank separators are skipped.
    @Test func theCursorSkipsTaskNamesAndSeparators() {
        var m = sampleModel()
        m.results = [
            ResultSummary(task: "a", text: "", rows: ["a1", "a2"]),
            ResultSummary(task: "b", text: "", rows: []),
            ResultSummary(task: "c", text: "", rows: ["c1"]),
        ]
        let lines = DashboardView.resultLines(m)
        // a, a1, a2, "", b, no result yet, "", c, c1, ""
        #expect(lines.map(\.text) == ["a", "  a1", "  a2", "", "b", "  no result yet", "", "c", "  c1", ""])
        #expect(DashboardView.moveResultCursor(lines, from: 1, by: 1) == 2)
        #expect(DashboardView.moveResultCursor(lines, from: 2, by: 1) == 8, "from a2 over b to c1")
        #expect(DashboardView.moveResultCursor(lines, from: 8, by: 1) == 8, "stays on the last row")
        #expect(DashboardView.moveResultCursor(lines, from: 8, by: -1) == 2)
        #expect(DashboardView.moveResultCursor(lines, from: 0, by: 1) == 1, "from a task's name to its first row")
        #expect(DashboardView.moveResultCursor(lines, from: 5, by: 100_000) == 8)
        #expect(DashboardView.moveResultCursor(lines, from: 5, by: -100_000) == 1)
    }
}
