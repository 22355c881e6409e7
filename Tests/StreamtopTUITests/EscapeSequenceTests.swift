import Testing
@testable import StreamtopEngine
@testable import StreamtopTUI

/// Key sequences curses leaves untranslated are decoded whole or ignored whole: their bytes never run as
/// keys (console issue, defect 2: `ESC [ H` and PuTTY's `ESC [ 1 ~` ran `[`, "take one worker").
@Suite struct EscapeSequenceTests {
    func key(_ text: String) -> Key? { EscapeSequence.key(text.unicodeScalars.map(\.value)) }

    @Test func homeEndAndPagesFromEveryCommonTerminal() {
        for home in ["[H", "OH", "[1~", "[7~"] { #expect(key(home) == .home, "\(home)") }
        for end in ["[F", "OF", "[4~", "[8~"] { #expect(key(end) == .end, "\(end)") }
        #expect(key("[5~") == .pageUp)
        #expect(key("[6~") == .pageDown)
        #expect(key("[1;5A") == .up, "Ctrl+Up moves like Up")
        #expect(key("OB") == .down)
        #expect(key("OP") == .function(1))
        #expect(key("[15~") == .function(5))
        #expect(key("[24~") == .function(12))
    }

    @Test func unknownSequencesAreIgnoredWhole() {
        for unknown in ["[200~", "[Z", "[99~", "[", "x", "[?1;2c", "[I"] { #expect(key(unknown) == nil, "\(unknown)") }
    }

    @Test func aSequenceEndsAtItsFinalByte() {
        #expect(!EscapeSequence.isFinal(0x31, introducer: 0x5B), "a parameter digit does not end CSI")
        #expect(!EscapeSequence.isFinal(0x3B, introducer: 0x5B))
        #expect(EscapeSequence.isFinal(0x7E, introducer: 0x5B))
        #expect(EscapeSequence.isFinal(0x48, introducer: 0x5B))
        #expect(EscapeSequence.isFinal(0x48, introducer: 0x4F), "SS3 takes one byte")
    }

    @Test func homeAndEndSelectTheFirstAndLastTaskOrEndsOfALongList() {
        let tasks = sampleModel().engine.tasks
        var state = DashboardState()
        state.selected = 2
        _ = DashboardReducer.reduce(&state, .last, tasks: tasks, canChangeSpeed: false)
        #expect(state.selected == tasks.count - 1)
        _ = DashboardReducer.reduce(&state, .first, tasks: tasks, canChangeSpeed: false)
        #expect(state.selected == 0)
        // In the decisions view the top row is the selected decision, with its whole text below the list:
        // End selects the oldest, and no further.
        var model = sampleModel()
        model.engine.decisions = (1...100).map { Decision(sequence: $0, time: Double($0), actor: .engine, kind: .started, task: nil, action: "step \($0)", reason: "because " + String(repeating: "reason \($0) ", count: 30)) }
        state.view = .decisions
        _ = DashboardReducer.reduce(&state, .last, tasks: tasks, canChangeSpeed: false)
        let limit = DashboardView.scrollLimit(model, state: state, height: 30)
        #expect(limit == 99)
        state.scroll = min(state.scroll, limit)
        let buf = DashboardView.render(model, state: state, width: 100, height: 30)
        let rows = (0..<buf.height).map { buf.rowText($0) }
        #expect(rows.contains { $0.contains("step 1 — because") }, "the oldest is selected: \(buf.text)")
        // Its whole reason, wrapped: the words at its end are on screen.
        #expect(rows.contains { $0.contains("reason 1 reason 1") && !$0.contains("…") }, "\(buf.text)")
        #expect(buf.text.components(separatedBy: "reason 1 ").count > 20, "the full text of the selected decision is shown")
        _ = DashboardReducer.reduce(&state, .first, tasks: tasks, canChangeSpeed: false)
        #expect(state.scroll == 0)
    }
}

/// Tab completes the `:` line: commands, then task names (console issue: completion).
@Suite struct CompletionTests {
    func tab(_ text: String) -> DashboardState {
        var state = DashboardState()
        state.commandLine = text
        _ = DashboardReducer.editCommandLine(&state, .tab, taskNames: ["source", "parse", "aggregate", "sink", "sessions"])
        return state
    }

    @Test func aUniquePrefixCompletesAndSeveralAreListed() {
        #expect(tab("wor").commandLine == "workers ")
        #expect(tab("workers ag").commandLine == "workers aggregate ")
        #expect(tab("pause s").commandLine == "pause s", "source, sink and sessions share only 's'")
        #expect(tab("pause s").message == "source  sink  sessions")
        #expect(tab("p").message == "pause  priority  pin  policy")
        #expect(tab("pr").commandLine == "priority ")
        #expect(tab("policy a").commandLine == "policy adaptive ")
        #expect(tab("frob").message == "no match for 'frob'")
    }
}
