import Foundation
import StreamtopEngine
import Testing

/// Checkpoints from the outside, as an operator meets them: a run killed with SIGKILL at random moments and
/// started again with the same `--state` ends with results, snapshot, rejects and report byte-identical to
/// a run never interrupted; `watch` resumes through appends and rotations that happened while it was down;
/// every fault (full disk, a second process, a damaged or foreign checkpoint, a replaced input) is one
/// clear line and loses nothing.
@Suite(.serialized) struct CheckpointCLITests {
    static let seed = ["STREAMTOP_HASH_SEED": "12345"]

    func tempDir(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "streamtop-checkpoint-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func generate(_ lines: Int, to path: String, seed: Int = 42) throws {
        let r = try run(["generate", "--lines", "\(lines)", "--seed", "\(seed)", "--malformed", "0.002", "--duration", "7200"])
        try #require(r.status == 0)
        try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The analytics benchmark's pipeline with real result files (NDJSON, CSV, a snapshot) instead of
    /// /dev/null, and without its worker count (the tests give --workers).
    func analyticsPipeline(input: String, in dir: String) throws -> String {
        var text = try String(contentsOfFile: projectRoot.appendingPathComponent("benchmarks/pipeline.toml").path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"INPUT\"", with: "\"\(input)\"").replacingOccurrences(of: "workers = 2\n", with: "")
        var n = 0
        while let range = text.range(of: "\"/dev/null\"") {
            n += 1
            text.replaceSubrange(range, with: n == 2 ? "\"out\(n).csv\"\nsnapshot = \"snap\(n).json\"" : "\"out\(n).ndjson\"")
        }
        let path = dir + "/pipeline.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts the binary in `cwd`, stdout and stderr to files.
    func start(_ args: [String], cwd: String, stdout: String, stderr: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.environment = ProcessInfo.processInfo.environment.merging(Self.seed) { $1 }
        FileManager.default.createFile(atPath: stdout, contents: nil)
        FileManager.default.createFile(atPath: stderr, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: stdout)
        p.standardError = FileHandle(forWritingAtPath: stderr)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// The report without what depends on timing (rates, elapsed time, the task table, the decision log).
    func stable(_ reportPath: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: reportPath))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var out: [String: String] = [:]
        for (k, v) in json where !["elapsed_seconds", "lines_per_second", "tasks", "decisions", "workers"].contains(k) {
            out[k] = String(decoding: try JSONSerialization.data(withJSONObject: ["v": v], options: [.sortedKeys]), as: UTF8.self)
        }
        return out
    }

    func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    func sortedLines(_ path: String) -> [Substring] {
        String(decoding: contents(path) ?? Data(), as: UTF8.self).split(separator: "\n").sorted()
    }

    @Test(arguments: [1, 2, 4])
    func killedAtRandomAndRestartedTheResultsAreByteIdentical(workers: Int) throws {
        let dir = try tempDir("kill\(workers)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try generate(120_000, to: dir + "/in.log")
        let pipeline = try analyticsPipeline(input: "in.log", in: dir)
        let outputs = ["out1.ndjson", "out2.csv", "snap2.json", "out3.ndjson", "out4.ndjson"]
        let common = ["run", pipeline, "--headless", "--workers", "\(workers)", "--rejects", "rejects.txt"]

        // The run never interrupted.
        let began = Date()
        let whole = try start(common, cwd: dir, stdout: dir + "/report-whole.json", stderr: dir + "/err-whole.txt")
        whole.waitUntilExit()
        let baseline = Date().timeIntervalSince(began)
        try #require(whole.terminationStatus == 0)
        for f in outputs + ["rejects.txt"] { try FileManager.default.moveItem(atPath: dir + "/" + f, toPath: dir + "/whole-" + f) }

        // Killed with SIGKILL at random moments, restarted each time with the same state directory.
        var kills = 0
        var restores = 0
        var finished = false
        for attempt in 0..<40 {
            let p = try start(common + ["--state", "state", "--checkpoint-every", "100ms"], cwd: dir, stdout: dir + "/report.json", stderr: dir + "/err.txt")
            let err = { String(decoding: self.contents(dir + "/err.txt") ?? Data(), as: UTF8.self) }
            // A run resumed after a kill at 0.7 of the whole run's time has at least 0.3 of it left (its
            // start-up included), so a later kill within 0.3 lands: a pause drawn from the first range let
            // it finish after one kill. After three kills the run is left to finish.
            let upTo = kills == 0 ? 0.7 : 0.3
            if kills == 0 {
                // The first kill comes after the first checkpoint is complete (at a random moment up to
                // 0.2 of the run later), so that a restart restores one: drawn from the start of the run,
                // every kill could land before it, and the runs got fast enough that they all did.
                let state = dir + "/state"
                let gaveUp = Date().addingTimeInterval(max(2, 4 * baseline))
                while p.isRunning && Date() < gaveUp {
                    let done = (try? FileManager.default.contentsOfDirectory(atPath: state))?.contains {
                        $0.hasPrefix("checkpoint-") && FileManager.default.fileExists(atPath: state + "/" + $0 + "/MANIFEST")
                    } ?? false
                    if done { break }
                    usleep(2_000)
                }
                usleep(useconds_t(Double.random(in: 0...0.2) * max(0.5, baseline) * 1e6))
            } else {
                usleep(useconds_t(Double.random(in: 0.1...upTo) * max(0.5, baseline) * 1e6))
            }
            if p.isRunning && kills < 3 {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                if p.terminationReason == .uncaughtSignal { kills += 1 }
                if err().contains("restored checkpoint") { restores += 1 }
                continue
            }
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "attempt \(attempt): \(err())")
            if err().contains("restored checkpoint") { restores += 1 }
            finished = true
            break
        }
        #expect(finished)
        #expect(kills >= 2, "only \(kills) kills landed before the run finished")
        #expect(restores >= 1)
        for f in outputs {
            #expect(contents(dir + "/" + f) == contents(dir + "/whole-" + f), "\(f) differs after \(kills) kills (workers \(workers))")
        }
        // Parse tasks run in parallel, so rejects come in block order per worker: same lines, each once.
        #expect(sortedLines(dir + "/rejects.txt") == sortedLines(dir + "/whole-rejects.txt"))
        let (resumed, once) = (try stable(dir + "/report.json"), try stable(dir + "/report-whole.json"))
        let differing = Set(resumed.keys).union(once.keys).filter { resumed[$0] != once[$0] }.sorted()
        #expect(differing.isEmpty, "after \(kills) kills (workers \(workers)): \(differing.map { "\($0): \(resumed[$0] ?? "-") vs \(once[$0] ?? "-")" }.joined(separator: "; ").prefix(2000))")
    }

    /// Lines the latest snapshot line says were read (0 before the first).
    func linesRead(_ path: String) -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let last = text.split(separator: "\n").last,
            let json = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        else { return 0 }
        return json["lines"] as? Int ?? 0
    }

    func waitForLines(_ n: Int, in path: String) -> Bool {
        for _ in 0..<600 {
            if linesRead(path) == n { return true }
            usleep(50_000)
        }
        return false
    }

    @Test(arguments: ["append", "rename", "copytruncate", "rename-twice", "copytruncate-twice"])
    func watchResumesThroughWhatHappenedWhileItWasDown(mode: String) throws {
        let dir = try tempDir("watch-\(mode)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try generate(9000, to: dir + "/full.log", seed: 7)
        let lines = try String(contentsOfFile: dir + "/full.log", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let part = { (r: Range<Int>) in lines[r].joined(separator: "\n") + "\n" }
        let (a, b, c) = (part(0..<3000), part(3000..<6000), part(6000..<9000))
        // What an uninterrupted run counts: the same lines in the same order.
        let reference = try start(["replay", "full.log", "--speed", "max", "--headless", "--window", "1m", "--results", "ref.ndjson"], cwd: dir, stdout: dir + "/report-ref.json", stderr: dir + "/err-ref.txt")
        reference.waitUntilExit()
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        try a.write(toFile: dir + "/logs/access.log", atomically: false, encoding: .utf8)
        let args = ["watch", "logs/access.log", "--from-start", "--headless", "--state", "state", "--checkpoint-every", "100ms", "--window", "1m", "--results", "win.ndjson", "--snapshots", "snap.ndjson", "--every", "100ms"]

        let first = try start(args, cwd: dir, stdout: dir + "/report-1.json", stderr: dir + "/err-1.txt")
        #expect(waitForLines(3000, in: dir + "/snap.ndjson"))
        usleep(400_000)  // a checkpoint after the last line
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        // While it is down: more lines, then a rotation.
        let log = dir + "/logs/access.log"
        let appendText = { (text: String, path: String) in
            let h = try #require(FileHandle(forWritingAtPath: path))
            h.seekToEndOfFile()
            h.write(Data(text.utf8))
            try h.close()
        }
        try appendText(b, log)
        let truncate = { try FileHandle(forWritingAtPath: log).map { try $0.truncate(atOffset: 0); try $0.close() } }
        switch mode {
        case "rename":
            try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
            try c.write(toFile: log, atomically: false, encoding: .utf8)
        case "copytruncate":
            try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
            try truncate()
            try appendText(c, log)
        case "rename-twice", "copytruncate-twice":
            // logrotate with rotate 2, run twice while streamtop is down: the first rotated file holds the end
            // of what was read, the second a whole generation written in between.
            let (c1, c2) = (String(c.split(separator: "\n").prefix(1500).joined(separator: "\n") + "\n"), String(c.split(separator: "\n").dropFirst(1500).joined(separator: "\n") + "\n"))
            for (i, next) in [c1, c2].enumerated() {
                if FileManager.default.fileExists(atPath: log + ".1") { try FileManager.default.moveItem(atPath: log + ".1", toPath: log + ".2") }
                if mode == "rename-twice" {
                    try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
                    FileManager.default.createFile(atPath: log, contents: nil)
                } else {
                    try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
                    try truncate()
                }
                usleep(20_000)  // distinct modification times
                try appendText(next, log)
                _ = i
            }
        default:
            try appendText(c, log)
        }

        let second = try start(args, cwd: dir, stdout: dir + "/report-2.json", stderr: dir + "/err-2.txt")
        #expect(waitForLines(9000, in: dir + "/snap.ndjson"))
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        let err = String(decoding: contents(dir + "/err-2.txt") ?? Data(), as: UTF8.self)
        #expect(second.terminationStatus == 0, "\(err)")
        #expect(err.contains("restored checkpoint"), "\(err)")
        if mode != "append" { #expect(err.contains(mode.hasSuffix("twice") ? "access.log.2 from byte" : "access.log.1 from byte"), "\(err)") }
        #expect(contents(dir + "/win.ndjson") == contents(dir + "/ref.ndjson"))
        #expect(try stable(dir + "/report-2.json") == stable(dir + "/report-ref.json"))
    }

    @Test func aFollowedPatternResumesOldFilesWhereTheyStoodAndReadsNewOnesWhole() throws {
        let dir = try tempDir("pattern")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try generate(400, to: dir + "/full.log", seed: 3)
        let lines = try String(contentsOfFile: dir + "/full.log", encoding: .utf8).split(separator: "\n")
        let part = { (r: Range<Int>) in lines[r].joined(separator: "\n") + "\n" }
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        // What a.log holds before the watch starts is not counted (it starts at the end, like tail -F).
        try part(0..<100).write(toFile: dir + "/logs/a.log", atomically: false, encoding: .utf8)
        let args = ["watch", "logs/*.log", "--headless", "--state", "state", "--checkpoint-every", "100ms", "--snapshots", "snap.ndjson", "--every", "100ms"]
        let first = try start(args, cwd: dir, stdout: dir + "/r1.json", stderr: dir + "/e1.txt")
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: dir + "/state/LOCK") { usleep(50_000) }
        usleep(500_000)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // While down: 50 lines appended to a.log, and b.log appears with 200.
        let h = try #require(FileHandle(forWritingAtPath: dir + "/logs/a.log"))
        h.seekToEndOfFile()
        h.write(Data(part(100..<150).utf8))
        try h.close()
        try part(150..<350).write(toFile: dir + "/logs/b.log", atomically: false, encoding: .utf8)
        let second = try start(args, cwd: dir, stdout: dir + "/r2.json", stderr: dir + "/e2.txt")
        #expect(waitForLines(250, in: dir + "/snap.ndjson"))
        usleep(300_000)
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        let data = try #require(contents(dir + "/r2.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["lines"] as? Int == 250, "\(String(decoding: contents(dir + "/e2.txt") ?? Data(), as: UTF8.self))")
    }

    /// One line on stderr, the expected start, a failure status.
    func expectRefusal(_ r: Run, _ start: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("streamtop: format:") }
        #expect(lines.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix("streamtop: " + start) == true, "\(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func faultsAreOneClearLineAndLoseNothing() throws {
        let dir = try tempDir("faults")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try generate(20_000, to: dir + "/in.log")
        let replay = ["replay", "in.log", "--speed", "max", "--headless", "--report", "none"]

        // Bad options.
        expectRefusal(try run(replay + ["--fresh"], cwd: dir), "--fresh needs --state")
        expectRefusal(try run(replay + ["--checkpoint-every", "1s"], cwd: dir), "--checkpoint-every needs --state")
        expectRefusal(try run(replay + ["--state", "/proc/streamtop-no/state"], cwd: dir), "cannot create state directory /proc/streamtop-no/state")
        expectRefusal(try run(replay + ["--state", "in.log"], cwd: dir), "state directory in.log is not a directory")

        // A second process on the same directory is refused, naming the owner.
        let owner = try start(["watch", "in.log", "--headless", "--report", "none", "--state", "shared"], cwd: dir, stdout: dir + "/o.txt", stderr: dir + "/oe.txt")
        for _ in 0..<100 where (try? String(contentsOfFile: dir + "/shared/LOCK", encoding: .utf8)) != "\(owner.processIdentifier)\n" { usleep(50_000) }
        let second = try run(replay + ["--state", "shared"], cwd: dir)
        expectRefusal(second, "state directory shared is in use by another streamtop (pid \(owner.processIdentifier))")
        kill(owner.processIdentifier, SIGTERM)
        owner.waitUntilExit()
        #expect(owner.terminationStatus == 0)

        // A checkpoint edited by hand, of another version, or of another pipeline is refused, never used.
        #expect(try run(replay + ["--state", "st"], cwd: dir).status == 0)
        // The first checkpoint (before any line) is replaced by the final one: one folder is left.
        let folders = try FileManager.default.contentsOfDirectory(atPath: dir + "/st").filter { $0.hasPrefix("checkpoint-") }
        #expect(folders == ["checkpoint-000002"])
        let folder = try #require(folders.first)
        let state = dir + "/st/" + folder + "/state.bin"
        var bytes = try #require(contents(state))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: state))
        expectRefusal(try run(replay + ["--state", "st"], cwd: dir), "checkpoint 2 in st is damaged: the checksum of state.bin and its seed does not match its manifest; use --fresh")
        #expect(try run(replay + ["--state", "st", "--fresh", "--window", "1m", "--results", "w.ndjson"], cwd: dir).status == 0)
        expectRefusal(try run(replay + ["--state", "st", "--window", "5m", "--results", "w.ndjson"], cwd: dir), "checkpoint 2 was taken by another pipeline: the pipeline has 'window: window windows=300")
        let manifest = dir + "/st/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: dir + "/st").first { $0.hasPrefix("checkpoint-") })) + "/MANIFEST"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "streamtop-checkpoint \(CheckpointStore.version)", with: "streamtop-checkpoint 7").write(toFile: manifest, atomically: true, encoding: .utf8)
        expectRefusal(try run(replay + ["--state", "st", "--window", "1m", "--results", "w.ndjson"], cwd: dir), "checkpoint 2 in st is of another format")

        // An input replaced by a shorter one while down: refused for a replay, which cannot know what the lines were.
        try FileManager.default.copyItem(atPath: dir + "/in.log", toPath: dir + "/copy.log")
        #expect(try run(["replay", "copy.log", "--speed", "max", "--headless", "--report", "none", "--state", "st3"], cwd: dir).status == 0)
        try Data(try #require(contents(dir + "/in.log")).prefix(50_000)).write(to: URL(fileURLWithPath: dir + "/copy.log"))
        expectRefusal(try run(["replay", "copy.log", "--speed", "max", "--headless", "--report", "none", "--state", "st3"], cwd: dir), "copy.log is shorter than when the checkpoint was taken")

        // The list of inputs must be the one read: reordered is refused, the same file spelled otherwise is not.
        try FileManager.default.copyItem(atPath: dir + "/in.log", toPath: dir + "/other.log")
        let two = ["--speed", "max", "--headless", "--report", "none", "--state", "st5", "--checkpoint-every", "10ms"]
        #expect(try run(["replay", "in.log", "other.log"] + two, cwd: dir).status == 0)
        expectRefusal(try run(["replay", "other.log", "in.log"] + two, cwd: dir), "the checkpoint read in.log as input 1, this run gives other.log, another file")
        #expect(try run(["replay", "./in.log", "other.log"] + two, cwd: dir).status == 0)

        // A refused restart changes no output; another results or rejects path is refused.
        let windowed = ["replay", "in.log", "--speed", "max", "--headless", "--report", "none", "--window", "1m", "--state", "st6"]
        #expect(try run(windowed + ["--results", "w6.ndjson", "--rejects", "r6.txt"], cwd: dir).status == 0)
        let written = contents(dir + "/w6.ndjson")
        try "not a log\n".write(toFile: dir + "/in.log.bak", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: dir + "/in.log", toPath: dir + "/in.log.orig")
        try FileManager.default.moveItem(atPath: dir + "/in.log.bak", toPath: dir + "/in.log")
        expectRefusal(try run(windowed + ["--results", "w6.ndjson", "--rejects", "r6.txt"], cwd: dir), "in.log is shorter than when the checkpoint was taken")
        #expect(contents(dir + "/w6.ndjson") == written)
        try FileManager.default.removeItem(atPath: dir + "/in.log")
        try FileManager.default.moveItem(atPath: dir + "/in.log.orig", toPath: dir + "/in.log")
        try "keep me\n".write(toFile: dir + "/precious.txt", atomically: true, encoding: .utf8)
        expectRefusal(try run(windowed + ["--results", "w6.ndjson", "--rejects", "precious.txt"], cwd: dir), "the checkpoint wrote the rejects file to r6.txt, this run to precious.txt")
        #expect(contents(dir + "/precious.txt") == Data("keep me\n".utf8))
        #expect(contents(dir + "/w6.ndjson") == written)
        try FileManager.default.removeItem(atPath: dir + "/w6.ndjson")
        // (A file created anew may get the deleted one's inode back: then its length gives it away.)
        let deleted = try run(windowed + ["--results", "w6.ndjson", "--rejects", "r6.txt"], cwd: dir)
        #expect(deleted.status != 0)
        #expect(deleted.stderr.contains("results file w6.ndjson is not the file the checkpoint wrote") || deleted.stderr.contains("results file w6.ndjson holds 0 bytes but the checkpoint recorded"), "\(deleted.stderr)")

        // The seed is covered by the checksum: an edited seed would count keys under the wrong hash.
        let st6 = dir + "/st6/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: dir + "/st6").first { $0.hasPrefix("checkpoint-") }))
        let m6 = try String(contentsOfFile: st6 + "/MANIFEST", encoding: .utf8)
        let edited = m6.split(separator: "\n").map { $0.hasPrefix("seed ") ? "seed 0x2" : String($0) }.joined(separator: "\n") + "\n"
        try edited.write(toFile: st6 + "/MANIFEST", atomically: true, encoding: .utf8)
        expectRefusal(try run(windowed + ["--results", "w7.ndjson", "--rejects", "r6.txt"], cwd: dir), "checkpoint 2 in st6 is damaged: the checksum of state.bin and its seed")

        // --fresh deletes only its own checkpoints: a folder with the same name holding other files stays.
        try FileManager.default.createDirectory(atPath: dir + "/st7/checkpoint-100000", withIntermediateDirectories: true)
        try "weights".write(toFile: dir + "/st7/checkpoint-100000/model.bin", atomically: true, encoding: .utf8)
        expectRefusal(try run(replay + ["--state", "st7", "--fresh"], cwd: dir), "st7/checkpoint-100000 is not a streamtop checkpoint (it holds other files)")
        #expect(FileManager.default.fileExists(atPath: dir + "/st7/checkpoint-100000/model.bin"))

        // Another filter is another pipeline.
        #expect(try run(replay + ["--state", "st8", "--filter", "status >= 500"], cwd: dir).status == 0)
        expectRefusal(try run(replay + ["--state", "st8", "--filter", "status < 500"], cwd: dir), "checkpoint 2 was taken by another pipeline: the pipeline has 'filter: filter")

        // Standard input cannot be resumed: said once; the counts are still checkpointed.
        let stdin = try run(["watch", "-", "--headless", "--state", "st4"], stdin: try #require(contents(dir + "/in.log")), cwd: dir)
        #expect(stdin.status == 0)
        #expect(stdin.stderr.contains("standard input cannot be resumed"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/st4").contains { $0.hasPrefix("checkpoint-") })
    }

    @Test func aPipelineFileKeepsItsStateWhereItSays() throws {
        let dir = try tempDir("file-state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try generate(5000, to: dir + "/in.log")
        let text = "state = \"kept\"\n[source]\nfiles = [\"in.log\"]\n\n[[task]]\nname = \"w\"\noperator = \"window\"\nevery = \"1m\"\nresults = \"w.ndjson\"\n"
        try text.write(toFile: dir + "/p.toml", atomically: true, encoding: .utf8)
        let first = try run(["run", "p.toml", "--headless", "--report", "none", "--checkpoint-every", "50ms"], cwd: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/kept").contains { $0.hasPrefix("checkpoint-") })
        let again = try run(["run", "p.toml", "--headless", "--report", "none"], cwd: dir)
        #expect(again.stderr.contains("restored checkpoint"), "\(again.stderr)")
        let fresh = try run(["run", "p.toml", "--headless", "--report", "none", "--fresh"], cwd: dir)
        #expect(fresh.status == 0 && !fresh.stderr.contains("restored"), "\(fresh.stderr)")
    }

    @Test func aFullDiskFailsTheCheckpointNotTheRun() throws {
        let dir = try tempDir("full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try generate(60_000, to: dir + "/in.log")
        // A file-size limit of 64 KiB: every checkpoint of this run is larger and fails with EFBIG, like a
        // full disk; the report (on stdout, a pipe) is not limited.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -f 64; exec '\(binary)' replay in.log --speed max --headless --state st --checkpoint-every 20ms"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = ProcessInfo.processInfo.environment.merging(Self.seed) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let report = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // The run went on to the end and counted every line; the failure is an error, in the log and on stderr.
        let json = try #require(try JSONSerialization.jsonObject(with: report) as? [String: Any])
        let whole = try run(["replay", "in.log", "--speed", "max", "--headless"], cwd: dir)
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(whole.stdout.utf8)) as? [String: Any])
        #expect(json["lines"] as? Int == reference["lines"] as? Int)
        #expect(json["records"] as? Int == reference["records"] as? Int)
        let decisions = json["decisions"] as? [[String: Any]] ?? []
        #expect(decisions.contains { $0["kind"] as? String == "checkpoint_failed" && ($0["reason"] as? String ?? "").contains("File too large") })
        #expect(p.terminationStatus != 0, "the last checkpoint failed: a restart would redo work, so the run says so")
        #expect(stderr.contains("checkpoints failed") || stderr.contains("checkpoint failed"), "\(stderr)")
        // Nothing half-written was left behind: the checkpoint on disk is the first one (taken before any
        // line, and small enough), and a run started again from it counts every line once.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/st")
        #expect(left.filter { $0.hasPrefix("checkpoint-") || $0.hasPrefix(".tmp-") } == ["checkpoint-000001"], "\(left)")
        let again = try run(["replay", "in.log", "--speed", "max", "--headless", "--state", "st"], cwd: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("restored checkpoint 1"), "\(again.stderr)")
        let resumed = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        for key in ["lines", "records", "malformed", "bytes", "unique_clients"] {
            #expect("\(resumed[key] ?? "nil")" == "\(reference[key] ?? "nil")", "\(key)")
        }
    }
}
