import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
@testable import StreamtopLogs

/// The contract's fields, the ones that must equal the reference implementation.
let contractKeys = ["lines", "records", "malformed", "bytes", "status", "methods", "top_paths", "top_clients",
                    "unique_clients", "first_event", "last_event", "per_minute"]

/// Runs the default pipeline over files at max speed and returns the report as parsed JSON.
func runReport(_ paths: [String], workers: Int, actions: ((AccessPipeline) -> Void)? = nil) throws -> [String: Any] {
    let quarantine = try Quarantine(sourceNames: paths)
    let pipeline = AccessPipeline(lines: try FileSource(paths: paths, blockSize: 16 * 1024), workers: workers, quarantine: quarantine, queueCapacity: 4)
    pipeline.engine.start()
    actions?(pipeline)
    let snap = pipeline.engine.waitUntilFinished()
    let report = HeadlessReport(
        summary: pipeline.aggregate.summary(), malformedReasons: quarantine.counts(), elapsedSeconds: 1,
        tasks: snap.tasks, decisions: pipeline.engine.allDecisions(), workers: workers)
    return try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as! [String: Any]
}

func expectSameContract(_ ours: [String: Any], _ reference: [String: Any], _ label: String) {
    for key in contractKeys {
        let a = ours[key].map { [$0] as NSArray } ?? []
        let b = reference[key].map { [$0] as NSArray } ?? []
        #expect(a == b, "\(label): field \(key) differs")
    }
}

func samplePath(_ name: String) -> String {
    Bundle.module.url(forResource: "Samples/\(name)", withExtension: nil)!.path
}

func loadJSON(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
}

/// `../shared/` beside the project, when present.
let sharedDirectory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")

@Suite struct ReportMatchesReferenceTests {
    @Test(arguments: ["elastic_apache_logs.log", "edge-cases.log"])
    func bundledSamplesMatchTheReference(name: String) throws {
        let ours = try runReport([samplePath(name)], workers: 2)
        let expected = try loadJSON(samplePath(name.replacingOccurrences(of: ".log", with: ".expected.json")))
        expectSameContract(ours, expected, name)
    }

    @Test(arguments: [1, 2, 4])
    func resultsDoNotDependOnWorkerCount(workers: Int) throws {
        let ours = try runReport([samplePath("elastic_apache_logs.log"), samplePath("edge-cases.log")], workers: workers)
        let a = try loadJSON(samplePath("elastic_apache_logs.expected.json"))
        #expect(ours["lines"] as? Int == (a["lines"] as! Int) + 26)
        let single = try runReport([samplePath("elastic_apache_logs.log"), samplePath("edge-cases.log")], workers: 1)
        expectSameContract(ours, single, "workers \(workers)")
    }

    @Test func pausesAndReallocationsMidRunChangeNothing() throws {
        let path = samplePath("elastic_apache_logs.log")
        let ours = try runReport([path], workers: 2) { p in
            let e = p.engine
            e.send(.pause(e.taskID(named: "aggregate")!))
            e.send(.setPolicy(.fairShare))
            usleep(20_000)
            e.send(.setPolicy(.adaptive))
            e.send(.setWorkers(e.taskID(named: "parse")!, 1))
            e.send(.adjustPriority(e.taskID(named: "aggregate")!, 3))
            usleep(20_000)
            e.send(.resume(e.taskID(named: "aggregate")!))
            e.send(.pause(e.taskID(named: "source")!))
            usleep(10_000)
            e.send(.resume(e.taskID(named: "source")!))
        }
        expectSameContract(ours, try loadJSON(samplePath("elastic_apache_logs.expected.json")), "with actions")
        let decisions = (ours["decisions"] as! [[String: Any]]).map { $0["action"] as! String }
        #expect(decisions.contains("paused") && decisions.contains("resumed") && decisions.contains("workers 2 → 1"))
        #expect(decisions.contains("policy fair-share → adaptive"))
    }

    @Test func gzippedRotatedLogsReplayLikeThePlainOnes() throws {
        let plain = samplePath("elastic_apache_logs.log")
        let gz = FileManager.default.temporaryDirectory.appendingPathComponent("rotated-\(getpid()).log.2.gz").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(plain)' > '\(gz)'"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        expectSameContract(try runReport([gz], workers: 2), try loadJSON(samplePath("elastic_apache_logs.expected.json")), "gzip")
    }

    /// python3 on the PATH, for the reference report.
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
        ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map({ "\($0)/python3" }).first(where: FileManager.default.isExecutableFile)
    static let referenceScript = sharedDirectory.appendingPathComponent("tools/reference-report.py")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ReportMatchesReferenceTests.referenceScript.path), "../shared/tools/reference-report.py is absent (a fresh clone without ../shared)"),
          .enabled(if: ReportMatchesReferenceTests.python != nil, "python3 is not installed"))
    func everyRealLogInSharedMatchesTheReference() throws {
        let logs = sharedDirectory.appendingPathComponent("data/real-logs")
        let script = Self.referenceScript
        let python = Self.python!
        let files = (FileManager.default.enumerator(atPath: logs.path)?.allObjects as? [String] ?? [])
            .filter { !$0.hasSuffix(".md") && !$0.hasSuffix(".json") && !$0.hasSuffix(".txt") }
            .map { logs.appendingPathComponent($0).path }
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
        #expect(files.count >= 6)
        for file in files.sorted() {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script.path, file]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let reference = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            expectSameContract(try runReport([file], workers: 2), reference, file)
        }
    }
}

@Suite struct AggregationPiecesTests {
    @Test func topKeysOrderByCountThenPrintedBytes() {
        let c = ByteKeyCounter(initialCapacity: 2)
        for (k, n) in [("b", 3), ("a", 3), ("c", 5), ("d", 1), ("é", 3)] { c.add(key: Array(k.utf8), count: n) }
        c.add(key: [0xFF], count: 3)  // prints as U+FFFD (EF BF BD), after "é" (C3 A9)
        for i in 0..<3000 { c.add(key: Array("k\(i)".utf8)) }  // force growth
        let top = c.top(6)
        #expect(top.map(\.key) == ["c", "a", "b", "é", "\u{FFFD}", "d"])
        #expect(c.count == 3006)
        let merged = ByteKeyCounter()
        merged.merge(c)
        merged.merge(c)
        #expect(merged.top(1) == [KeyCount(key: "c", count: 10)])
    }

    @Test func quarantineKeepsRejectedLinesWithLineNumbers() throws {
        let rejects = FileManager.default.temporaryDirectory.appendingPathComponent("rejects-\(getpid()).txt").path
        // The rejects file is appended to: one left by an earlier process with the same pid would count.
        unlink(rejects)
        defer { unlink(rejects) }
        let quarantine = try Quarantine(capacity: 3, rejectsPath: rejects, sourceNames: ["edge.log"])
        let pipeline = AccessPipeline(lines: try FileSource(paths: [samplePath("edge-cases.log")]), workers: 1, quarantine: quarantine)
        pipeline.engine.start()
        pipeline.engine.waitUntilFinished()
        #expect(quarantine.counts().values.reduce(0, +) == 9)
        #expect(quarantine.counts()[.badTime] == 3)
        #expect(quarantine.recent().count == 3)
        let lines = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 9)
        #expect(lines.contains { $0.hasPrefix("edge.log:15: bad_time: 10.0.0.3 - - [31/Feb/2024") })
        #expect(lines.contains { $0.hasPrefix("edge.log:24: bad_leading_fields: just garbage") })
    }
}
