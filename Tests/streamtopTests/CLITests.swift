import Foundation
import Testing

/// The built `streamtop` binary, beside the test bundle.
let binary: String = {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("streamtop").path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/streamtop").path
}()

let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let sample = projectRoot.appendingPathComponent("Tests/StreamtopAnalyticsTests/Samples/edge-cases.log").path
let realSample = projectRoot.appendingPathComponent("Tests/StreamtopAnalyticsTests/Samples/elastic_apache_logs.log").path

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the binary with arguments and optional stdin; `whileRunning` gets the process (to signal it).
func run(_ args: [String], stdin: Data? = nil, cwd: String? = nil, environment: [String: String] = [:], whileRunning: ((Process) -> Void)? = nil) throws -> Run {
    let p = Process()
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try p.run()
    if let stdin {
        input.fileHandleForWriting.write(stdin)
        if whileRunning == nil { try input.fileHandleForWriting.close() }
    }
    whileRunning?(p)
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

@Suite struct CLITests {
    /// A theme that does not exist is one clear line even headless, where nothing is drawn.
    @Test func anUnknownThemeIsRefusedEvenHeadless() throws {
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--theme", "nope"])
        #expect(r.status == 64 && r.stderr.contains("theme 'nope' not found") && r.stdout.isEmpty, "\(r.stderr)")
        #expect(try run(["replay", realSample, "--speed", "max", "--headless", "--theme", "nord"]).status == 0)
    }

    /// A negative number is a bad value, said with what the option takes, not "missing value".
    @Test func negativeNumbersAreBadValuesNotMissingOnes() throws {
        for (args, message) in [
            (["replay", realSample, "--speed", "-3", "--headless"], "a factor of real time from 0.1 to 1000"),
            (["replay", realSample, "--speed", "5000", "--headless"], "a factor of real time from 0.1 to 1000"),
            (["replay", realSample, "--workers", "-3", "--headless"], "--workers must be between 1 and 256, got -3"),
            (["generate", "--lines", "-5"], "--lines must not be negative"),
            // A refresh out of range is refused even headless (a service's typo is found at its start).
            (["replay", realSample, "--refresh", "20ms", "--headless"], "--refresh: 20ms is out of range: from 100ms to 10s"),
            (["replay", realSample, "--refresh", "-1s", "--headless"], "--refresh: wants a duration like \"500ms\" or \"2s\", not '-1s'"),
        ] {
            let r = try run(args)
            #expect(r.status == 64 && r.stderr.contains(message) && !r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
    }

    @Test func badInputFailsWithOneClearLine() throws {
        let cases: [([String], String)] = [
            (["replay", "/nonexistent.log", "--headless"], "streamtop: cannot open /nonexistent.log: No such file or directory"),
            (["replay", "/tmp", "--headless"], "streamtop: cannot read /tmp: it is a directory"),
            (["replay", sample, "--speed", "fast", "--headless"], "streamtop: The value 'fast' is invalid for '--speed <x|max>'"),
            (["replay", sample, "--workers", "0", "--headless"], "streamtop: --workers must be between 1 and 256, got 0"),
            (["replay", sample, "--frobnicate"], "streamtop: Unknown option '--frobnicate'"),
            (["watch", "-", "other.log", "--headless"], "streamtop: '-' (standard input) cannot be mixed with files"),
            (["replay", sample, "--headless", "--rejects", "/nonexistent/dir/r.txt"], "streamtop: cannot write rejects file /nonexistent/dir/r.txt"),
            (["replay", sample, "--headless", "--format", "xml"], "streamtop: unknown format 'xml' (auto, combined, common, vcombined"),
            (["replay", sample, "--headless", "--nginx-format", "$remote_addr $status"], "streamtop: bad custom format: the format has no time field"),
            (["replay", sample, "--headless", "--json-field", "colour=red"], "streamtop: --json-field wants FIELD=KEY"),
            (["watch", "/tmp", "--headless"], "streamtop: cannot read /tmp: it is a directory"),
            (["replay", sample, "--headless", "--settings", "/nonexistent/settings.toml"], "streamtop: cannot read settings file /nonexistent/settings.toml"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stdout.isEmpty, "\(args)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(args): \(r.stderr)")
            #expect(lines.first.map { $0.hasPrefix(message) } == true, "\(args): \(r.stderr)")
        }
    }

    @Test func watchingAFileThatDoesNotExistSaysItWaits() throws {
        // tail -F says so too; a typo in the path used to wait in silence (console issue, defect 6).
        let path = NSTemporaryDirectory() + "streamtop-not-yet-\(getpid()).log"
        let r = try run(["watch", path, "--headless", "--report", "none"], whileRunning: { p in
            usleep(800_000)
            p.interrupt()
        })
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("streamtop: \(path) does not exist yet; waiting for it to appear\n"), "\(r.stderr)")
    }

    @Test func helpExplainsEveryOption() throws {
        let root = try run(["--help"])
        #expect(root.status == 0)
        for sub in ["demo", "replay", "watch", "generate"] { #expect(root.stdout.contains(sub)) }
        let expectations: [String: [String]] = [
            "replay": ["--speed", "--loop", "--headless", "--report", "--workers", "--rejects", "--snapshots", "--every", "--theme", "--queue-capacity"],
            "watch": ["--from-start", "--headless", "--report", "--workers"],
            "generate": ["--lines", "--seed", "--duration", "--start", "--no-story", "--malformed"],
            "demo": ["--speed", "--headless"],
        ]
        for (sub, options) in expectations {
            let r = try run([sub, "--help"])
            #expect(r.status == 0)
            for o in options { #expect(r.stdout.contains(o), "\(sub) --help lacks \(o)") }
        }
    }

    @Test func headlessReplayPrintsExactlyOneJSONObject() throws {
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--report", "json"])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").count == 1)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(json["lines"] as? Int == 10_000)
        #expect(json["records"] as? Int == 10_000)
        #expect((json["tasks"] as? [Any])?.count == 4)
    }

    /// A filter on request_time over a format that does not log it passes nothing: it is said, not left
    /// as an empty report.
    @Test func aFilterOnServedTimeSaysWhenTheFormatDoesNotLogIt() throws {
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--filter", "request_time < 1s"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("--filter tests request_time, which the combined format does not log: no record passes it"), "\(r.stderr)")
        let plain = try run(["replay", realSample, "--speed", "max", "--headless", "--filter", "status >= 400"])
        #expect(!plain.stderr.contains("request_time"), "\(plain.stderr)")
    }

    @Test func autoDetectionSaysWhatItChoseOrThatNothingFits() throws {
        let r = try run(["replay", realSample, "--speed", "max", "--headless"])
        #expect(r.stderr == "streamtop: format: combined (1000 of 1000 lines of the first block parse)\n")
        let garbage = try run(["watch", "-", "--headless"], stdin: Data("hello\nworld\n".utf8))
        #expect(garbage.status == 0)
        #expect(garbage.stderr.hasPrefix("streamtop: no known format fits the input (none of the 2 lines of the first block parse as any known format)"), "\(garbage.stderr)")
        #expect(garbage.stderr.contains("a line: hello"))
        let json = try JSONSerialization.jsonObject(with: Data(garbage.stdout.utf8)) as! [String: Any]
        #expect(json["malformed"] as? Int == 2)
    }

    @Test func watchStandardInputReportsAtEndOfInput() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: sample))
        let r = try run(["watch", "-", "--headless"], stdin: data)
        #expect(r.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(json["lines"] as? Int == 26)
        #expect(json["malformed"] as? Int == 9)
    }

    @Test func watchReportsOnSIGTERMAfterProcessingWhatItRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(getpid()).log").path
        FileManager.default.createFile(atPath: path, contents: nil)
        let lines = try String(contentsOfFile: realSample, encoding: .utf8).split(separator: "\n").prefix(500)
        let r = try run(["watch", path, "--headless"], whileRunning: { p in
            // watch starts at the end of the file (tail -n 0): write once it has the file open, not after a
            // guess (under a loaded CI machine 0.3 s was sometimes too early, and the lines were skipped).
            let deadline = Date().addingTimeInterval(20)
            let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            func following() -> Bool {
                let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p.processIdentifier)/fd")) ?? []
                return fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p.processIdentifier)/fd/\($0)")) == target }
            }
            while !following() && Date() < deadline { usleep(20_000) }
            usleep(100_000)
            let h = FileHandle(forWritingAtPath: path)!
            h.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            try? h.close()
            usleep(500_000)
            kill(p.processIdentifier, SIGTERM)
        })
        #expect(r.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(json["lines"] as? Int == 500)
    }

    @Test func snapshotsAreWrittenAsNDJSON() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("snap-\(getpid()).ndjson").path
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--snapshots", path, "--every", "50ms"])
        #expect(r.status == 0)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 1)
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        #expect(last["lines"] as? Int == 10_000)
        #expect(last["finished"] as? Bool == true)
    }

    @Test func actionScriptsDriveAHeadlessRunAndTheReportStaysExact() throws {
        let dir = FileManager.default.temporaryDirectory
        let script = dir.appendingPathComponent("actions-\(getpid()).txt").path
        try "0.1s pause aggregate\n0.3s workers parse 1\n0.4s policy adaptive\n0.5s resume aggregate\n0.6s speed max\n".write(toFile: script, atomically: true, encoding: .utf8)
        let snaps = dir.appendingPathComponent("actions-\(getpid()).ndjson").path
        let r = try run(["replay", realSample, "--speed", "1000", "--headless", "--actions", script, "--snapshots", snaps, "--every", "100ms"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(json["records"] as? Int == 10_000)
        let kinds = (json["decisions"] as! [[String: Any]]).map { $0["kind"] as! String }
        for k in ["paused", "workers_changed", "policy_changed", "resumed", "speed_changed", "finished"] {
            #expect(kinds.contains(k), "decision log lacks \(k): \(kinds)")
        }
        // The NDJSON snapshots carry the decisions as they happen, and conservation holds in each.
        let lines = try String(contentsOfFile: snaps, encoding: .utf8).split(separator: "\n")
        var seen: [String] = []
        for line in lines {
            let snap = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            seen += (snap["decisions"] as! [[String: Any]]).map { $0["kind"] as! String }
            let tasks = snap["tasks"] as! [[String: Any]]
            for t in tasks.dropFirst() {
                let i = t["records_in"] as! Int, o = t["records_out"] as! Int, f = t["records_filtered"] as! Int
                #expect(i == o + f)
            }
        }
        #expect(seen.contains("paused") && seen.contains("resumed"))
    }

    @Test func badActionScriptsFailBeforeStarting() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(getpid()).txt").path
        try "1s pause parse\n2s workers prase 2\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = try run(["replay", sample, "--speed", "max", "--headless", "--actions", script])
        #expect(r.status != 0)
        #expect(r.stderr == "streamtop: \(script):2: unknown task 'prase': did you mean 'parse'? (tasks: source, parse, aggregate, sink)\n")
        let p = try run(["replay", sample, "--headless", "--policy", "chaos"])
        #expect(p.status != 0 && p.stderr.hasPrefix("streamtop: The value 'chaos' is invalid for '--policy <policy>'"))
    }

    @Test func themesAreListedAndChecked() throws {
        let list = try run(["themes", "list"])
        for name in ["default", "light", "high-contrast", "mono", "nord"] { #expect(list.stdout.contains(name)) }
        let ok = try run(["themes", "check"])
        #expect(ok.status == 0, "\(ok.stdout)")
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(getpid()).theme").path
        try "name = \"bad\"\n[roles]\n\"title\" = { fg = \"chartreuse\" }\n\"nope\" = {}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try run(["themes", "check", bad])
        #expect(r.status == 1)
        #expect(r.stdout.contains("\(bad):3: role 'title': unknown colour 'chartreuse'"), "\(r.stdout)")
        #expect(r.stdout.contains("\(bad):4: unknown role 'nope'"))
    }

    @Test func windowResultsAreWrittenAsNDJSON() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("windows-\(getpid()).ndjson").path
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--window", "1h", "--lateness", "1d", "--results", out])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let windows = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(windows.reduce(0) { $0 + ($1["count"] as! Int) } == 10_000)
        #expect(windows.first?["window_start"] as? String == "2015-05-17T10:00:00Z")
        let bad = try run(["replay", realSample, "--headless", "--window", "soon"])
        #expect(bad.status != 0 && bad.stderr.hasPrefix("streamtop: --window wants a duration"))
        // Sliding hours every 30 minutes, as CSV: each record in two windows.
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("windows-\(getpid()).csv").path
        let sliding = try run(["replay", realSample, "--speed", "max", "--headless", "--window", "1h", "--slide", "30m", "--lateness", "1d", "--results", csv])
        #expect(sliding.status == 0, "\(sliding.stderr)")
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(rows.first?.hasPrefix("window_start,window_end,count,") == true)
        let header = rows[0].split(separator: ",").map(String.init)
        let countColumn = header.firstIndex(of: "count")!
        #expect(rows.dropFirst().reduce(0) { $0 + Int($1.split(separator: ",")[countColumn])! } == 20_000)
        let badSlide = try run(["replay", realSample, "--headless", "--window", "5m", "--slide", "2m"])
        #expect(badSlide.status != 0 && badSlide.stderr.hasPrefix("streamtop: --slide wants whole seconds that divide --window"))
    }

    @Test func pipelineFilesRunAndCheck() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("p.toml").path
        let results = dir.appendingPathComponent("w.ndjson").path
        try """
            workers = 2
            [source]
            files = ["\(realSample)"]
            speed = "max"
            [[task]]
            name = "notfound"
            operator = "filter"
            expression = "status == 404"
            [[task]]
            name = "hourly"
            operator = "window"
            every = "1h"
            lateness = "1d"
            results = "\(results)"
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try run(["check", file])
        #expect(check.status == 0)
        // A replay's input that cannot be read fails the check, as it would fail the run.
        let missing = file + ".missing.toml"
        try "[source]\nfiles = [\"nothere-\(getpid()).log\"]\n".write(toFile: missing, atomically: true, encoding: .utf8)
        defer { unlink(missing) }
        let refused = try run(["check", missing])
        #expect(refused.status == 1 && refused.stdout.contains("[source] files: cannot open") && refused.stdout.contains("nothere-"), "\(refused)")
        #expect(check.stdout.contains("""
              source → parse
              ├─ filter "notfound"
              │  └─ window "hourly" → results \(results)
              └─ aggregate (the report) → sink
            """), "\(check.stdout)")
        // The filter narrows the branch that reads it, not the report.
        let r = try run(["run", file, "--headless"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(json["records"] as? Int == 10_000 && json["filtered"] as? Int == 0)
        let windows = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        #expect(windows.map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["count"] as! Int }.reduce(0, +) == 213)
        // report_input makes the report read the filter.
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try ("report_input = \"notfound\"\n" + text).write(toFile: file, atomically: true, encoding: .utf8)
        let narrowed = try run(["run", file, "--headless"])
        let j = try JSONSerialization.jsonObject(with: Data(narrowed.stdout.utf8)) as! [String: Any]
        #expect(j["records"] as? Int == 213 && j["filtered"] as? Int == 10_000 - 213, "\(narrowed.stderr)")
    }

    @Test func theTroubleExampleIsAUnionThatChecks() throws {
        let r = try run(["check", projectRoot.appendingPathComponent("examples/trouble.toml").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#"group "trouble" ∪ api"#), "\(r.stdout)")
    }

    @Test func theVisitsExampleWritesEverySinkFromAnyFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visits-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let example = projectRoot.appendingPathComponent("examples/visits.toml").path
        let r = try run(["run", example, "--headless"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        // Results go where the command runs; the source path is relative to the pipeline file.
        let visits = try String(contentsOfFile: "\(dir)/visits-5m.ndjson", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(visits.count > 100)
        #expect(visits.allSatisfy { ($0["visits"] as! Int) <= ($0["requests"] as! Int) && ($0["users"] as! Int) <= ($0["active_users"] as! Int) })
        let snapshot = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/visits.json"))) as! [String: Any]
        #expect(snapshot["complete"] as? Bool == true && (snapshot["rows"] as! [Any]).count == visits.count)
        let csv = try String(contentsOfFile: "\(dir)/networks.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "window_start,window_end,field,records,distinct,estimated,standard_error,late_records")
        #expect(csv.count > 100 && csv.dropFirst().allSatisfy { $0.split(separator: ",").count == 8 })
        let latency = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/latency-by-endpoint.json"))) as! [String: Any]
        let rows = latency["rows"] as! [[String: Any]]
        #expect(rows.count == 20 && rows.allSatisfy { $0["bytes_p99"] != nil && ($0["endpoint"] as! String).hasPrefix("/") })
        let humans = (report["tasks"] as! [[String: Any]]).first { $0["name"] as? String == "humans" }!
        #expect((humans["records_filtered"] as? Int ?? 0) > 0)  // the demo day has a crawler burst
    }

    @Test func aKilledRunLeavesWholeLinesAndAWholeSnapshot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            [source]
            files = ["\(projectRoot.path)/demo-data/demo-access.log"]
            speed = "1000"
            [[task]]
            name = "visits"
            operator = "sessions"
            every = "1m"
            per_user = true
            results = "visits.csv"
            snapshot = "visits.json"
            [[task]]
            name = "minutes"
            operator = "window"
            every = "1m"
            results = "minutes.ndjson"
            """.write(toFile: "\(dir)/p.toml", atomically: true, encoding: .utf8)
        let r = try run(["run", "\(dir)/p.toml", "--headless"], cwd: dir) { p in
            usleep(3_000_000)
            kill(p.processIdentifier, SIGKILL)
        }
        #expect(r.status != 0)
        let snapshot = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/visits.json"))) as! [String: Any]
        #expect(snapshot["complete"] as? Bool == false && !(snapshot["rows"] as! [Any]).isEmpty)
        let minutes = try String(contentsOfFile: "\(dir)/minutes.ndjson", encoding: .utf8)
        #expect(minutes.hasSuffix("\n") && minutes.split(separator: "\n").count > 10)
        for line in minutes.split(separator: "\n") { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil) }
        let csv = try String(contentsOfFile: "\(dir)/visits.csv", encoding: .utf8)
        #expect(csv.hasPrefix("window_start,window_end,user,requests,visits\n") && csv.hasSuffix("\n"))
    }

    @Test func keyLimitBoundsTheReportAndSaysWhatIsEstimated() throws {
        let exact = try JSONSerialization.jsonObject(with: Data(try run(["replay", realSample, "--speed", "max", "--headless"]).stdout.utf8)) as! [String: Any]
        let r = try run(["replay", realSample, "--speed", "max", "--headless", "--max-keys", "100"])
        #expect(r.status == 0, "\(r.stderr)")
        let bounded = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(exact["unique_clients_estimated"] == nil)
        #expect(bounded["unique_clients_estimated"] as? Bool == true)
        let truth = exact["unique_clients"] as! Int, estimate = bounded["unique_clients"] as! Int
        #expect(abs(Double(estimate - truth)) < 0.064 * Double(truth))
        // Heavy hitters survive the pruning with their counts within the stated undercount.
        let top = (exact["top_clients"] as! [[String: Any]]).prefix(3), kept = (bounded["top_clients"] as! [[String: Any]]).prefix(3)
        #expect(top.map { $0["key"] as! String } == kept.map { $0["key"] as! String })
        let slack = bounded["top_clients_max_undercount"] as! Int
        for (a, b) in zip(top, kept) { #expect((a["count"] as! Int) - (b["count"] as! Int) <= slack) }
        #expect(bounded["records"] as? Int == exact["records"] as? Int)
    }

    @Test func normalizedPathsFoldIds() throws {
        let r = try run(["replay", projectRoot.appendingPathComponent("demo-data/demo-access.log").path, "--speed", "max", "--headless", "--normalize-paths"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let keys = (json["top_paths"] as! [[String: Any]]).map { $0["key"] as! String }
        #expect(keys.contains("/products/:id"))
        #expect((json["unique_paths"] as! Int) < 100)
    }

    @Test func generateIsSeeded() throws {
        let a = try run(["generate", "--lines", "200", "--seed", "9"])
        let b = try run(["generate", "--lines", "200", "--seed", "9"])
        #expect(a.status == 0 && a.stdout == b.stdout)
        #expect(a.stdout.split(separator: "\n").count == 200)
        let few = try run(["generate", "--lines", "2000", "--clients", "3", "--malformed", "0", "--no-story"])
        #expect(Set(few.stdout.split(separator: "\n").map { $0.split(separator: " ").first! }).count <= 3)
    }
}
