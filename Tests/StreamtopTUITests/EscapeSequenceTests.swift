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
        // In the decisions view End goes to the last page, and no further (PgDn stops there too).
        var model = sampleModel()
        model.engine.decisions = (1...100).map { Decision(sequence: $0, time: Double($0), actor: .engine, kind: .started, task: nil, action: "step \($0)", reason: "r") }
        state.view = .decisions
        _ = DashboardReducer.reduce(&state, .last, tasks: tasks, canChangeSpeed: false)
        let limit = DashboardView.scrollLimit(model, state: state, height: 30)
        #expect(limit == 100 - 24)
        state.scroll = min(state.scroll, limit)
        let buf = DashboardView.render(model, state: state, width: 100, height: 30)
        #expect(buf.contains("step 1 ") && !buf.rowText(buf.height - 2).trimmingCharacters(in: .whitespaces).isEmpty, "the last page is full: \(buf.text)")
        _ = DashboardReducer.reduce(&state, .first, tasks: tasks, canChangeSpeed: false)
        #expect(state.scroll == 0)
    }
}
