import Foundation
import Testing

/// A Kafka-compatible broker for the tests: `STREAMTOP_TEST_KAFKA` (host:port) names it, and
/// `STREAMTOP_TANSU` the Tansu binary that creates topics. `.ci/run` starts one and sets both (and
/// `STREAMTOP_LIBRDKAFKA`); without them the broker tests skip, unless `STREAMTOP_KAFKA_REQUIRED=1`.
enum TestBroker {
    static let address: String? = ProcessInfo.processInfo.environment["STREAMTOP_TEST_KAFKA"].flatMap { $0.isEmpty ? nil : $0 }
    static let tansu: String? = ProcessInfo.processInfo.environment["STREAMTOP_TANSU"].flatMap { $0.isEmpty ? nil : $0 }
    static var available: Bool { address != nil && tansu != nil }
    static let reason: Comment = "no Kafka broker: set STREAMTOP_TEST_KAFKA=host:port and STREAMTOP_TANSU (.ci/run starts Tansu and sets them)"

    /// Creates a topic with a name unique to this run.
    static func topic(_ name: String, partitions: Int = 4) throws -> String {
        let topic = "\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tansu!)
        p.arguments = ["topic", "create", topic, "--partitions", "\(partitions)", "--broker", "tcp://\(address!)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "tansu topic create \(topic)")
        return topic
    }

    static func url(_ topic: String, _ query: String = "") -> String { "kafka://\(address!)/\(topic)\(query)" }
}

/// The report's fields that depend on what was read, not on how fast.
private func countedFields(_ json: String) throws -> [String: String] {
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
    var out: [String: String] = [:]
    for key in ["lines", "records", "malformed", "bytes", "status", "methods", "unique_clients", "unique_paths", "top_paths", "top_clients", "per_minute", "first_event", "last_event", "malformed_reasons"] {
        if let v = object[key] {
            let data = try JSONSerialization.data(withJSONObject: ["v": v], options: [.sortedKeys])
            out[key] = String(decoding: data, as: UTF8.self)
        }
    }
    return out
}

private func report(_ json: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
}

@Suite(.serialized) struct KafkaCLITests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["STREAMTOP_KAFKA_REQUIRED"] == "1"))
    func ciHasABroker() {
        // In CI the Kafka tests must run, not skip.
        #expect(TestBroker.available, TestBroker.reason)
    }

    @Test func kafkaAddressesFailWithOneClearLine() throws {
        var cases: [([String], String, [String: String])] = [
            (["replay", "kafka://127.0.0.1:9092", "--headless"], "streamtop: kafka://127.0.0.1:9092: no topic", [:]),
            (["replay", "kafka://127.0.0.1:9092/t", sample, "--headless"], "streamtop: a Kafka topic is read alone", [:]),
            (["watch", "kafka://127.0.0.1:9092/t?grp=x", "--headless"], "streamtop: kafka://127.0.0.1:9092/t?grp=x: unknown setting 'grp'", [:]),
            (["replay", "kafka://127.0.0.1:9092/t", "--headless"], "streamtop: STREAMTOP_LIBRDKAFKA=/nonexistent/librdkafka.so.1 could not be loaded", ["STREAMTOP_LIBRDKAFKA": "/nonexistent/librdkafka.so.1"]),
            (["produce", sample, "--to", "kafka://127.0.0.1:9092/t?group=g"], "streamtop: kafka://127.0.0.1:9092/t?group=g: a group is for readers", [:]),
        ]
        if TestBroker.available {
            cases.append((["replay", TestBroker.url("no-such-topic-\(getpid())"), "--headless"], "streamtop: topic no-such-topic-\(getpid()) does not exist", [:]))
            cases.append((["replay", "kafka://127.0.0.1:9/t", "--headless", "--kafka-option", "sasl.password=hunter2secret"], "streamtop: Kafka brokers 127.0.0.1:9 unreachable", [:]))
            // The address says where the brokers and the group are; a setting cannot say otherwise.
            cases.append((["replay", TestBroker.url("t"), "--headless", "--kafka-option", "bootstrap.servers=10.0.0.1:9092"], "streamtop: Kafka setting bootstrap.servers (--kafka-option or --kafka-config): the brokers come from the kafka:// address", [:]))
            cases.append((["watch", TestBroker.url("t"), "--headless", "--kafka-option", "group.id=other"], "streamtop: Kafka setting group.id (--kafka-option or --kafka-config): the group comes from the address", [:]))
            // A settings file keeps credentials out of ps; its values are never shown either.
            let settings = NSTemporaryDirectory() + "streamtop-kafka-settings-\(getpid()).properties"
            try "# credentials\nsasl.password = hunter2secret\n".write(toFile: settings, atomically: true, encoding: .utf8)
            chmod(settings, 0o600)
            cases.append((["replay", "kafka://127.0.0.1:9/t", "--headless", "--kafka-config", settings], "streamtop: Kafka brokers 127.0.0.1:9 unreachable", [:]))
            let badSettings = NSTemporaryDirectory() + "streamtop-kafka-bad-\(getpid()).properties"
            try "sasl.username=me\nhunter2secret\n".write(toFile: badSettings, atomically: true, encoding: .utf8)
            cases.append((["replay", "kafka://127.0.0.1:9/t", "--headless", "--kafka-config", badSettings], "streamtop: \(badSettings):2: expected name=value", [:]))
            // A missing topic is not created by writing to it (brokers that allow it would, with their
            // default partitions): a typo fails.
            let missing = "never-made-\(getpid())"
            cases.append((["produce", sample, "--to", TestBroker.url(missing)], "streamtop: topic \(missing) does not exist", [:]))
            cases.append((["replay", sample, "--headless", "--report", "none", "--window", "1m", "--results", TestBroker.url(missing)], "streamtop: topic \(missing) does not exist", [:]))
            cases.append((["replay", TestBroker.url(missing), "--headless"], "streamtop: topic \(missing) does not exist", [:]))
        }
        for (args, message, env) in cases {
            let r = try run(args, environment: env)
            #expect(r.status != 0, "\(args)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(args): \(r.stderr)")
            #expect(lines.first.map { $0.hasPrefix(message) } == true, "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("hunter2secret"))
        }
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aTopicReplaysToTheSameReportAsItsFile() throws {
        let topic = try TestBroker.topic("replay")
        let produced = try run(["produce", realSample, "--to", TestBroker.url(topic)])
        #expect(produced.status == 0, "\(produced.stderr)")
        #expect(produced.stderr.contains("produced 10,000 lines"), "\(produced.stderr)")
        let file = try run(["replay", realSample, "--speed", "max", "--headless"])
        let kafka = try run(["replay", TestBroker.url(topic), "--speed", "max", "--headless"])
        #expect(kafka.status == 0, "\(kafka.stderr)")
        let a = try countedFields(kafka.stdout)
        let b = try countedFields(file.stdout)
        #expect(a["lines"] != nil)
        for key in b.keys.sorted() { #expect(a[key] == b[key], "\(key)") }
        // Paced, from the same topic: the same counts (the replay ends at the end offsets seen at start).
        let paced = try run(["replay", TestBroker.url(topic), "--speed", "1000", "--headless"])
        #expect(try countedFields(paced.stdout)["lines"] == b["lines"], "\(paced.stderr)")
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func windowsOverAManyPartitionTopicEqualThoseOfItsFile() throws {
        // Four partitions read interleaved, each minutes of event time ahead of another now and then:
        // event time is kept per partition, so no record is late that was not late in the file.
        let topic = try TestBroker.topic("windows", partitions: 4)
        #expect(try run(["produce", realSample, "--to", TestBroker.url(topic)]).status == 0)
        let dir = NSTemporaryDirectory() + "streamtop-kafka-windows-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func windows(_ input: String, _ name: String) throws -> [[String: Any]] {
            let r = try run(["replay", input, "--speed", "max", "--headless", "--report", "none", "--workers", "2", "--window", "5m", "--results", dir + "/" + name])
            #expect(r.status == 0, "\(r.stderr)")
            return try String(contentsOfFile: dir + "/" + name, encoding: .utf8).split(separator: "\n").map { try report(String($0)) }
        }
        let file = try windows(realSample, "file.ndjson")
        let kafka = try windows(TestBroker.url(topic), "kafka.ndjson")
        let late = { (rows: [[String: Any]]) in rows.reduce(0) { $0 + ($1["late_records"] as? Int ?? 0) } }
        #expect(late(kafka) == late(file), "late records: \(late(kafka)) from the topic, \(late(file)) from the file")
        let counts = { (rows: [[String: Any]]) in rows.map { "\($0["window_start"] ?? "") \($0["count"] ?? "")" } }
        #expect(counts(kafka) == counts(file))
        #expect(file.count > 5)
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func rejectedLinesAreNamedByPartitionAndOffset() throws {
        let topic = try TestBroker.topic("rejects", partitions: 1)
        let dir = NSTemporaryDirectory() + "streamtop-kafka-rejects-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /a HTTP/1.1" 200 10"#
        try [good, good, "not a log line", good].joined(separator: "\n").appending("\n").write(toFile: dir + "/in.log", atomically: true, encoding: .utf8)
        #expect(try run(["produce", dir + "/in.log", "--to", TestBroker.url(topic), "--format", "combined"]).status == 0)
        let r = try run(["replay", TestBroker.url(topic), "--speed", "max", "--headless", "--report", "none", "--format", "combined", "--rejects", dir + "/rejects.txt"])
        #expect(r.status == 0, "\(r.stderr)")
        let rejects = try String(contentsOfFile: dir + "/rejects.txt", encoding: .utf8)
        #expect(rejects.hasPrefix("\(topic)#0@2: "), "the third message of partition 0: \(rejects)")
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aGroupSplitsThePartitionsAndCommitsWhatItCounted() throws {
        let topic = try TestBroker.topic("group")
        let group = "g\(getpid())"
        let url = TestBroker.url(topic, "?group=\(group)&from=beginning")
        // Two members: each takes some partitions; together they count every line once.
        let one = try Background(["watch", url, "--headless"])
        let two = try Background(["watch", url, "--headless"])
        Thread.sleep(forTimeInterval: 12)  // both joined (session timeout 10 s, rebalance)
        let produced = try run(["produce", realSample, "--to", TestBroker.url(topic)])
        #expect(produced.status == 0, "\(produced.stderr)")
        Thread.sleep(forTimeInterval: 5)
        let r1 = try report(one.stop())
        let r2 = try report(two.stop())
        let lines1 = r1["lines"] as? Int ?? -1
        let lines2 = r2["lines"] as? Int ?? -1
        #expect(lines1 + lines2 == 10_000, "\(lines1) + \(lines2)")
        #expect(lines1 > 0 && lines2 > 0, "one member read nothing: \(lines1), \(lines2)")
        let said = (r1["decisions"] as? [[String: Any]] ?? []) + (r2["decisions"] as? [[String: Any]] ?? [])
        #expect(said.contains { ($0["reason"] as? String)?.contains("assigned") == true }, "no rebalance in the decision log")
        // Keyed by client: no client's lines were split between the members.
        #expect(!said.contains { ($0["reason"] as? String)?.contains("arrives on partitions") == true })
        // The group committed what it counted: a new member reads nothing again.
        let three = try Background(["watch", url, "--headless"])
        Thread.sleep(forTimeInterval: 8)
        let r3 = try report(three.stop())
        #expect(r3["lines"] as? Int == 0)
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aGroupSaysWhenAClientsLinesAreSplitBetweenPartitions() throws {
        let topic = try TestBroker.topic("unkeyed")
        let member = try Background(["watch", TestBroker.url(topic, "?group=u\(getpid())&from=beginning"), "--headless"])
        Thread.sleep(forTimeInterval: 6)
        // Unkeyed, and not sticky (librdkafka otherwise sends a batch's worth to one partition): every line to
        // a random partition, as many log shippers do.
        #expect(try run(["produce", realSample, "--to", TestBroker.url(topic), "--key", "none", "--kafka-option", "sticky.partitioning.linger.ms=0"]).status == 0)
        Thread.sleep(forTimeInterval: 3)
        let r = try report(member.stop())
        let said = (r["decisions"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(said.contains { $0.contains("arrives on partitions") && $0.contains("--key client") }, "\(said)")
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func windowResultsGoToATopicOneMessagePerRow() throws {
        let topic = try TestBroker.topic("results", partitions: 2)
        let file = NSTemporaryDirectory() + "streamtop-kafka-rows-\(getpid()).ndjson"
        defer { unlink(file) }
        let toFile = try run(["replay", realSample, "--speed", "max", "--headless", "--report", "none", "--window", "1m", "--results", file])
        #expect(toFile.status == 0, "\(toFile.stderr)")
        let rows = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count
        #expect(rows > 10)
        let toTopic = try run(["replay", realSample, "--speed", "max", "--headless", "--report", "none", "--window", "1m", "--results", TestBroker.url(topic)])
        #expect(toTopic.status == 0, "\(toTopic.stderr)")
        // Read the result topic back: each message is one line (JSON, so malformed as a log line).
        let back = try report(try run(["replay", TestBroker.url(topic), "--speed", "max", "--headless"]).stdout)
        #expect(back["lines"] as? Int == rows)
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aPacedReplayMergesThePartitionsByEventTime() throws {
        // The client delivers a partition's fetch at a time: unmerged, a paced replay of this 21-hour log
        // (4 s at 600× is 40 minutes of it) read one partition while the other three waited.
        let topic = try TestBroker.topic("paced", partitions: 4)
        #expect(try run(["produce", projectRoot.appendingPathComponent("demo-data/demo-access.log").path, "--to", TestBroker.url(topic)]).status == 0)
        let snaps = FileManager.default.temporaryDirectory.appendingPathComponent("paced-\(getpid()).ndjson").path
        defer { unlink(snaps) }
        let replay = try Background(["replay", TestBroker.url(topic), "--speed", "600", "--headless", "--report", "none", "--snapshots", snaps, "--every", "250ms"])
        Thread.sleep(forTimeInterval: 4.5)
        _ = replay.stop()
        let lags = try String(contentsOfFile: snaps, encoding: .utf8).split(separator: "\n").compactMap { line -> [Int]? in
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let lag = (row?["kafka"] as? [String: Any])?["lag"] as? [Any]
            let known = lag?.compactMap { $0 as? Int } ?? []
            return known.count == 4 ? known : nil
        }
        let first = try #require(lags.first, "no snapshot gave the four partitions' lag")
        let last = try #require(lags.last)
        for p in 0..<4 { #expect(last[p] < first[p], "partition \(p) did not move: \(first) → \(last)") }
    }

    /// Loads `lines` generated lines over two hours into a new 4-partition topic and replays it once at
    /// 1000× (7 s) into `dir/report-whole.json`; returns the replay's arguments.
    func pacedReplayRunOnce(lines: Int, in dir: String) throws -> [String] {
        let checkpoints = CheckpointCLITests()
        try checkpoints.generate(lines, to: dir + "/in.log")
        let topic = try TestBroker.topic("paced-resume", partitions: 4)
        try #require(try run(["produce", dir + "/in.log", "--to", TestBroker.url(topic)]).status == 0)
        let common = ["replay", TestBroker.url(topic), "--speed", "1000", "--headless"]
        let whole = try checkpoints.start(common, cwd: dir, stdout: dir + "/report-whole.json", stderr: dir + "/err-whole.txt")
        whole.waitUntilExit()
        try #require(whole.terminationStatus == 0, "\(String(decoding: checkpoints.contents(dir + "/err-whole.txt") ?? Data(), as: UTF8.self))")
        return common
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aPacedMergedReplayKilledAtRandomCountsEveryLineOnce() throws {
        // Blocks held by the merge or half paced out were read but not processed: a checkpoint must put
        // their partitions back to their first message not handed on, or a resume loses them.
        let checkpoints = CheckpointCLITests()
        let dir = try checkpoints.tempDir("kafka-paced")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = try pacedReplayRunOnce(lines: 60_000, in: dir)
        let (kills, _, finished) = try checkpoints.killAtRandom(common, in: dir, attempts: 20) { Double.random(in: 1.0...2.5) }
        #expect(finished && kills >= 1)
        let resumed = try checkpoints.stable(dir + "/report.json")
        let once = try checkpoints.stable(dir + "/report-whole.json")
        // What was counted, not how the lines interleaved (top lists and lag may tie differently).
        for k in ["lines", "records", "malformed", "malformed_reasons", "filtered", "bytes", "status", "methods", "per_minute", "unique_clients", "unique_paths", "first_event", "last_event"] {
            #expect(once[k] != nil && resumed[k] == once[k], "\(k) differs after \(kills) kills")
        }
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aPacedReplayKilledRightAfterItsFirstCheckpointLosesAndRepeatsNothing() throws {
        // The first checkpoint is taken before anything is processed. The replay's consumer had read a
        // block ahead (to detect the format): the checkpoint put that block's partition past it, so a resume
        // lost it; and messages that consumer had fetched before the checkpoint's offsets were set came
        // twice (60,959 lines of 60,000).
        let checkpoints = CheckpointCLITests()
        let dir = try checkpoints.tempDir("kafka-first")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = try pacedReplayRunOnce(lines: 20_000, in: dir)
        let resumable = common + ["--state", "state", "--checkpoint-every", "1h"]
        let first = try checkpoints.start(resumable, cwd: dir, stdout: dir + "/report.json", stderr: dir + "/err.txt")
        var taken = false
        for _ in 0..<4000 where !taken {
            taken = FileManager.default.fileExists(atPath: dir + "/state/checkpoint-000001")
            if !taken { usleep(2_000) }
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        try #require(taken, "no first checkpoint")
        let again = try checkpoints.start(resumable, cwd: dir, stdout: dir + "/report.json", stderr: dir + "/err.txt")
        again.waitUntilExit()
        let err = String(decoding: checkpoints.contents(dir + "/err.txt") ?? Data(), as: UTF8.self)
        try #require(again.terminationStatus == 0, "\(err)")
        #expect(err.contains("restored checkpoint 1"), "\(err)")
        let resumed = try checkpoints.stable(dir + "/report.json")
        let once = try checkpoints.stable(dir + "/report-whole.json")
        #expect(once["lines"] == #"{"v":20000}"#)
        for k in ["lines", "records", "malformed", "bytes", "status", "per_minute", "unique_clients", "first_event", "last_event"] {
            #expect(resumed[k] == once[k], "\(k): \(resumed[k] ?? "-") after the resume, \(once[k] ?? "-") in one run")
        }
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aReplayKilledAtRandomResumesFromItsCheckpointsOffsetsExactly() throws {
        // One partition: a topic's partitions interleave differently on every read, so only one keeps the
        // order (and the event-time windows' late records) the same from run to run.
        let checkpoints = CheckpointCLITests()
        let dir = try checkpoints.tempDir("kafka")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try checkpoints.generate(120_000, to: dir + "/in.log")
        let topic = try TestBroker.topic("resume", partitions: 1)
        let produced = try run(["produce", dir + "/in.log", "--to", TestBroker.url(topic)])
        try #require(produced.status == 0, "\(produced.stderr)")
        var pipeline = try String(contentsOfFile: try checkpoints.analyticsPipeline(input: "in.log", in: dir), encoding: .utf8)
        pipeline = pipeline.replacingOccurrences(of: "files = [\"in.log\"]", with: "kafka = { brokers = [\"\(TestBroker.address!)\"], topic = \"\(topic)\" }")
        try pipeline.write(toFile: dir + "/pipeline.toml", atomically: true, encoding: .utf8)
        let outputs = ["out1.ndjson", "out2.csv", "out3.ndjson", "out4.ndjson"]
        let common = ["run", dir + "/pipeline.toml", "--headless", "--workers", "2"]
        let began = Date()
        let whole = try checkpoints.start(common, cwd: dir, stdout: dir + "/report-whole.json", stderr: dir + "/err-whole.txt")
        whole.waitUntilExit()
        let baseline = Date().timeIntervalSince(began)
        try #require(whole.terminationStatus == 0, "\(String(decoding: checkpoints.contents(dir + "/err-whole.txt") ?? Data(), as: UTF8.self))")
        for f in outputs { try FileManager.default.moveItem(atPath: dir + "/" + f, toPath: dir + "/whole-" + f) }
        let (kills, restores, finished) = try checkpoints.killAtRandom(common, in: dir, attempts: 30) { Double.random(in: 0.3...0.8) * max(1, baseline) }
        #expect(finished)
        #expect(kills >= 1)
        #expect(restores >= 1, "no run resumed from a checkpoint")
        for f in outputs {
            #expect(checkpoints.contents(dir + "/" + f) == checkpoints.contents(dir + "/whole-" + f), "\(f) differs after \(kills) kills")
        }
        let resumed = try checkpoints.stable(dir + "/report.json")
        let once = try checkpoints.stable(dir + "/report-whole.json")
        for k in Set(resumed.keys).union(once.keys).sorted() { #expect(resumed[k] == once[k], "\(k) differs after \(kills) kills") }
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func metricsAndTheDashboardModelCarryPartitionsAndLag() throws {
        let topic = try TestBroker.topic("metrics")
        let checkpoints = CheckpointCLITests()
        let dir = try checkpoints.tempDir("kafka-metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try checkpoints.start(["watch", TestBroker.url(topic, "?from=beginning"), "--headless", "--listen", "127.0.0.1:0"], cwd: dir, stdout: dir + "/out.json", stderr: dir + "/err.txt")
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        var port = ""
        for _ in 0..<100 where port.isEmpty {
            let err = String(decoding: checkpoints.contents(dir + "/err.txt") ?? Data(), as: UTF8.self)
            if let r = err.range(of: "listening on http://127.0.0.1:") { port = String(err[r.upperBound...].prefix { $0.isNumber }) }
            usleep(100_000)
        }
        try #require(!port.isEmpty)
        #expect(try run(["produce", realSample, "--to", TestBroker.url(topic)]).status == 0)
        Thread.sleep(forTimeInterval: 2)
        let service = ServiceCLITests()
        let metrics = try service.fetch("http://127.0.0.1:\(port)/metrics").body
        #expect(metrics.contains("streamtop_kafka_partitions_assigned 4"), "\(metrics.prefix(2000))")
        #expect(metrics.contains("streamtop_kafka_consumer_lag{partition=\"3\"} 0"), "\(metrics.prefix(2000))")
        #expect(metrics.contains("streamtop_kafka_brokers_unreachable 0"))
        let model = try service.fetch("http://127.0.0.1:\(port)/api/v1/dashboard").body
        #expect(model.contains("\"partitions\":{"), "\(model.prefix(500))")
        let snapshot = try service.fetch("http://127.0.0.1:\(port)/api/v1/snapshot").body
        #expect(snapshot.contains("\"kafka\":{"), "\(snapshot.prefix(500))")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let final = try report(String(decoding: checkpoints.contents(dir + "/out.json") ?? Data(), as: UTF8.self))
        #expect(final["lines"] as? Int == 10_000)
        let kafka = final["kafka"] as? [String: Any] ?? [:]
        #expect(kafka["partitions"] as? [Int] == [0, 1, 2, 3])
        #expect(kafka["total_lag"] as? Int == 0)
    }

    @Test func pipelineFilesNameATopicAsTheirSource() throws {
        let dir = NSTemporaryDirectory() + "streamtop-kafka-pipeline-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/good.toml"
        try "[source]\nkafka = { brokers = [\"b1:9092\", \"b2\"], topic = \"access_log_topic\", group = \"g\" }\nmode = \"watch\"\n".write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try run(["check", good])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let bad = dir + "/bad.toml"
        try "[source]\nfiles = [\"a.log\"]\nkafka = { brokers = [\"b1:9092\"], topic = \"t\" }\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try run(["check", bad])
        #expect(refused.status != 0)
        #expect((refused.stdout + refused.stderr).contains("bad.toml:3: [source] reads files or a Kafka topic, not both"), "\(refused.stdout)\(refused.stderr)")
        let example = try run(["check", projectRoot.appendingPathComponent("examples/visits-kafka.toml").path])
        #expect(example.status == 0, "\(example.stdout)\(example.stderr)")
    }
}

/// A streamtop run in the background, stopped with SIGTERM (which drains, then prints the report).
final class Background {
    let process = Process()
    let out = Pipe()
    let err = Pipe()

    init(_ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Sends SIGTERM and returns standard output once the process ended.
    func stop() -> String {
        process.terminate()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        _ = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: o, as: UTF8.self)
    }
}

extension CheckpointCLITests {
    /// Runs `args` with `--state state` again and again, each run SIGKILLed after `after()` seconds unless
    /// it finished first (its report in `report.json`, its stderr in `err.txt`): how many were killed, how
    /// many said they resumed from a checkpoint, and whether one finished.
    func killAtRandom(_ args: [String], in dir: String, attempts: Int, after: () -> Double) throws -> (kills: Int, restores: Int, finished: Bool) {
        var kills = 0
        var restores = 0
        for _ in 0..<attempts {
            let p = try start(args + ["--state", "state", "--checkpoint-every", "100ms"], cwd: dir, stdout: dir + "/report.json", stderr: dir + "/err.txt")
            usleep(useconds_t(after() * 1e6))
            let err = String(decoding: contents(dir + "/err.txt") ?? Data(), as: UTF8.self)
            if err.contains("restored checkpoint") { restores += 1 }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                kills += 1
                continue
            }
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(String(decoding: contents(dir + "/err.txt") ?? Data(), as: UTF8.self))")
            return (kills, restores, true)
        }
        return (kills, restores, false)
    }
}
