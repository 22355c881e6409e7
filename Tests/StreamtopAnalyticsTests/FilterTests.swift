import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
@testable import StreamtopLogs

@Suite struct FilterExpressionTests {
    func matches(_ expr: String, _ line: String) throws -> Bool {
        let e = try FilterExpression.parse(expr)
        let bytes = Array(line.utf8)
        return try bytes.withUnsafeBufferPointer { b in
            guard case .record(let r) = CombinedLogParser.parse(b.baseAddress!, start: 0, count: b.count) else {
                throw FilterError(column: 0, message: "test line does not parse")
            }
            return e.matches(r, b.baseAddress!)
        }
    }

    let post = #"10.1.2.3 - - [01/Jan/2024:00:00:00 +0000] "POST /api/v1/cart?x=1 HTTP/1.1" 503 1234 "-" "ua""#
    let get = #"192.168.0.9 - - [01/Jan/2024:00:00:00 +0000] "GET /index.php HTTP/1.1" 200 - "-" "ua""#

    @Test func theIssueExamples() throws {
        #expect(try matches("status >= 500", post))
        #expect(try !matches("status >= 500", get))
        #expect(try matches(#"path ~ "^/api/" and method == "POST""#, post))
        #expect(try !matches(#"path ~ "^/api/" and method == "POST""#, get))
        #expect(try matches("client in 10.0.0.0/8", post))
        #expect(try !matches("client in 10.0.0.0/8", get))
        #expect(try matches(#"not path ~ "\.php$""#, post))
        #expect(try !matches(#"not path ~ "\.php$""#, get))
    }

    @Test func precedenceParenthesesAndNumbers() throws {
        #expect(try matches("status == 200 or status == 503 and size > 1000", post))
        #expect(try !matches("(status == 200 or status == 503) and size > 5000", post))
        #expect(try matches("size == 0 and method != POST", get))
        #expect(try matches("path ~ cart", post))
        #expect(try matches(#"path ~ "^/index.php$""#.replacingOccurrences(of: ".", with: "\\."), get))
    }

    @Test func mistakesPointAtTheColumn() {
        let cases: [(String, Int, String)] = [
            ("status >= ", 11, "expected a number after '>='"),
            ("colour == red", 1, "unknown field 'colour'"),
            ("status ~ 5", 8, "'~' does not compare numbers"),
            (#"path ~ "a.*""#, 8, "'~' takes ^prefix, suffix$"),
            ("client in 10.0.0/8", 11, "expected an IPv4 network"),
            ("status == 200 status == 300", 15, "unexpected 'status'"),
            ("(status == 200", 15, "expected ')'"),
        ]
        for (text, column, message) in cases {
            do {
                _ = try FilterExpression.parse(text)
                Issue.record("parsed: \(text)")
            } catch let e as FilterError {
                #expect(e.column == column && e.message.hasPrefix(message), "\(text): \(e)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func aFilteredRunEqualsABruteForceRecount() throws {
        let path = samplePath("elastic_apache_logs.log")
        let expr = try FilterExpression.parse(#"status >= 300 and not path ~ "^/favicon" or client in 66.249.0.0/16"#)
        // Brute force: parse every line on its own and test it.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let block = LineBlock(copying: [UInt8](data))
        var expected = 0
        var statuses: [String: Int] = [:]
        block.forEachLine { s, l, _ in
            if case .record(let r) = CombinedLogParser.parse(block.base, start: s, count: l), expr.matches(r, block.base) {
                expected += 1
                statuses[String(r.status), default: 0] += 1
            }
        }
        let quarantine = try Quarantine()
        let pipeline = AccessPipeline(lines: try FileSource(paths: [path], blockSize: 16 * 1024), workers: 2, quarantine: quarantine, filter: expr)
        pipeline.engine.start()
        let snap = pipeline.engine.waitUntilFinished()
        let summary = pipeline.aggregate.summary()
        #expect(summary.records == expected && expected > 0)
        #expect(summary.filtered == 10_000 - expected)
        #expect(summary.records + summary.malformed + summary.filtered == summary.lines)
        #expect(summary.status == statuses)
        #expect(snap.tasks.map(\.name) == ["source", "parse", "filter", "aggregate", "sink"])
    }
}

@Suite struct WindowTests {
    func run(_ path: String, workers: Int, seconds: Int64, lateness: Int64, speed: Double? = nil) throws -> ([WindowOperator.Result], AccessSummary, Int) {
        var results: [WindowOperator.Result] = []
        let lock = NSLock()
        let window = WindowOperator(seconds: seconds, lateness: lateness) { r in
            lock.lock()
            results.append(r)
            lock.unlock()
        }
        let files = try FileSource(paths: [path], blockSize: 8 * 1024)
        let lines: LineSource = speed.map { ReplayPacer(files, speed: $0) } ?? files
        let pipeline = AccessPipeline(lines: lines, workers: workers, quarantine: try Quarantine(), window: window)
        pipeline.engine.start()
        pipeline.engine.waitUntilFinished()
        window.finish()
        return (results, pipeline.aggregate.summary(), window.lateRecords)
    }

    @Test(arguments: [1, 2])
    func minuteWindowsEqualTheReportsPerMinuteCounts(workers: Int) throws {
        let (results, summary, late) = try run(samplePath("elastic_apache_logs.log"), workers: workers, seconds: 60, lateness: 86_400 * 10)
        #expect(late == 0)
        let counted = Dictionary(uniqueKeysWithValues: results.map { ($0.window_start, $0.count) })
        let perMinute = Dictionary(uniqueKeysWithValues: summary.perMinute.map { (LogTime.iso8601($0.minute), $0.count) })
        #expect(counted == perMinute)
        #expect(results.map(\.window_start) == results.map(\.window_start).sorted())
        #expect(results.allSatisfy { $0.unique_clients >= 1 && $0.unique_clients <= $0.count })
    }

    @Test func lateRecordsAreCountedNotDropped() throws {
        let (results, summary, late) = try run(samplePath("elastic_apache_logs.log"), workers: 2, seconds: 1, lateness: 0)
        let inWindows = results.reduce(0) { $0 + $1.count }
        #expect(late > 0)  // this log has out-of-order lines
        #expect(inWindows + late == summary.records)
        #expect(results.reduce(0) { $0 + $1.late_records } == late)
    }

    @Test func windowsDoNotDependOnReplaySpeed() throws {
        // 60 lines over a minute of log, paced at 100× (0.6 s), against max speed.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("window-\(getpid()).log").path
        let lines = (0..<120).map { i in
            #"10.0.0.\#(i % 7) - - [\#(LogTime.clf(1_704_067_200 + Int64(i / 2)).replacingOccurrences(of: " +0000", with: "")) +0000] "GET /p\#(i % 3) HTTP/1.1" \#(i % 5 == 0 ? 500 : 200) 1"#
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (fast, _, _) = try run(path, workers: 2, seconds: 10, lateness: 5)
        let (paced, _, _) = try run(path, workers: 2, seconds: 10, lateness: 5, speed: 100)
        #expect(fast == paced)
        #expect(fast.count == 6 && fast.allSatisfy { $0.count == 20 })
    }
}

@Suite struct WindowOrderTests {
    /// Parse and filter run on several workers and finish blocks out of order; the window task restores
    /// source order, so its results do not depend on the worker count.
    @Test func windowsAreIdenticalAcrossWorkerCounts() throws {
        let path = samplePath("elastic_apache_logs.log")
        func windows(_ workers: Int) throws -> [WindowOperator.Result] {
            var out: [WindowOperator.Result] = []
            let lock = NSLock()
            let w = WindowOperator(seconds: 10, lateness: 0) { r in lock.lock(); out.append(r); lock.unlock() }
            let p = AccessPipeline(lines: try FileSource(paths: [path], blockSize: 4096), workers: workers, quarantine: try Quarantine(),
                                   filter: try FilterExpression.parse("status < 400"), window: w)
            p.engine.start()
            p.engine.waitUntilFinished()
            w.finish()
            return out
        }
        let one = try windows(1)
        #expect(try windows(2) == one)
        #expect(try windows(4) == one)
        #expect(one.reduce(0) { $0 + $1.late_records } > 0)  // no lateness on this out-of-order log
    }
}

@Suite struct PipelineFileTests {
    @Test func examplesAreValid() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".toml") }
        #expect(files.count >= 2)
        for f in files {
            let p = try PipelineFile.parse(try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8), file: f)
            #expect(!p.tasks.isEmpty)
        }
    }

    @Test func mistakesNameTheirLine() {
        let cases: [(String, String)] = [
            ("workers = 0\n[source]\nfiles = [\"a\"]\n", "p.toml:1: workers must be a number from 1 to 256"),
            ("[source]\nfiles = [\"a\"]\nspeed = \"warp\"\n", "p.toml:3: speed must be 0.1 to 1000 or \"max\""),
            ("[source]\nfiles = [\"a\"]\n\n[[task]]\nname = \"f\"\noperator = \"sort\"\n", "p.toml:6: unknown operator 'sort' (filter, map, window, group, topk, distinct, sessions)"),
            ("[source]\nfiles = [\"a\"]\n\n[[task]]\nname = \"w\"\noperator = \"window\"\nevery = \"0s\"\n", "p.toml:7: every must be a duration of whole seconds"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"w\"\noperator = \"window\"\nevery = \"5m\"\nslide = \"2m\"\n", "p.toml:7: slide must divide every"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"t\"\noperator = \"topk\"\nfield = \"colour\"\n", "p.toml:6: unknown field 'colour' in field"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"t\"\noperator = \"topk\"\n", "p.toml:5: field = one of status"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"g\"\noperator = \"group\"\nby = \"path\"\npercentiles = [50, 200]\n", "p.toml:7: percentiles must be a list of numbers in (0, 100]"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"m\"\noperator = \"map\"\nclient_prefix = 40\n", "p.toml:6: client_prefix must be a whole number from 0 to 32"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"f\"\noperator = \"filter\"\nexpression = \"status >= 500\"\nresults = \"x.csv\"\n", "p.toml:7: a filter task has no results"),
            ("report_input = \"nowhere\"\n[source]\nfiles = [\"a\"]\n", "p.toml:1: report_input must name parse or a task of this file"),
            // A header with a comment after it is still a header (the fuzzer found this one crashing).
            ("[source]  # logs\nfiles = [\"a\"]\n[[task]]  # first\nname = \"t\"\noperator = \"topk\"\nfield = \"nope\"\n", "p.toml:6: unknown field 'nope'"),
            ("[source]\nfiles = [\"a\"]\ntask = [{ name = \"t\", operator = \"topk\", field = \"nope\" }]\n", "p.toml:"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"t\"\noperator = \"topk\"\nfield = \"path\"\ninput = \"later\"\n", "p.toml:7: input 'later' is not parse or a task defined above"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"s\"\noperator = \"sessions\"\ngap = \"soon\"\n", "p.toml:6: gap must be a duration"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"parse\"\noperator = \"filter\"\nexpression = \"status > 1\"\n", "p.toml:4: task name 'parse' is used twice"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"a b\"\noperator = \"filter\"\nexpression = \"status > 1\"\n", "p.toml:4: task name 'a b' must be one word"),
            ("[source]\nfiles = [\"a\"]\n[[task]]\nname = \"x\\ny\"\noperator = \"filter\"\nexpression = \"status > 1\"\n", "p.toml:4: task name 'x\\x0ay' must be one word"),
            ("[source]\nfiles = [\"a\"]\ncolour = 1\n", "p.toml:3: unknown key 'colour' in [source]"),
            ("[source\n", "p.toml:1: "),
            ("workers = 2\n", "p.toml: a [source] section is required"),
        ]
        for (text, message) in cases {
            do {
                _ = try PipelineFile.parse(text, file: "p.toml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(error)")
            }
        }
    }
}

@Suite struct DistinctCountTests {
    @Test func exactBelowTheLimitEstimatedWithinErrorAbove() {
        for n in [10, 4096, 20_000, 1_000_000] {
            var counter = DistinctCounter()
            var hll = HyperLogLog()
            for i in 0..<n {
                let h = hashOf(i)
                counter.add(h)
                if i % 3 == 0 { counter.add(h) }  // duplicates do not count
                hll.add(h)
            }
            let (value, estimated) = counter.count
            if n <= 4096 {
                #expect(value == n && !estimated)
            } else {
                #expect(estimated)
                // 5 standard errors (1.6% each) keeps this test from flaking while still catching a broken sketch.
                #expect(abs(Double(value) - Double(n)) / Double(n) < 0.08, "n \(n): \(value)")
            }
        }
        var a = HyperLogLog()
        var b = HyperLogLog()
        for i in 0..<50_000 {
            if i % 2 == 0 { a.add(hashOf(i)) } else { b.add(hashOf(i)) }
        }
        a.merge(b)
        #expect(abs(a.estimate - 50_000) / 50_000 < 0.08)
    }

    /// The hash streamtop uses for keys, of 8 bytes that differ for every i.
    func hashOf(_ i: Int) -> UInt64 {
        var v = UInt64(i).littleEndian
        return withUnsafeBytes(of: &v) { ByteKeyCounter.hash($0.bindMemory(to: UInt8.self).baseAddress!, 8) }
    }
}

@Suite struct SpaceSavingTests {
    func add(_ s: SpaceSaving, _ key: String) {
        let b = Array(key.utf8)
        b.withUnsafeBufferPointer { s.add($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, $0.count) }
    }

    @Test func exactWhileTheKeysFit() {
        let s = SpaceSaving(capacity: 10)
        let exact = ByteKeyCounter()
        var rng = SplitMix64(seed: 11)
        for _ in 0..<5000 {
            let k = "/p\(rng.next() % 10)"
            add(s, k)
            exact.add(key: Array(k.utf8))
        }
        let (items, estimated) = s.top(10)
        #expect(!estimated)
        #expect(items == exact.top(10))
    }

    @Test func everyTrackedCountStaysWithinItsErrorBoundUnderChurn() {
        // Many evictions exercise the table's deletions: no key may be lost or tracked twice.
        let s = SpaceSaving(capacity: 64)
        var truth: [String: Int] = [:]
        var rng = SplitMix64(seed: 13)
        for _ in 0..<200_000 {
            let r = Int(rng.next() % 1000)
            let k = "/k\(r * r / 1000)"  // skewed towards small numbers
            add(s, k)
            truth[k, default: 0] += 1
        }
        let all = s.topWithErrors(64)
        #expect(all.count == 64 && Set(all.map(\.key)).count == 64)
        #expect(all.reduce(0) { $0 + $1.count } == 200_000)
        for item in all { #expect(item.count - item.error <= truth[item.key]! && truth[item.key]! <= item.count, "\(item)") }
        // Counting a tracked key again finds it (one more, not a new entry).
        let before = s.topWithErrors(1)[0]
        add(s, before.key)
        #expect(s.topWithErrors(1)[0].count == before.count + 1)
    }

    @Test func heavyHittersSurviveAndCountsAreBounded() {
        let s = SpaceSaving(capacity: 50)
        var truth: [String: Int] = [:]
        var rng = SplitMix64(seed: 12)
        for i in 0..<100_000 {
            // Three heavy keys (about 20%, 10%, 5%) in a long tail of 20,000 keys.
            let r = rng.next() % 100
            let k = r < 20 ? "/heavy" : r < 30 ? "/warm" : r < 35 ? "/mild" : "/tail\(i % 20_000)"
            add(s, k)
            truth[k, default: 0] += 1
        }
        let (items, estimated) = s.top(3)
        #expect(estimated)
        #expect(items.map(\.key) == ["/heavy", "/warm", "/mild"])
        for item in items {
            let t = truth[item.key]!
            #expect(item.count >= t && item.count - t <= 100_000 / 50, "\(item.key): \(item.count) vs \(t)")
        }
    }
}

@Suite struct GroupTests {
    @Test(arguments: [1, 2])
    func groupsAgreeWithTheReport(workers: Int) throws {
        let path = samplePath("elastic_apache_logs.log")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("groups-\(getpid())-\(workers).json").path
        let byStatus = GroupOperator(name: "by-status", spec: GroupOperator.Spec(by: [.status]))
        var top3 = GroupOperator.Spec(by: [.statusClass])
        top3.limit = 3
        let byClass = GroupOperator(name: "by-class", spec: top3, sink: try ResultSink(task: "by-class", results: nil, snapshot: out))
        let p = AccessPipeline(
            lines: try FileSource(paths: [path], blockSize: 8192), workers: workers, quarantine: try Quarantine(),
            middle: [TaskSpec(name: "by-status", op: byStatus), TaskSpec(name: "by-class", op: byClass)])
        p.engine.start()
        p.engine.waitUntilFinished()
        p.analytics.forEach { $0.finish() }
        let summary = p.aggregate.summary()
        let groups = byStatus.latestRows()
        func int(_ v: ResultValue?) -> Int { if case .int(let n) = v { return Int(n) } else { return -1 } }
        func text(_ v: ResultValue?) -> String { if case .string(let s) = v { return s } else { return "" } }
        #expect(Dictionary(uniqueKeysWithValues: groups.map { (text($0["status"]), int($0["count"])) }) == summary.status)
        #expect(groups.reduce(0) { $0 + int($1["bytes_sum"]) } == summary.bytes)
        // The snapshot is one JSON document, the three largest classes.
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        #expect(doc["task"] as? String == "by-class" && doc["complete"] as? Bool == true)
        #expect((doc["rows"] as! [[String: Any]]).map { $0["status_class"] as! String } == ["2xx", "3xx", "4xx"])
    }

    /// A key longer than the group's first key buffer (a path, then user agents of 200 to 3,000 bytes) is
    /// kept whole: agents that differ only in their last byte are different groups.
    @Test func groupsByLongKeysKeepEveryByte() throws {
        var log = ""
        var expected: [String: Int] = [:]
        for i in 0..<300 {
            let agent = String(repeating: "Mozilla/5.0 ", count: 17 + (i % 5) * 50) + "v\(i % 7)"
            let path = "/p\(i % 3)"
            log += "10.0.0.\(i % 9) - - [10/Oct/2023:13:55:\(10 + i % 40) +0000] \"GET \(path) HTTP/1.1\" 200 5 \"-\" \"\(agent)\"\n"
            expected["\(agent)|\(path)", default: 0] += 1
        }
        let file = NSTemporaryDirectory() + "group-long-keys-\(getpid()).log"
        try log.write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        let g = GroupOperator(spec: GroupOperator.Spec(by: [.path, .ua]))
        let p = AccessPipeline(lines: try FileSource(paths: [file]), workers: 2, quarantine: try Quarantine(), middle: [TaskSpec(name: "g", op: g)])
        p.engine.start()
        p.engine.waitUntilFinished()
        g.finish()
        var got: [String: Int] = [:]
        for row in g.latestRows() {
            guard case .string(let ua)? = row["ua"], case .string(let path)? = row["path"], case .int(let n)? = row["count"] else { continue }
            got["\(ua)|\(path)"] = Int(n)
        }
        #expect(expected.count == 105)
        #expect(got == expected)
    }

    @Test func groupsBeyondTheCapGoToOther() throws {
        var spec = GroupOperator.Spec(by: [.client])
        spec.maxGroups = 10
        let g = GroupOperator(spec: spec)
        let p = AccessPipeline(lines: try FileSource(paths: [samplePath("elastic_apache_logs.log")]), workers: 2, quarantine: try Quarantine(), middle: [TaskSpec(name: "g", op: g)])
        p.engine.start()
        p.engine.waitUntilFinished()
        g.finish()
        let rows = g.latestRows()
        #expect(rows.count == 11)
        #expect(rows.last?["client"] == .string("(other)"))
        #expect(rows.allSatisfy { $0["groups_capped"] == .bool(true) })
        let total = rows.reduce(0) { if case .int(let n)? = $1["count"] { return $0 + Int(n) } else { return $0 } }
        #expect(total == p.aggregate.summary().records)
    }
}
