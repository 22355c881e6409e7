import Foundation
import Testing

/// Rehearsals from the outside: `inject …` in action scripts, as an operator rehearses an incident.
@Suite struct RehearsalCLITests {
    func script(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rehearsal-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func injectedMalformedLinesAndAHotClientLoseNothingAndAreNamed() throws {
        let actions = try script("0s inject malformed 5%\n0s inject skew client 80%\n")
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--actions", actions])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let lines = json["lines"] as? Int ?? 0, records = json["records"] as? Int ?? 0, malformed = json["malformed"] as? Int ?? 0
        #expect(lines == 10_000 && records + malformed == lines, "nothing lost: \(records) + \(malformed) of \(lines)")
        let injected = (json["malformed_reasons"] as? [String: Int])?["injected"] ?? 0
        #expect((400...600).contains(injected), "about 5% marked: \(injected)")
        let top = (json["top_clients"] as? [[String: Any]])?.first
        #expect(top?["key"] as? String == "203.0.113.66")
        let hot = top?["count"] as? Int ?? 0
        #expect(Double(hot) / Double(records) > 0.75 && Double(hot) / Double(records) < 0.85, "about 80% from the hot client: \(hot) of \(records)")
        let kinds = (json["decisions"] as? [[String: Any]] ?? []).map { "\($0["kind"] ?? "") \($0["action"] ?? "")" }
        #expect(kinds.contains { $0.hasPrefix("injected inject malformed 5%") }, "\(kinds)")
        // The same rehearsal picks the same lines: it can be replayed.
        let again = try JSONSerialization.jsonObject(with: Data(try run(["replay", realSample, "--speed", "max", "--headless", "--actions", actions]).stdout.utf8)) as? [String: Any]
        #expect((again?["malformed_reasons"] as? [String: Int])?["injected"] == injected)
    }

    /// The snapshots (every 100 ms) of a 20× replay of the sample driven by the action script `text`,
    /// stopped after `seconds`.
    func pacedSnapshots(_ text: String, seconds: Double) throws -> String {
        let actions = try script(text)
        let snaps = FileManager.default.temporaryDirectory.appendingPathComponent("paced-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).ndjson").path
        defer { unlink(snaps) }
        let replay = try Background(["replay", realSample, "--speed", "20", "--headless", "--report", "none", "--actions", actions, "--snapshots", snaps, "--every", "100ms"])
        Thread.sleep(forTimeInterval: seconds)
        _ = replay.stop()
        return try String(contentsOfFile: snaps, encoding: .utf8)
    }

    @Test func aBurstSpeedsUpAPacedReplayThenEnds() throws {
        let said = try pacedSnapshots("0.2s inject burst 10x 1s\n", seconds: 2.5)
        #expect(said.contains("inject burst 10× for 1 s"), "\(said.prefix(3000))")
        #expect(said.contains("replay speed 20× → 200×"))
        #expect(said.contains("burst over: replay speed 20×"))
        #expect(said.contains("\"injections\":[\"burst 10×\"]"))
    }

    @Test func aBurstsTimeStandsStillWhileTheReplayIsPaused() throws {
        // 1 s of burst, of which 0.2 s pass before a 1.5 s pause: the burst must outlast the pause.
        let lines = try pacedSnapshots("0.2s inject burst 10x 1s\n0.4s replay pause\n1.9s replay resume\n", seconds: 3.5).split(separator: "\n")
        let at = { (needle: String) in lines.firstIndex { $0.contains(needle) } }
        let paused = try #require(at("replay paused"), "\(lines.suffix(3))")
        let resumed = try #require(at("replay resumed"))
        #expect(lines[paused...].first { $0.contains("and so does the burst's time") } != nil)
        // Shown as active all through the pause, and over only after the resume.
        for line in lines[paused..<resumed] { #expect(line.contains("\"injections\":[\"burst 10×\"]"), "\(line.prefix(400))") }
        let over = try #require(at("burst over: replay speed 20×"), "the burst never ended")
        #expect(over > resumed)
    }

    @Test func theScheduleBenchComparesThePoliciesOnALoadShift() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(getpid()).ndjson").path
        defer { unlink(out) }
        let r = try run(["bench", "schedule", "--scenario", "slow-cpu", "--seconds", "1", "--shift-at", "0.3", "--no-grid", "--ndjson", out])
        #expect(r.status == 0, "\(r.stderr)")
        for policy in ["strict-priority", "fair-share", "adaptive"] { #expect(r.stdout.contains("\n" + policy), "\(r.stdout)") }
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        #expect(rows.count == 3)
        for row in rows {
            #expect(row["scenario"] as? String == "slow-cpu")
            #expect((row["lines_per_second"] as? Int ?? 0) > 0 && (row["after_shift_per_second"] as? Int ?? 0) > 0, "\(row)")
            #expect(row["oscillations"] as? Int == 0)
        }
        let bad = try run(["bench", "schedule", "--scenario", "chaos"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown scenario 'chaos'"))
    }

    @Test func badInjectionsAreRefusedWithOneLine() throws {
        let cases: [(String, String)] = [
            ("1s inject slow prase 1ms\n", "unknown task 'prase': did you mean 'parse'?"),
            ("1s inject slow parse -5us\n", "inject slow wants a cost per record from 0ns to 10s, like 200us or 1.5ms; got '-5us'"),
            ("1s inject burst 0x 5s\n", "inject burst multiplies the replay's rate by more than 1 and at most 1000, like 5x; got '0x'"),
            ("1s inject malformed 150%\n", "a share is 0% to 100%, got '150%'"),
            ("1s inject chaos\n", "unknown injection 'chaos'"),
            ("0s inject slow source 200us\n", "inject slow works on a task: the source reads on its own thread"),
        ]
        for (text, message) in cases {
            let path = try script(text)
            let r = try run(["replay", sample, "--speed", "max", "--headless", "--actions", path])
            #expect(r.status != 0)
            #expect(r.stderr.hasPrefix("streamtop: \(path):1: \(message)"), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
        // A burst needs a paced replay: a live input refuses it, in the decision log, and reading goes on.
        let dir = NSTemporaryDirectory() + "streamtop-rehearsal-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: sample, toPath: dir + "/live.log")
        let live = try Background(["watch", dir + "/live.log", "--from-start", "--headless", "--actions", try script("0s inject burst 5x 30s\n")])
        Thread.sleep(forTimeInterval: 2)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(live.stop().utf8)) as? [String: Any])
        let refused = (report["decisions"] as? [[String: Any]] ?? []).first { $0["action"] as? String == "inject burst refused" }
        #expect((refused?["reason"] as? String)?.contains("this input is read as fast as it comes") == true, "\(report["decisions"] ?? "")")
        #expect(report["lines"] as? Int ?? 0 > 0)
    }
}
