import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
@testable import StreamtopTUI

/// What `streamtop attach` relies on: the model travels as JSON without losing anything a frame shows, and
/// the keys' commands, relative ones included, are written in the `:` line's language the instance parses
/// back to the same effect.
@Suite struct AttachModelTests {
    func frame(_ m: DashboardModel, _ view: DashboardState.View) -> [String] {
        var state = DashboardState()
        state.view = view
        let buf = DashboardView.render(m, state: state, width: 140, height: 44)
        return (0..<buf.height).map { buf.rowText($0) }
    }

    @Test func theModelSurvivesJSONFrameForFrame() throws {
        var model = sampleModel()
        model.results = [ResultSummary(task: "errors", text: "12:05–12:10  count 95")]
        model.replaySpeed = .infinity
        model.recordingSpan = 1_700_000_000...1_700_086_400
        let data = try DashboardModel.encoder().encode(model)
        let back = try DashboardModel.decoder().decode(DashboardModel.self, from: data)
        #expect(back.replaySpeed == .infinity, "max speed travels as \"inf\"")
        #expect(back.engine.decisions == model.engine.decisions)
        #expect(back.results == model.results)
        for view in [DashboardState.View.pipeline, .decisions, .analytics] {
            #expect(frame(back, view) == frame(model, view), "view \(view)")
        }
    }

    @Test func anInstanceOfAnEarlierVersionStillDecodes() throws {
        // An older instance sends no GoAccess panels (nor the newest ones): the model decodes, the panels
        // empty, and the frame draws.
        let data = try DashboardModel.encoder().encode(sampleModel())
        var json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        var summary = try #require(json["summary"] as? [String: Any])
        for key in ["hours", "bytesPerMinute", "topNotFound", "notFoundUndercount", "visitorsPerDay", "topReferrers",
                    "referrersUndercount", "browsers", "systems", "topVhosts", "vhostsUndercount", "health"] {
            #expect(summary.removeValue(forKey: key) != nil || ["health"].contains(key), "\(key) is sent today")
        }
        json["summary"] = summary
        let old = try JSONSerialization.data(withJSONObject: json)
        let back = try DashboardModel.decoder().decode(DashboardModel.self, from: old)
        #expect(back.summary.lines == 123_456 && back.summary.browsers.isEmpty && back.summary.hours.isEmpty)
        #expect(frame(back, .analytics).contains { $0.contains("Top paths") })
    }

    @Test func commandsAreWrittenAsTheInstanceParsesThem() throws {
        let snap = sampleModel().engine  // parse (1) is paused, aggregate (2) pinned with 1 worker
        let names = snap.tasks.map(\.name)
        func parsed(_ c: OperatorCommand) throws -> OperatorCommand {
            let text = try #require(c.text(in: snap))
            return try OperatorCommand.parse(text, task: { n in names.firstIndex(of: n).map(TaskID.init) }, taskNames: names)
        }
        #expect(try parsed(.engine(.togglePause(TaskID(1)))) == .engine(.resume(TaskID(1))), "a toggle resolves against the state")
        #expect(try parsed(.engine(.togglePause(TaskID(2)))) == .engine(.pause(TaskID(2))))
        #expect(try parsed(.engine(.togglePin(TaskID(2)))) == .engine(.unpin(TaskID(2))))
        #expect(try parsed(.engine(.adjustWorkers(TaskID(2), 1))) == .engine(.setWorkers(TaskID(2), 2)))
        #expect(try parsed(.engine(.adjustWorkers(TaskID(2), -1))) == .engine(.setWorkers(TaskID(2), 1)), "never below one")
        #expect(try parsed(.engine(.adjustPriority(TaskID(3), -2))) == .engine(.adjustPriority(TaskID(3), -2)))
        #expect(try parsed(.engine(.adjustPriority(TaskID(3), 1))) == .engine(.adjustPriority(TaskID(3), 1)))
        #expect(try parsed(.engine(.setPolicy(.adaptive))) == .engine(.setPolicy(.adaptive)))
        #expect(try parsed(.speed(2.5)) == .speed(2.5))
        #expect(try parsed(.speed(nil)) == .speed(nil))
        #expect(try parsed(.engine(.transport(.speed(40)))) == .speed(40))
        #expect(try parsed(.replayPause(nil)) == .replayPause(nil))
        #expect(try parsed(.step(300)) == .step(300))
        #expect(try parsed(.seek(.timeOfDay(52_205))) == .seek(.timeOfDay(52_205)))
        #expect(try parsed(.seek(.ahead(600))) == .seek(.ahead(600)))
        #expect(try parsed(.seek(.absolute(1_732_543_200))) == .seek(.absolute(1_732_543_200)))
        #expect(OperatorCommand.engine(.pause(TaskID(9))).text(in: snap) == nil, "a task the instance does not have")
    }
}
