import Foundation
import Testing

/// The hostile cases of the hardening review, run against the real binary: one test per numbered item.
/// Each once crashed streamtop, destroyed data, hung, or misled its user.
@Suite struct HardeningCLITests {
    let dir: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("streamtop-hardening-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func file(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func report(_ r: Run) throws -> [String: Any] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            Issue.record("no JSON report; status \(r.status), stderr: \(r.stderr)")
            return [:]
        }
        return json
    }

    let good = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /x HTTP/1.1" 200 10 "-" "M""#

    // 1. Numbers from a log never trap or wrap.
    @Test func item1_hostileNumbersAreMalformedNotFatal() throws {
        let timed = try file("timed.log", good + #" "-" 9223372036855"# + "\n" + good + #" "-" 0.250"# + "\n")
        // Auto-detection on these two lines picks combined (which ignores trailing fields and reads both):
        // what matters there is that sampling the hostile line with every candidate does not trap.
        let auto = try run(["replay", timed, "--speed", "max", "--headless", "--format", "auto"])
        let autoReport = try report(auto)
        #expect(auto.status == 0 && autoReport["lines"] as? Int == 2, "\(auto.stderr)")
        for args in [["--format", "nginx-timed"], ["--nginx-format", #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_time"#]] {
            let r = try run(["replay", timed, "--speed", "max", "--headless"] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let j = try report(r)
            #expect(j["lines"] as? Int == 2)
            #expect(j["records"] as? Int == 1, "\(args)")
            #expect((j["malformed_reasons"] as? [String: Int])?["number_out_of_range"] == 1, "\(args): \(j["malformed_reasons"] ?? "")")
        }
        let json = try file("hostile.jsonl", """
            {"remote_addr":"1.2.3.4","time_iso8601":"2024-11-25T00:01:51+00:00","request":"GET / HTTP/1.1","status":200,"body_bytes_sent":5,"request_time":9223372036855}
            {"request":{"remote_ip":"1.2.3.4","method":"GET","uri":"/"},"ts":1732492911.5,"status":200,"size":5,"duration":99999999999999999999}
            {"remote_addr":"1.2.3.4","time_iso8601":"2024-11-25T00:01:51+00:00","request":"GET / HTTP/1.1","status":200,"body_bytes_sent":5,"request_time":0.5}

            """)
        let r = try run(["replay", json, "--speed", "max", "--headless", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try report(r)
        #expect(j["records"] as? Int == 1)
        #expect((j["malformed_reasons"] as? [String: Int])?["number_out_of_range"] == 2)
        // Sizes of 10^18 bytes or more (an exabyte: no real response) are out of range, never wrapped.
        let sizes = try file("sizes.log", """
            1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /a HTTP/1.1" 200 9223372036854775807
            1.2.3.4 - - [25/Nov/2024:00:01:52 +0000] "GET /b HTTP/1.1" 200 10
            1.2.3.4 - - [25/Nov/2024:00:01:53 +0000] "GET /c HTTP/1.1" 200 18446744073709551616

            """)
        let s = try report(try run(["replay", sizes, "--speed", "max", "--headless"]))
        #expect(s["bytes"] as? Int == 10, "bytes \(s["bytes"] ?? "")")
        #expect(s["malformed"] as? Int == 2)
        #expect((s["malformed_reasons"] as? [String: Int])?["number_out_of_range"] == 2)
    }

    // 2. An output pointed at an input is refused, and the input survives.
    @Test func item2_anOutputThatIsTheInputIsRefused() throws {
        let input = try file("in.log", good + "\n")
        for extra in [["--rejects", input], ["--window", "1m", "--results", input], ["--snapshots", input], ["--rejects", dir + "/../" + (dir as NSString).lastPathComponent + "/in.log"]] {
            let r = try run(["replay", input, "--speed", "max", "--headless"] + extra)
            #expect(r.status != 0, "\(extra)")
            #expect(r.stderr.contains("refusing to write"), "\(extra): \(r.stderr)")
            #expect(try String(contentsOfFile: input, encoding: .utf8) == good + "\n")
        }
        let w = try run(["watch", input, "--headless", "--rejects", input])
        #expect(w.status != 0 && w.stderr.contains("refusing to write"))
        // Rejects are appended, as the help says; results are replaced.
        let rejects = dir + "/rejects.txt"
        let bad = try file("bad.log", "junk\n")
        for _ in 0..<2 { _ = try run(["replay", bad, "--speed", "max", "--headless", "--rejects", rejects]) }
        #expect(try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n").count == 2)
        let help = try run(["replay", "--help"])
        #expect(help.stdout.contains("Append every malformed line"))
    }

    // 3. A full disk is reported with the file and the reason; the exit status says so.
    @Test func item3_writeFailuresAreReportedNeverFatalNeverSilent() throws {
        let input = try file("in3.log", String(repeating: good + "\n", count: 50) + "junk\n")
        for (extra, name) in [(["--window", "1m", "--results", "/dev/full"], "results file /dev/full"), (["--snapshots", "/dev/full"], "snapshots file /dev/full"), (["--rejects", "/dev/full"], "rejects file /dev/full")] {
            let r = try run(["replay", input, "--speed", "max", "--headless"] + extra)
            #expect(r.status == 1, "\(extra)")
            #expect(r.stderr.contains("cannot write \(name): No space left on device"), "\(extra): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
            #expect(try report(r)["lines"] as? Int == 51, "the report is still complete")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "'\(binary)' replay '\(input)' --speed max --headless > /dev/full"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("cannot write the report to standard output: No space left on device"))
    }

    /// A reader that closes its end of the pipe (`| head -1`) is a failed write like a full disk: one line
    /// and exit status 1, not a silent death by SIGPIPE (status 141). A generator piped into `head` still
    /// ends quietly, as `yes | head` does.
    @Test func aClosedPipeIsAFailedWriteNotASilentDeath() throws {
        func shell(_ command: String) throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "set -o pipefail; " + command]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let results = try shell("'\(binary)' replay '\(realSample)' --speed max --headless --report none --window 1m --results - | head -1")
        #expect(results.status == 1, "\(results)")
        #expect(results.stderr.contains("standard output: Broken pipe"), "\(results)")
        let generated = try shell("'\(binary)' generate --lines 200000 | head -1")
        #expect(generated.status == 141 && generated.stderr.isEmpty, "\(generated)")
    }

    // 4. Memory stays bounded whatever the input: a line without end is cut and counted.
    @Test func item4_anEndlessLineKeepsMemoryBounded() throws {
        var peak = 0
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        let big = try run(["replay", "-", "--speed", "max", "--headless", "--format", "combined"], stdin: Data((good + "\n").utf8), whileRunning: { p in
            let pipe = p.standardInput as! Pipe
            for i in 0..<200 {
                pipe.fileHandleForWriting.write(chunk)  // 200 MiB, no newline
                if i % 20 == 0, let status = try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8),
                    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                    let kb = Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "")
                {
                    peak = max(peak, kb)
                }
            }
            pipe.fileHandleForWriting.write(Data(("\n" + good + "\n").utf8))
            try? pipe.fileHandleForWriting.close()
        })
        #expect(big.status == 0, "\(big.stderr)")
        let j = try report(big)
        #expect(j["lines"] as? Int == 3)
        #expect(j["records"] as? Int == 2)
        #expect((j["malformed_reasons"] as? [String: Int])?["line_too_long"] == 1)
        #expect(peak > 0 && peak < 150_000, "peak RSS \(peak) KiB while reading a 200 MiB line")
    }

    // 5. SIGTERM, SIGINT and SIGHUP end a headless run with its report, even with a task paused.
    @Test func item5_signalsEndAPausedRunWithItsReport() throws {
        let input = try file("in5.log", String(repeating: good + "\n", count: 3000))
        let actions = try file("a5.txt", "0s pause parse\n")
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            let r = try run(["replay", input, "--speed", "max", "--headless", "--actions", actions], whileRunning: { p in
                // Long enough for the input to end and the warning to appear, even on a loaded machine.
                usleep(3_000_000)
                kill(p.processIdentifier, sig)
            })
            #expect(r.status == 0, "signal \(sig): \(r.stderr)")
            #expect(try report(r)["lines"] as? Int == 3000, "signal \(sig)")
            #expect(r.stderr.contains("the input ended while task 'parse' is paused"), "signal \(sig): \(r.stderr)")
        }
    }

    // 6. More files than the open-file limit allows: one clear line, no crash.
    @Test func item6_tooManyFilesIsAClearError() throws {
        let names = (0..<40).map { dir + "/many-\($0).log" }
        for n in names { FileManager.default.createFile(atPath: n, contents: nil) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -n 48; exec '\(binary)' watch " + names.map { "'\($0)'" }.joined(separator: " ") + " --headless"]
        let err = Pipe()
        let out = Pipe()
        p.standardError = err
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 1)
        #expect(message.hasPrefix("streamtop: cannot follow 40 files: the open-file limit allows"), "\(message)")
        #expect(message.split(separator: "\n").count == 1)
    }

    // 7. Bad configuration is one clear line, never a trap.
    @Test func item7_hugeValuesAndDeepNestingAreClearErrors() throws {
        let input = try file("in7.log", good + "\n")
        let huge = "99999999999999999999s"
        let cases: [[String]] = [
            ["--window", huge], ["--window", "1m", "--lateness", huge], ["--window", "5m", "--slide", huge],
            ["--snapshots", dir + "/s.ndjson", "--every", huge],
            ["--filter", String(repeating: "(", count: 30_000) + "status == 200" + String(repeating: ")", count: 30_000)],
            ["--filter", "request_time > \(huge)"],
        ]
        for extra in cases {
            let r = try run(["replay", input, "--speed", "max", "--headless"] + extra)
            #expect(r.status != 0 && r.status != 132 && r.status != 134 && r.status != 139, "\(extra.first!): status \(r.status)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(extra.first!): \(r.stderr.prefix(300))")
        }
        for script in ["\(huge) pause parse\n", "1s seek +\(huge)\n", "0s priority sink 9223372036854775807\n"] {
            let actions = try file("a7.txt", script)
            let r = try run(["replay", input, "--speed", "max", "--headless", "--actions", actions])
            #expect(r.status == 1, "\(script): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(script): \(r.stderr)")
        }
        // Priorities saturate instead of overflowing.
        let steps = try file("a7b.txt", "0s priority sink 1000\n0s priority sink +1000\n")
        let ok = try run(["replay", input, "--speed", "max", "--headless", "--actions", steps])
        #expect(ok.status == 0, "\(ok.stderr)")
        let deep = try file("deep.toml", "[source]\nfiles = [\"in7.log\"]\nx = " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "\n")
        let c = try run(["check", deep])
        #expect(c.status == 1)
        #expect(c.stdout.contains("deep.toml:3: arrays and tables nest 33 deep here"), "\(c.stdout.prefix(200))")
        let deepFilter = try file("deepf.toml", "[source]\nfiles = [\"in7.log\"]\n[[task]]\nname = \"f\"\noperator = \"filter\"\nexpression = \"" + String(repeating: "(", count: 200_000) + "status == 200" + String(repeating: ")", count: 200_000) + "\"\n")
        let d = try run(["check", deepFilter])
        #expect(d.status == 1, "\(d.stdout.prefix(200))")
    }

    // 9. Nothing a stranger wrote reaches the terminal raw: rejects file and messages are escaped.
    @Test func item9_rejectsAndMessagesAreEscaped() throws {
        let input = try file("in9.log", "\u{1B}]52;c;ZXZpbA==\u{07}evil\u{1B}[2J\n")
        let rejects = dir + "/r9.txt"
        _ = try run(["replay", input, "--speed", "max", "--headless", "--rejects", rejects])
        let text = try String(contentsOfFile: rejects, encoding: .utf8)
        #expect(!text.contains("\u{1B}") && !text.contains("\u{07}"))
        #expect(text.contains("\\x1b]52;c;ZXZpbA==\\x07evil\\x1b[2J"))
        let raw = dir + "/r9raw.txt"
        _ = try run(["replay", input, "--speed", "max", "--headless", "--rejects", raw, "--rejects-raw"])
        #expect(try String(contentsOfFile: raw, encoding: .utf8).contains("\u{1B}]52;c;"))
        let pattern = try run(["replay", dir + "/\u{1B}]0;T\u{07}*.log", "--headless"])
        #expect(pattern.stderr.contains("no file matches") && !pattern.stderr.contains("\u{1B}"), "\(pattern.stderr)")
        let actions = try file("a9.txt", "0s pause \u{1B}]0;T\u{07}\n")
        let task = try run(["replay", input, "--headless", "--actions", actions])
        #expect(task.stderr.contains("unknown task") && !task.stderr.contains("\u{1B}"), "\(task.stderr)")
        let theme = try file("t9.theme", "[roles]\n\"\u{1B}]0;T\u{07}\" = { bold = true }\n")
        let themes = try run(["themes", "check", theme])
        #expect(themes.status == 1 && !themes.stdout.contains("\u{1B}"), "\(themes.stdout)")
    }

    // 10. A FIFO can be watched; a damaged gzip file is named and counted, and fails the run.
    @Test func item10_fifosAndDamagedGzip() throws {
        let fifo = dir + "/pipe.log"
        #expect(mkfifo(fifo, 0o644) == 0)
        let r = try run(["watch", fifo, "--headless"], whileRunning: { p in
            usleep(300_000)
            let fd = open(fifo, O_WRONLY)
            let text = Array(String(repeating: self.good + "\n", count: 100).utf8)
            text.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            close(fd)
            usleep(500_000)
            kill(p.processIdentifier, SIGTERM)
        })
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try report(r)["lines"] as? Int == 100)
        let plain = try file("z.log", String(repeating: good + "\n", count: 20_000))
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "gzip -c '\(plain)' | head -c 3000 > '\(plain).gz'"]
        try gz.run()
        gz.waitUntilExit()
        let t = try run(["replay", plain + ".gz", "--speed", "max", "--headless"])
        #expect(t.status == 1)
        #expect(t.stderr.contains("z.log.gz is damaged") && t.stderr.contains("lines"), "\(t.stderr)")
    }

    // 12. Estimates are flagged; CSV cells cannot start a formula.
    @Test func item12_uniquePathsEstimateIsFlagged() throws {
        let lines = (0..<3000).map { #"1.2.3.\#($0 % 7) - - [25/Nov/2024:00:01:51 +0000] "GET /p\#($0) HTTP/1.1" 200 1"# }
        let input = try file("in12.log", lines.joined(separator: "\n") + "\n")
        let j = try report(try run(["replay", input, "--speed", "max", "--headless", "--max-keys", "100", "--workers", "1"]))
        #expect(j["unique_paths_estimated"] as? Bool == true)
        let estimate = j["unique_paths"] as? Int ?? 0
        #expect(abs(estimate - 3000) < 300, "estimate \(estimate)")
    }

    // 13. Task counts and output collisions in pipeline files.
    @Test func item13_pipelineCollisionsAndTooManyTasksAreRefused() throws {
        _ = try file("in13.log", good + "\n")
        let same = try file("same.toml", """
            [source]
            files = ["in13.log"]
            [[task]]
            name = "a"
            operator = "window"
            every = "1m"
            results = "out.ndjson"
            [[task]]
            name = "b"
            operator = "window"
            every = "1m"
            results = "out.ndjson"
            """)
        let r = try run(["check", same])
        #expect(r.status == 1 && r.stdout.contains("same.toml:12: results \"out.ndjson\" is already written by the results of task 'a'"), "\(r.stdout)")
        let tasks = (0..<300).map { "[[task]]\nname = \"f\($0)\"\noperator = \"filter\"\nexpression = \"status >= 0\"\n" }.joined()
        let many = try file("many.toml", "[source]\nfiles = [\"in13.log\"]\n" + tasks)
        let m = try run(["check", many])
        #expect(m.status == 1 && m.stdout.contains("300 tasks; a pipeline may have at most 256"), "\(m.stdout.prefix(300))")
    }

    // 15. The smaller ones.
    @Test func item15_smallerDefects() throws {
        let input = try file("in15.log", good + "\n")
        let errors: [([String], String)] = [
            (["replay", input, "--headless", "--lateness", "30s"], "--lateness needs --window"),
            (["replay", input, "--headless", "--snapshots", "-"], "--snapshots - needs --headless --report none"),
            (["replay", input, "--headless", "--window", "1m", "--results", "-"], "--results - would mix result rows"),
            (["bench", "stages", "/dev/null"], "bench stages needs a non-empty regular file"),
            (["generate", "--duration", "99999999999999999"], "--duration must be from 1 second to 10 years"),
        ]
        for (args, message) in errors {
            let r = try run(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.hasPrefix("streamtop: " + message) && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        let rows = try run(["replay", input, "--speed", "max", "--headless", "--window", "1m", "--results", "-", "--report", "none"])
        #expect(rows.status == 0 && rows.stdout.hasPrefix("{\"") && rows.stdout.split(separator: "\n").count == 1, "\(rows.stdout)")
        let version = try run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("streamtop "))
        // CRLF keymaps and action scripts; an action bound twice is an error.
        let keys = try file("keys.toml", "[keys]\r\nquit = [\"x\"]\r\n")
        #expect(try run(["replay", input, "--headless", "--keys", keys, "--speed", "max"]).status == 0)
        let twice = try file("twice.toml", "[keys]\nquit = [\"x\"]\nquit = [\"y\"]\n")
        let t = try run(["replay", input, "--headless", "--keys", twice])
        #expect(t.stderr.contains("line 3: quit is already bound on line 2"), "\(t.stderr)")
        let crlf = try file("crlf.txt", "0s pause parse\r\n0s resume parse\r\n")
        #expect(try run(["replay", input, "--headless", "--speed", "max", "--actions", crlf]).status == 0)
        // Themes: a non-boolean attribute and a binary file are reported.
        let yes = try file("yes.theme", "[roles]\ntitle = { bold = \"yes\" }\n")
        let y = try run(["themes", "check", yes])
        #expect(y.status == 1 && y.stdout.contains("bold must be true or false"), "\(y.stdout)")
        let binary = dir + "/bin.theme"
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 1, 2]).write(to: URL(fileURLWithPath: binary))
        let b = try run(["themes", "check", binary])
        #expect(b.status == 1 && !b.stdout.contains("ok"), "\(b.stdout)")
        // The generator spreads an hour evenly and writes years that can be read back.
        let gen = try run(["generate", "--lines", "30000", "--duration", "3600", "--seed", "3"])
        var perSecond: [Substring: Int] = [:]
        for line in gen.stdout.split(separator: "\n") {
            if let open = line.firstIndex(of: "[") { perSecond[line[open...].prefix(21), default: 0] += 1 }
        }
        #expect((perSecond.values.max() ?? 0) < 300, "busiest second \(perSecond.values.max() ?? 0) of 30000 lines")
        let far = try run(["generate", "--start", "253402300000", "--duration", "3600"])
        #expect(far.status != 0 && far.stderr.contains("before the year 10000"))
    }

    static let script = ["/usr/bin/script", "/bin/script"].first(where: FileManager.default.isExecutableFile)

    // 15. TERM=dumb: the dashboard says why it cannot draw, instead of a blank screen (needs a terminal:
    // `script` gives the binary a pseudo-terminal).
    @Test(.enabled(if: HardeningCLITests.script != nil, "util-linux script(1) is not installed"))
    func item15_aDumbTerminalIsRefusedWithAReason() throws {
        let input = try file("in15b.log", good + "\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.script!)
        p.arguments = ["-qec", "'\(binary)' replay '\(input)'", "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "dumb"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 1, "\(text)")
        #expect(text.contains("the terminal (TERM=dumb) cannot move its cursor"), "\(text)")
    }
}
