import Foundation
import Testing
import StreamtopLogs
@testable import StreamtopAnalytics
@testable import StreamtopEngine

@Suite struct OperatorCommandTests {
    let names = ["source", "parse", "aggregate", "sink"]
    func parse(_ s: String) throws -> OperatorCommand {
        try OperatorCommand.parse(s, task: { n in names.firstIndex(of: n).map(TaskID.init) }, taskNames: names)
    }

    @Test func theActionScriptVocabulary() throws {
        #expect(try parse("pause parse") == .engine(.pause(TaskID(1))))
        #expect(try parse("resume  parse") == .engine(.resume(TaskID(1))))
        #expect(try parse("workers aggregate 2") == .engine(.setWorkers(TaskID(2), 2)))
        #expect(try parse("priority sink 5") == .engine(.setPriority(TaskID(3), 5)))
        #expect(try parse("priority sink +2") == .engine(.adjustPriority(TaskID(3), 2)))
        #expect(try parse("priority sink -1") == .engine(.adjustPriority(TaskID(3), -1)))
        #expect(try parse("policy adaptive") == .engine(.setPolicy(.adaptive)))
        #expect(try parse("policy fair") == .engine(.setPolicy(.fairShare)))
        #expect(try parse("pin aggregate") == .engine(.pin(TaskID(2))))
        #expect(try parse("speed 10") == .speed(10))
        #expect(try parse("speed max") == .speed(nil))
        #expect(try parse("replay pause") == .replayPause(true))
        #expect(try parse("replay resume") == .replayPause(false))
        #expect(try parse("step") == .step(1))
        #expect(try parse("step 5m") == .step(300))
        #expect(try parse("seek 14:30") == .seek(.timeOfDay(52_200)))
        #expect(try parse("seek +10m") == .seek(.ahead(600)))
        #expect(try parse("seek 2024-11-25T14:00:00Z") == .seek(.absolute(1_732_543_200)))
    }

    @Test func mistakesSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("pause prase", "unknown task 'prase': did you mean 'parse'? (tasks: source, parse, aggregate, sink)"),
            ("pasue parse", "unknown command 'pasue': did you mean 'pause'?"),
            ("wrokers parse 2", "unknown command 'wrokers': did you mean 'workers'?"),
            ("workers parse", "usage: workers TASK N"),
            ("workers parse zero", "workers must be a whole number from 1 to 1024, got 'zero'"),
            ("priority parse 9223372036854775807", "priority must be a whole number from -1000 to 1000"),
            ("seek +99999999999999999999s", "seek wants HH:MM[:SS], +DURATION"),
            ("policy random", "unknown policy 'random' (strict-priority, fair-share, adaptive)"),
            ("speed 5000", "speed must be 0.1 to 1000 or max, got '5000'"),
            ("frobnicate", "unknown command 'frobnicate'"),
            ("seek soon", "seek wants HH:MM[:SS], +DURATION or an ISO time"),
            ("step 0s", "step takes a duration of at least 1s"),
        ]
        for (text, message) in cases {
            do {
                _ = try parse(text)
                Issue.record("\(text) parsed")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(text): \(error)")
            }
        }
    }

    @Test func scriptsAreTimedSortedAndReportLines() throws {
        let script = try ActionScript(
            "# tuning\n2s pause parse\n\n500ms policy adaptive   # first\n1m resume parse\n",
            file: "a.txt", task: { n in names.firstIndex(of: n).map(TaskID.init) }, taskNames: names)
        #expect(script.entries.map(\.at) == [0.5, 2, 60])
        #expect(script.entries.map(\.line) == [4, 2, 5])
        #expect(throws: CommandError("a.txt:2: expected a time like 2s, 500ms or 1m first, got 'soon'")) {
            try ActionScript("1s pause parse\nsoon pause parse", file: "a.txt", task: { _ in TaskID(1) }, taskNames: names)
        }
        #expect(throws: CommandError("a.txt:1: unknown task 'x' (tasks: source, parse, aggregate, sink)")) {
            try ActionScript("1s pause x", file: "a.txt", task: { _ in nil }, taskNames: names)
        }
    }
}

/// A seek beyond the end of the recording is refused with where the recording ends (console issue,
/// defect 1: `:seek 23:58` on the demo, whose data ends at 21:11, replayed every pass at full speed).
@Suite struct SeekBeyondTheEndTests {
    @Test func aSeekPastTheRecordingsEndIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seek-end-\(getpid()).log").path
        let line = #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#
        try (line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let pacer = ReplayPacer(try FileSource(paths: [path], loop: true), speed: 10)
        pacer.recordingEnd = 1_704_070_800
        pacer.position.store(1_704_067_200, ordering: .relaxed)  // the replay is at its first line
        let source = LineBlockSource(pacer)
        let refused = source.control(.seekTimeOfDay(86_340))
        #expect(!refused.applied)
        #expect(refused.reason == "the recording ends at 2024-01-01T01:00:00Z: 2024-01-01T23:59:00Z is beyond it", "\(refused.reason)")
        let taken = source.control(.seekAbsolute(1_704_070_000))
        #expect(taken.applied, "\(taken.reason)")
    }
}

/// A rehearsed burst gives back the speed from before it, keeping a change the operator made meanwhile.
@Suite struct BurstEndTests {
    @Test func theSpeedAfterABurstKeepsTheOperatorsChange() {
        let burst = (until: UInt64(0), restore: 10.0, speed: 50.0)
        #expect(LineBlockSource.afterBurst(50, burst) == 10, "unchanged: back to 10×")
        #expect(LineBlockSource.afterBurst(100, burst) == 20, "doubled during the burst: 20× after it")
        #expect(LineBlockSource.afterBurst(.infinity, burst).isInfinite, "max stays max")
        #expect(LineBlockSource.afterBurst(0.2, burst) == 0.1, "never below the slowest speed")
    }
}
