import Foundation
import StreamtopKafka
import Testing

/// Kafka faults from the outside: hostile messages, a group member killed with SIGKILL, a broker that goes
/// away and comes back.
@Suite(.serialized) struct KafkaFaultTests {
    /// Sends raw messages (any bytes, empty, huge) with streamtop's own producer.
    func send(_ messages: [[UInt8]], to topic: String) throws {
        // Library loading reads STREAMTOP_LIBRDKAFKA, set for the tests as for the binary.
        let producer = try KafkaProducer(try KafkaAddress(parsing: TestBroker.url(topic)), settings: ["message.max.bytes=16000000"])
        for m in messages {
            try m.withUnsafeBytes { b in
                try producer.send(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: b.count)
            }
        }
        #expect(producer.flush(timeoutSeconds: 30) == 0)
        #expect(producer.failed == 0, "\(producer.lastFailure ?? "")")
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func hostileMessagesAreCountedAndNeverReachTheTerminalRaw() throws {
        let topic = try TestBroker.topic("hostile", partitions: 1)
        let good = Array(#"10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /a HTTP/1.1" 200 512 "-" "curl/8""#.utf8)
        let escape = Array("10.0.0.2 - - [10/Oct/2024:13:55:37 +0000] \"GET /\u{1b}]0;pwned\u{07}\u{1b}[2J HTTP/1.1\" 200 5 \"-\" \"x\"".utf8)
        let binary: [UInt8] = [0xFF, 0xFE, 0x00, 0x1B, 0x5B, 0x33, 0x31, 0x6D, 0xC3, 0x28]
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20)
        try send([good, [], escape, binary, huge, good], to: topic)
        let rejects = NSTemporaryDirectory() + "streamtop-kafka-rejects-\(getpid()).txt"
        defer { unlink(rejects) }
        let r = try run(["replay", TestBroker.url(topic), "--speed", "max", "--headless", "--format", "combined", "--rejects", rejects])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        // Five lines (the empty message holds none): two good, the rest malformed, the huge one as too long.
        #expect(report["lines"] as? Int == 5)
        #expect(report["records"] as? Int ?? 0 >= 2)
        let reasons = report["malformed_reasons"] as? [String: Int] ?? [:]
        #expect(reasons["line_too_long"] == 1, "\(reasons)")
        let kept = FileManager.default.contents(atPath: rejects) ?? Data()
        #expect(!kept.contains(0x1B), "an escape byte reached the rejects file raw")
        #expect(kept.count < 1 << 20, "the huge message was kept whole: \(kept.count) bytes")
        #expect(!r.stdout.utf8.contains(0x1B) && !r.stderr.utf8.contains(0x1B))
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aMemberKilledWithSIGKILLLeavesItsPartitionsToTheOther() throws {
        let topic = try TestBroker.topic("takeover")
        let url = TestBroker.url(topic, "?group=t\(getpid())&from=beginning")
        let survivor = try Background(["watch", url, "--headless"])
        let victim = try Background(["watch", url, "--headless"])
        Thread.sleep(forTimeInterval: 12)  // both members joined
        kill(victim.process.processIdentifier, SIGKILL)
        victim.process.waitUntilExit()
        // Within the session timeout (10 s) the group gives the dead member's partitions to the survivor,
        // which then counts every line written from now on.
        Thread.sleep(forTimeInterval: 14)
        let produced = try run(["produce", realSample, "--to", TestBroker.url(topic)])
        #expect(produced.status == 0, "\(produced.stderr)")
        Thread.sleep(forTimeInterval: 4)
        let report = try JSONSerialization.jsonObject(with: Data(survivor.stop().utf8)) as? [String: Any] ?? [:]
        #expect(report["lines"] as? Int == 10_000)
        let reasons = (report["decisions"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains("assigned") && $0.contains("a member left") }, "\(reasons)")
    }

    @Test(.enabled(if: TestBroker.available, TestBroker.reason))
    func aBrokerThatGoesAwayIsSaidAndReadAgainWhenItComesBack() throws {
        // A private broker, so that stopping it leaves the other tests alone.
        let port = try freePort()
        var broker = try startTansu(port: port)
        defer { broker.terminate() }
        let address = "127.0.0.1:\(port)"
        try createTopic("away", partitions: 2, broker: address)
        let watcher = try Background(["watch", "kafka://\(address)/away?from=beginning", "--headless"])
        Thread.sleep(forTimeInterval: 3)
        #expect(try run(["produce", realSample, "--to", "kafka://\(address)/away"]).status == 0)
        Thread.sleep(forTimeInterval: 3)
        kill(broker.processIdentifier, SIGKILL)
        broker.waitUntilExit()
        Thread.sleep(forTimeInterval: 4)
        #expect(watcher.process.isRunning, "the watcher ended when the broker went away")
        // Back, but empty (Tansu keeps topics in memory): the topic is made again and written twice, so its
        // partitions go past where the reader stood, and it reads on from there (the same keys land on the
        // same partitions: the second 10,000 lines).
        broker = try startTansu(port: port)
        try createTopic("away", partitions: 2, broker: address)
        Thread.sleep(forTimeInterval: 4)
        #expect(try run(["produce", realSample, realSample, "--to", "kafka://\(address)/away"]).status == 0)
        Thread.sleep(forTimeInterval: 6)
        let report = try JSONSerialization.jsonObject(with: Data(watcher.stop().utf8)) as? [String: Any] ?? [:]
        let reasons = (report["decisions"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains("broker unreachable since") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("broker reachable again") }, "\(reasons)")
        #expect(report["lines"] as? Int == 20_000)
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func startTansu(port: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestBroker.tansu!)
        p.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)", "--storage-engine", "memory://tansu/"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 1)
        return p
    }

    func createTopic(_ name: String, partitions: Int, broker: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestBroker.tansu!)
        p.arguments = ["topic", "create", name, "--partitions", "\(partitions)", "--broker", "tcp://\(broker)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }
}
