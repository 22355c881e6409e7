import Foundation
import Testing
@testable import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// One record as plain values, parsed line by line outside the engine: the brute-force side.
struct PlainRecord {
    var client: String
    var path: String
    var endpoint: String
    var network: String
    var ua: String
    var hasUA: Bool
    var status: Int
    var size: Int64
    var time: Int64
    var user: String { client + " " + ua }
}

func plainRecords(_ path: String) throws -> [PlainRecord] {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var out: [PlainRecord] = []
    data.withUnsafeBufferPointer { buf in
        let base = buf.baseAddress!
        LineBlock.forEachLine(UnsafeRawBufferPointer(buf)) { start, length, _ in
            guard case .record(let r) = CombinedLogParser.parse(base, start: start, count: length) else { return }
            func text(_ field: RecordField) -> String { field.withKey(r, base) { String(decoding: UnsafeBufferPointer(start: $0, count: $1), as: UTF8.self) } }
            out.append(PlainRecord(
                client: text(.client), path: text(.path), endpoint: text(.endpoint), network: text(.network), ua: text(.ua), hasUA: r.hasUserAgent,
                status: Int(r.status), size: r.size, time: r.time))
        }
    }
    return out
}

/// Runs a pipeline file's tasks over `files` and returns each task's rows (from its NDJSON results).
func runTasks(_ toml: String, files: [String], workers: Int = 2, speed: Double? = nil, during: ((AccessPipeline) -> Void)? = nil) throws -> [String: [[String: Any]]] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasks-\(getpid())-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Tasks name a placeholder results file; each gets its own (a pipeline refuses two tasks on one file).
    let parts = toml.components(separatedBy: "results = \"x.ndjson\"")
    let unique = parts.enumerated().map { $0.offset == 0 ? $0.element : "results = \"x\($0.offset).ndjson\"" + $0.element }.joined()
    var file = try PipelineFile.parse("[source]\nfiles = [\"x\"]\n" + unique, file: "test.toml")
    for i in file.tasks.indices where file.tasks[i].results != nil || file.tasks[i].snapshot != nil {
        file.tasks[i].results = "\(dir)/\(file.tasks[i].name).ndjson"
        file.tasks[i].snapshot = nil
    }
    let middle = try file.tasks.map { try $0.makeSpec(queueCapacity: 8) }
    let source = try FileSource(paths: files, blockSize: 16 * 1024)
    let lines: LineSource = speed.map { ReplayPacer(source, speed: $0) } ?? source
    let pipeline = AccessPipeline(lines: lines, workers: workers, quarantine: try Quarantine(), middle: middle)
    pipeline.engine.start()
    during?(pipeline)
    pipeline.engine.waitUntilFinished()
    pipeline.analytics.forEach { $0.finish() }
    var out: [String: [[String: Any]]] = [:]
    for t in file.tasks where t.results != nil {
        let text = try String(contentsOfFile: t.results!, encoding: .utf8)
        out[t.name] = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }
    return out
}

/// The real logs in ../shared (when present) and the bundled sample.
func recountLogs() -> [String] {
    let logs = sharedDirectory.appendingPathComponent("data/real-logs")
    let shared = (FileManager.default.enumerator(atPath: logs.path)?.allObjects as? [String] ?? [])
        .filter { !$0.hasSuffix(".md") && !$0.hasSuffix(".json") && !$0.hasSuffix(".txt") }
        .map { logs.appendingPathComponent($0).path }
        .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
    if shared.isEmpty { print("../shared is absent: recounting the bundled sample only") }
    return [samplePath("elastic_apache_logs.log")] + shared.sorted()
}

func iso(_ t: Int64) -> String { LogTime.iso8601(t) }
func floorTo(_ t: Int64, _ step: Int64) -> Int64 { t - ((t % step) + step) % step }

/// The k most frequent keys, count descending then key ascending (as the operators order them).
func topCounts(_ counts: [String: Int], _ k: Int) -> [(String, Int)] {
    counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(k).map { ($0.key, $0.value) }
}

@Suite(.serialized) struct AnalyticsRecountTests {
    /// Lateness larger than any disorder in these logs: every record counts, so windows can be recounted
    /// by plain grouping.
    static let noLateness = "lateness = \"3650d\"\n"

    @Test(arguments: recountLogs())
    func windowsTopKDistinctAndVisitsEqualABruteForceRecount(path: String) throws {
        let records = try plainRecords(path)
        #expect(records.count > 500)
        let name = (path as NSString).lastPathComponent
        let toml = """
            [[task]]
            name = "minutes"
            operator = "window"
            every = "1m"
            \(Self.noLateness)
            [[task]]
            name = "endpoints"
            operator = "topk"
            field = "endpoint"
            k = 10
            capacity = 1000000
            results = "x.ndjson"
            [[task]]
            name = "hourly-paths"
            operator = "topk"
            field = "path"
            k = 5
            capacity = 50
            every = "1h"
            \(Self.noLateness)
            [[task]]
            name = "clients"
            operator = "distinct"
            field = "client"
            exact_limit = 10000000
            results = "x.ndjson"
            [[task]]
            name = "clients-hll"
            operator = "distinct"
            field = "client"
            exact_limit = 0
            results = "x.ndjson"
            [[task]]
            name = "networks-sliding"
            operator = "distinct"
            field = "network"
            every = "5m"
            slide = "1m"
            \(Self.noLateness)
            [[task]]
            name = "paths-sliding"
            operator = "topk"
            field = "path"
            k = 5
            capacity = 1000000
            every = "5m"
            slide = "1m"
            \(Self.noLateness)
            [[task]]
            name = "classes-sliding"
            operator = "group"
            by = "status_class"
            every = "10m"
            slide = "2m"
            \(Self.noLateness)
            [[task]]
            name = "visits"
            operator = "sessions"
            gap = "30m"
            every = "5m"
            \(Self.noLateness)
            [[task]]
            name = "by-class"
            operator = "group"
            by = "status_class"
            percentiles = [50, 99]
            results = "x.ndjson"
            """
        let rows = try runTasks(toml, files: [path])

        // Tumbling minutes: count, distinct clients, top paths.
        var minutes: [Int64: [PlainRecord]] = [:]
        for r in records { minutes[floorTo(r.time, 60), default: []].append(r) }
        let windows = rows["minutes"]!
        let minutesByName = Dictionary(uniqueKeysWithValues: minutes.map { (iso($0.key), $0.value) })
        #expect(windows.map { $0["window_start"] as! String } == minutes.keys.sorted().map(iso), "\(name)")
        for w in windows {
            let start = w["window_start"] as! String
            let rs = minutesByName[start]!
            #expect(w["count"] as! Int == rs.count)
            #expect(w["unique_clients"] as! Int == Set(rs.map(\.client)).count)
            var paths: [String: Int] = [:]
            for r in rs where r.path != "-" { paths[r.path, default: 0] += 1 }
            let top = (w["top_paths"] as! [[String: Any]]).map { ($0["key"] as! String, $0["count"] as! Int) }
            #expect(w["top_paths_estimated"] as! Bool == (paths.count > 1000))
            if paths.count <= 1000 { #expect(top.map(\.0) == topCounts(paths, 5).map(\.0) && top.map(\.1) == topCounts(paths, 5).map(\.1), "\(name) \(start)") }
        }

        // Top-K over the whole input, exact (capacity above the distinct count).
        var endpoints: [String: Int] = [:]
        for r in records { endpoints[r.endpoint, default: 0] += 1 }
        let topK = rows["endpoints"]![0]
        #expect(topK["estimated"] as! Bool == false)
        let listed = (topK["top"] as! [[String: Any]]).map { ($0["key"] as! String, $0["count"] as! Int) }
        #expect(listed.map(\.0) == topCounts(endpoints, 10).map(\.0), "\(name)")
        #expect(listed.map(\.1) == topCounts(endpoints, 10).map(\.1), "\(name)")

        // Top-K with 50 slots per hour: exact when an hour has ≤ 50 paths, else bounded counts.
        var hours: [Int64: [String: Int]] = [:]
        for r in records { hours[floorTo(r.time, 3600), default: [:]][r.path, default: 0] += 1 }
        let hoursByName = Dictionary(uniqueKeysWithValues: hours.map { (iso($0.key), $0.value) })
        for h in rows["hourly-paths"]! {
            let truth = hoursByName[h["window_start"] as! String]!
            let items = h["top"] as! [[String: Any]]
            let estimated = h["estimated"] as! Bool
            #expect(estimated == (truth.count > 50))
            let total = truth.values.reduce(0, +)
            for item in items {
                let count = item["count"] as! Int, error = item["error"] as? Int ?? 0
                let actual = truth[item["key"] as! String] ?? 0
                #expect(actual <= count && actual >= count - error, "\(name): \(item)")
            }
            if !estimated {
                #expect(items.map { $0["key"] as! String } == topCounts(truth, 5).map(\.0))
            } else if let best = topCounts(truth, 1).first, best.1 > total / 50 {
                // Heavy hitters (more than N/capacity) are always tracked; the heaviest is listed.
                #expect(items.contains { $0["key"] as! String == best.0 }, "\(name): \(best)")
            }
        }

        // Distinct clients: exact, and HyperLogLog within 4 standard errors (6.4%).
        let clients = Set(records.map(\.client)).count
        #expect(rows["clients"]![0]["distinct"] as! Int == clients)
        #expect(rows["clients"]![0]["estimated"] as! Bool == false)
        let estimate = rows["clients-hll"]![0]["distinct"] as! Int
        #expect(rows["clients-hll"]![0]["estimated"] as! Bool)
        #expect(abs(Double(estimate - clients)) <= 0.064 * Double(clients) + 1, "\(name): \(estimate) vs \(clients)")

        // Sliding 5-minute windows every minute: each record in five windows.
        var sliding: [Int64: Set<String>] = [:]
        for r in records {
            for j in 0..<5 { sliding[floorTo(r.time, 60) - Int64(j) * 60, default: []].insert(r.network) }
        }
        let slid = rows["networks-sliding"]!
        #expect(slid.map { $0["window_start"] as! String } == sliding.keys.sorted().map(iso))
        let slidingByName = Dictionary(uniqueKeysWithValues: sliding.map { (iso($0.key), $0.value) })
        for w in slid {
            #expect(w["distinct"] as! Int == slidingByName[w["window_start"] as! String]!.count)
        }

        // Sliding top-K (merged from 1-minute panes) and sliding groups (10m every 2m): exact.
        var slidingPaths: [String: [String: Int]] = [:]
        var slidingClasses: [String: [String: Int]] = [:]
        for r in records {
            for j in 0..<5 { slidingPaths[iso(floorTo(r.time, 60) - Int64(j) * 60), default: [:]][r.path, default: 0] += 1 }
            for j in 0..<5 { slidingClasses[iso(floorTo(r.time, 120) - Int64(j) * 120), default: [:]]["\(r.status / 100)xx", default: 0] += 1 }
        }
        let topRows = rows["paths-sliding"]!
        #expect(topRows.map { $0["window_start"] as! String } == slidingPaths.keys.sorted(), "\(name)")
        for w in topRows {
            let truth = topCounts(slidingPaths[w["window_start"] as! String]!, 5)
            let items = (w["top"] as! [[String: Any]]).map { ($0["key"] as! String, $0["count"] as! Int) }
            #expect(w["estimated"] as! Bool == false)
            #expect(items.map(\.0) == truth.map(\.0) && items.map(\.1) == truth.map(\.1), "\(name) \(w["window_start"]!)")
        }
        var groupRows: [String: [String: Int]] = [:]
        for g in rows["classes-sliding"]! { groupRows[g["window_start"] as! String, default: [:]][g["status_class"] as! String] = g["count"] as? Int }
        #expect(groupRows == slidingClasses, "\(name)")

        // Visits: a new visit after 30 minutes without a request from the same client and agent.
        var last: [String: Int64] = [:]
        var perWindow: [Int64: (requests: Int, visits: Int, users: Set<String>)] = [:]
        for r in records {
            let u = r.user
            let isNew = last[u].map { !(r.time - $0 <= 1800 && $0 - r.time <= 1800) } ?? true
            last[u] = max(last[u] ?? r.time, r.time)
            let w = floorTo(r.time, 300)
            var e = perWindow[w] ?? (0, 0, [])
            e.requests += 1
            if isNew { e.visits += 1 }
            e.users.insert(u)
            perWindow[w] = e
        }
        let visits = rows["visits"]!
        #expect(visits.map { $0["window_start"] as! String } == perWindow.keys.sorted().map(iso))
        let visitsByName = Dictionary(uniqueKeysWithValues: perWindow.map { (iso($0.key), $0.value) })
        for v in visits {
            let e = visitsByName[v["window_start"] as! String]!
            #expect(v["requests"] as! Int == e.requests)
            #expect(v["visits"] as! Int == e.visits, "\(name) \(v)")
            #expect(v["users"] as! Int == e.users.count)
        }
        #expect(visits.reduce(0) { $0 + ($1["visits"] as! Int) } == perWindow.values.reduce(0) { $0 + $1.visits })

        // Group by status class: count, bytes sum/min/max exact; percentiles within 1%.
        var classes: [String: [Int64]] = [:]
        for r in records { classes["\(r.status / 100)xx", default: []].append(r.size) }
        let groups = rows["by-class"]!
        #expect(Set(groups.map { $0["status_class"] as! String }) == Set(classes.keys))
        for g in groups {
            let sizes = classes[g["status_class"] as! String]!.sorted()
            #expect(g["count"] as! Int == sizes.count)
            #expect((g["bytes_sum"] as! NSNumber).int64Value == sizes.reduce(0, +))
            #expect((g["bytes_min"] as! NSNumber).int64Value == sizes.first!)
            #expect((g["bytes_max"] as! NSNumber).int64Value == sizes.last!)
            for p in [50.0, 99.0] {
                let exact = sizes[max(0, Int((p / 100 * Double(sizes.count)).rounded(.up)) - 1)]
                let got = (g["bytes_p\(Int(p))"] as! NSNumber).int64Value
                #expect(abs(Double(got - exact)) <= max(1, Double(exact) * 0.01), "\(name) p\(p): \(got) vs \(exact)")
            }
        }
    }
}

@Suite struct AnalyticsDeterminismTests {
    /// 3,000 lines over 90 s of event time, up to 5 s out of order, so a 3 s lateness makes some late.
    static func writeLog() -> String {
        var seed: UInt64 = 42
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        let agents = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.4.0", "Mozilla/5.0 (iPhone) Safari/604.1"]
        let lines = (0..<3000).map { i -> String in
            let t = 1_704_067_200 + Int64(i * 90 / 3000) - Int64(next(6))
            let path = ["/", "/api/v1/users/\(next(50))", "/products/\(next(9))/reviews", "/static/app.js", "/search"][next(5)]
            let status = [200, 200, 200, 304, 404, 500][next(6)]
            return #"10.0.\#(next(4)).\#(next(30)) - - [\#(LogTime.clf(t))] "GET \#(path) HTTP/1.1" \#(status) \#(next(5000)) "-" "\#(agents[next(4)])""#
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("determinism-\(getpid())-\(UUID().uuidString).log").path
        try! lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let toml = """
        [[task]]
        name = "enrich"
        operator = "map"
        normalize_paths = true
        client_prefix = 24
        mark_bots = true
        [[task]]
        name = "w"
        operator = "window"
        every = "10s"
        slide = "5s"
        lateness = "3s"
        [[task]]
        name = "top"
        operator = "topk"
        field = "path"
        k = 3
        capacity = 4
        every = "20s"
        lateness = "3s"
        [[task]]
        name = "humans"
        operator = "filter"
        expression = "not bot"
        [[task]]
        name = "visits"
        operator = "sessions"
        user = "user"
        gap = "20s"
        every = "10s"
        lateness = "3s"
        [[task]]
        name = "distinct"
        operator = "distinct"
        field = "user"
        every = "30s"
        lateness = "3s"
        [[task]]
        name = "groups"
        operator = "group"
        by = ["path", "status_class"]
        percentiles = [90]
        every = "30s"
        lateness = "3s"
        """

    func canonical(_ rows: [String: [[String: Any]]]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The pipeline with every stateful task split into 4 partitions, run by up to 4 workers each.
    static let partitioned = toml.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        let stateful = ["window", "topk", "sessions", "distinct", "group"].contains { line.hasSuffix("operator = \"\($0)\"") }
        return stateful ? line + "\nworkers = 4" : String(line)
    }.joined(separator: "\n")

    @Test(arguments: [1, 4])
    func resultsAreIdenticalAcrossWorkersSpeedsAndPauses(partitions: Int) throws {
        let log = Self.writeLog()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let toml = partitions == 1 ? Self.toml : Self.partitioned
        let one = try runTasks(toml, files: [log], workers: 1)
        let reference = try canonical(one)
        // The map task rewrote paths and clients for everything after it; the filter dropped the bots.
        let firstTop = (one["top"]![0]["top"] as! [[String: Any]]).map { $0["key"] as! String }
        #expect(firstTop.contains { $0.contains(":id") })
        #expect(one["distinct"]!.allSatisfy { ($0["distinct"] as! Int) <= 4 * 3 })  // 4 networks × 3 human-or-curl agents… at most
        #expect(one["w"]!.reduce(0) { $0 + ($1["late_records"] as! Int) } > 0)
        #expect(one["top"]!.contains { $0["estimated"] as! Bool })
        for workers in [2, 4] {
            #expect(try canonical(try runTasks(toml, files: [log], workers: workers)) == reference, "workers \(workers)")
        }
        // Paced replay (30×: 3 s) gives the same windows as max speed.
        let paced = try runTasks(toml, files: [log], workers: 2, speed: 30)
        for task in one.keys.sorted() where try canonical([task: paced[task]!]) != canonical([task: one[task]!]) {
            Issue.record("paced: \(task) differs: \(try canonical([task: paced[task]!]).prefix(600)) vs \(try canonical([task: one[task]!]).prefix(600))")
        }
        // Pauses, reallocations and policy switches mid-run change nothing.
        let paused = try runTasks(toml, files: [log], workers: 2, speed: 60) { p in
            let e = p.engine
            usleep(300_000)
            e.send(.pause(e.taskID(named: "visits")!))
            e.send(.setPolicy(.fairShare))
            e.send(.setWorkers(e.taskID(named: "enrich")!, 1))
            usleep(400_000)
            e.send(.adjustPriority(e.taskID(named: "w")!, 2))
            e.send(.resume(e.taskID(named: "visits")!))
            e.send(.pause(e.taskID(named: "parse")!))
            usleep(200_000)
            e.send(.setPolicy(.adaptive))
            e.send(.resume(e.taskID(named: "parse")!))
        }
        #expect(try canonical(paused) == reference, "paused")
    }

    /// Partitions change where keys are counted, not what is counted: every result that is exact (no
    /// sketch evicted anything) is the same as with one partition — windows, late records, visits, distinct
    /// users and group percentiles included.
    @Test func partitionedResultsEqualUnpartitionedWhereExact() throws {
        let log = Self.writeLog()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let single = try runTasks(Self.toml, files: [log], workers: 2)
        let split = try runTasks(Self.partitioned, files: [log], workers: 2)
        for task in ["w", "visits", "distinct", "groups"] {
            #expect(!single[task]!.isEmpty)
            #expect(try canonical([task: split[task]!]) == canonical([task: single[task]!]), "\(task)")
        }
        // The top-K task tracks 4 values per partition, so its estimates differ, but each window saw the
        // same records.
        #expect(split["top"]!.map { $0["records"] as! Int } == single["top"]!.map { $0["records"] as! Int })
    }
}

/// Unions in pipeline files: an analytics task may read several tasks. Each source block's shares are
/// merged by event time before the task's state sees them, so windows after a union count what a
/// brute-force recount of both inputs counts (a record that passed both inputs twice, as a stream union
/// keeps it), nothing late, and results do not depend on the workers. Also the pipeline-file bounds on
/// partitions and panes, and where mistakes are reported.
@Suite struct UnionPipelineTests {
    func parse(_ tasks: String) throws -> PipelineFile {
        try PipelineFile.parse("[source]\nfiles = [\"x\"]\n" + tasks, file: "u.toml")
    }

    static let inputs = """
        [[task]]
        name = "errors"
        operator = "filter"
        expression = "status >= 400"
        [[task]]
        name = "api"
        operator = "filter"
        input = "parse"
        expression = "path ~ \\"^/presentations/\\""

        """

    @Test(arguments: [1, 2, 4])
    func windowsAfterAUnionEqualABruteForceRecountOfBothInputs(workers: Int) throws {
        let log = samplePath("elastic_apache_logs.log")
        let toml = Self.inputs + """
            [[task]]
            name = "both"
            operator = "group"
            input = ["errors", "api"]
            by = "status_class"
            every = "10m"
            lateness = "60s"
            partitions = 2
            results = "x.ndjson"
            """
        let rows = try #require(try runTasks(toml, files: [log], workers: workers)["both"])
        // By hand: every record of either input, counted once per input it passed.
        var expected: [String: Int] = [:]
        for r in try plainRecords(log) {
            let times = (r.status >= 400 ? 1 : 0) + (r.path.hasPrefix("/presentations/") ? 1 : 0)
            guard times > 0 else { continue }
            expected["\(iso(floorTo(r.time, 600))) \(r.status / 100)xx", default: 0] += times
        }
        var got: [String: Int] = [:]
        for row in rows { got["\(row["window_start"] as! String) \(row["status_class"] as! String)"] = row["count"] as? Int }
        #expect(got == expected)
        // The log's lines are out of order by up to 59 s: after a union, as after one input, a lateness of
        // 60 s loses nothing.
        #expect(rows.allSatisfy { ($0["late_records"] as? Int) == 0 }, "merged in source order, nothing is late at lateness 60 s")
    }

    /// A union of a filter and a map (which rewrote a copy of the lines: its clients are networks):
    /// the shares point into two buffers, joined into one, each record reading its own input's bytes.
    @Test func aUnionOfRewrittenAndPlainRecordsKeepsEachInputsFields() throws {
        let log = samplePath("elastic_apache_logs.log")
        let toml = """
            [[task]]
            name = "errors"
            operator = "filter"
            expression = "status >= 400"
            [[task]]
            name = "nets"
            operator = "map"
            input = "parse"
            client_prefix = 16
            [[task]]
            name = "both"
            operator = "group"
            input = ["errors", "nets"]
            by = "client"
            every = "1h"
            limit = 100000
            results = "x.ndjson"
            """
        let rows = try #require(try runTasks(toml, files: [log], workers: 2)["both"])
        var expected: [String: Int] = [:]
        for r in try plainRecords(log) {
            let hour = iso(floorTo(r.time, 3600))
            if r.status >= 400 { expected["\(hour) \(r.client)", default: 0] += 1 }
            let octets = r.client.split(separator: ".")
            let net = octets.count == 4 ? "\(octets[0]).\(octets[1]).0.0/16" : r.client
            expected["\(hour) \(net)", default: 0] += 1
        }
        var got: [String: Int] = [:]
        for row in rows { got["\(row["window_start"] as! String) \(row["client"] as! String)"] = row["count"] as? Int }
        #expect(got.count == expected.count)
        #expect(got == expected)
    }

    @Test func aUnionIsCheckedAndDrawnUnderItsFirstInput() throws {
        let file = try parse(Self.inputs + "[[task]]\nname = \"u\"\noperator = \"topk\"\nfield = \"path\"\ninput = [\"errors\", \"api\"]\n")
        #expect(file.tasks.last?.inputs == ["errors", "api"])
        #expect(PipelineGraph.lines(file).contains { $0.contains("topk \"u\" ∪ api") }, "\(PipelineGraph.lines(file))")
        let union = "[[task]]\nname = \"u\"\noperator = \"topk\"\nfield = \"path\"\ninput = [\"errors\", \"api\"]\n"
        for (tail, message) in [
            ("[[task]]\nname = \"f\"\noperator = \"filter\"\nexpression = \"bot\"\ninput = [\"errors\", \"api\"]\n", "a filter task reads one input"),
            ("[[task]]\nname = \"t\"\noperator = \"topk\"\nfield = \"path\"\ninput = [\"errors\", \"errors\"]\n", "input lists 'errors' twice"),
            ("[[task]]\nname = \"t\"\noperator = \"topk\"\nfield = \"path\"\ninput = [\"errors\", \"APi\"]\n", "did you mean 'api'"),
            (union + "[[task]]\nname = \"after\"\noperator = \"topk\"\nfield = \"client\"\ninput = \"u\"\n", "input 'u' is a union"),
            ("[[task]]\nname = \"t\"\noperator = \"topk\"\nfield = \"path\"\ninput = [\"errors\", \"nope\"]\n", "input 'nope' is not parse or a task defined above"),
            ("[[task]]\nname = \"t\"\noperator = \"topk\"\nfield = \"path\"\ninput = 3\n", "input must name a task"),
        ] {
            do {
                _ = try parse(Self.inputs + tail)
                Issue.record("accepted: \(tail)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        // The report reading a union would count each line once per input.
        #expect(throws: PipelineFile.Mistake.self) { try PipelineFile.parse("report_input = \"u\"\n[source]\nfiles = [\"x\"]\n" + Self.inputs + union, file: "u.toml") }
        do {
            _ = try PipelineFile.parse("report_input = \"u\"\n[source]\nfiles = [\"x\"]\n" + Self.inputs + union, file: "u.toml")
        } catch {
            #expect("\(error)".contains("report_input cannot be u, a union"), "\(error)")
        }
    }

    /// A mistake is reported on its key's line however the key is written (quoted keys are keys too).
    @Test func aQuotedOrIndentedKeyIsReportedOnItsOwnLine() {
        for key in ["\"partitions\" = 0", "  partitions = 0", "'partitions'=0"] {
            do {
                _ = try parse("[[task]]\nname = \"t\"\noperator = \"distinct\"\nfield = \"client\"\n" + key + "\n")
                Issue.record("accepted \(key)")
            } catch {
                #expect("\(error)".hasPrefix("u.toml:7:"), "\(key): \(error)")
            }
        }
    }

    @Test func partitionsFromWorkersKeepTheLimitAndSlidesTheirPaneCount() {
        let cases = [
            ("operator = \"distinct\"\nfield = \"client\"\nworkers = 65", "at most 64"),
            ("operator = \"window\"\nevery = \"1h\"\nslide = \"10s\"", "every / slide is 360"),
        ]
        for (body, message) in cases {
            do {
                _ = try parse("[[task]]\nname = \"t\"\n" + body + "\n")
                Issue.record("accepted \(body)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}

/// Visits do not depend on where blocks are cut: a user is forgotten only once no record still on time
/// could continue their visit (the first version forgot users one window too early, at block ends, so a
/// block boundary could split one visit into two).
@Suite struct VisitExpiryTests {
    @Test func aVisitIsNotSplitByABlockBoundaryBeforeARecordThatContinuesIt() throws {
        // gap 60 s, 60 s windows, lateness 120 s. A at 1100; B at 1300 moves the watermark to 1180; A at
        // 1150 is on time (its window ends at 1200) and 50 s after A's last request: the same visit.
        func line(_ client: String, _ t: Int64) -> String {
            #"\#(client) - - [\#(LogTime.clf(1_704_067_200 + t))] "GET / HTTP/1.1" 200 1 "-" "agent""#
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("visits-\(UUID().uuidString).log").path
        try ([line("10.0.0.1", 1100), line("10.0.0.2", 1300), line("10.0.0.1", 1150)].joined(separator: "\n") + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var spec = SessionOperator.Spec()
        spec.gap = 60
        spec.every = 60
        spec.lateness = 120
        for blockSize in [80, 1 << 20] {  // one line per block, or all in one
            let visits = SessionOperator(name: "visits", spec: spec)
            let p = AccessPipeline(lines: try FileSource(paths: [path], blockSize: blockSize), workers: 1, quarantine: try Quarantine(),
                                   middle: [TaskSpec(name: "visits", op: visits, queueCapacity: 4)])
            p.engine.start()
            p.engine.waitUntilFinished()
            #expect(visits.visits == 2, "block size \(blockSize)")
        }
    }
}

@Suite struct EnrichmentTests {
    func count(_ expression: String, _ path: String) throws -> Int {
        let p = AccessPipeline(
            lines: try FileSource(paths: [path]), workers: 2, quarantine: try Quarantine(),
            filter: try FilterExpression.parse(expression))
        p.engine.start()
        p.engine.waitUntilFinished()
        return p.aggregate.summary().records
    }

    @Test func derivedFieldsFilterLikeABruteForceRecount() throws {
        let path = samplePath("elastic_apache_logs.log")
        let records = try plainRecords(path)
        let cases: [(String, (PlainRecord) -> Bool)] = [
            (#"not ua ~ "bot""#, { !$0.ua.contains("bot") }),
            ("bot", { r in r.hasUA && (BotDetector.markers.contains { r.ua.lowercased().contains($0) } || r.ua == "-" || r.ua.isEmpty) }),
            (#"status_class == "4xx""#, { $0.status / 100 == 4 }),
            (#"endpoint ~ ":id""#, { $0.endpoint.contains(":id") }),
            (#"network == "66.249.73.0/24""#, { $0.client.hasPrefix("66.249.73.") }),
            (#"user ~ "Googlebot""#, { $0.ua.contains("Googlebot") }),
        ]
        for (expression, predicate) in cases {
            let expected = records.filter(predicate).count
            #expect(expected > 0, "\(expression)")
            #expect(try count(expression, path) == expected, "\(expression)")
        }
        #expect(records.filter { $0.ua.contains("Googlebot") }.allSatisfy { r in r.ua.lowercased().contains("bot") })
    }

    @Test func botDetectionKnowsBrowsersFromCrawlers() {
        let bots = ["Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.4.0", "python-requests/2.31", "Mozilla/5.0 (compatible; AhrefsBot/7.0)", "-", ""]
        let people = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"]
        for ua in bots { #expect(Array(ua.utf8).withUnsafeBufferPointer { BotDetector.isBot($0.baseAddress ?? RecordField.dash, $0.count) }, "\(ua)") }
        for ua in people { #expect(!Array(ua.utf8).withUnsafeBufferPointer { BotDetector.isBot($0.baseAddress!, $0.count) }, "\(ua)") }
    }

    @Test func mapRewritesFieldsForEveryLaterTaskIncludingTheReport() throws {
        var o = MapOperator.Options(normalizePaths: true, clientPrefix: 16, markBots: true)
        o.ipv6Groups = 2
        let path = samplePath("elastic_apache_logs.log")
        let p = AccessPipeline(lines: try FileSource(paths: [path], blockSize: 4096), workers: 2, quarantine: try Quarantine(), middle: [TaskSpec(name: "map", op: MapOperator(o))])
        p.engine.start()
        p.engine.waitUntilFinished()
        let summary = p.aggregate.summary()
        let records = try plainRecords(path)
        var networks: [String: Int] = [:]
        for r in records {
            let parts = r.client.split(separator: ".")
            networks[parts.count == 4 ? "\(parts[0]).\(parts[1]).0.0/16" : r.client, default: 0] += 1
        }
        #expect(summary.uniqueClients == networks.count)
        #expect(summary.topClients.map(\.key) == topCounts(networks, summary.topClients.count).map(\.0))
        #expect(summary.topPaths.map(\.key).contains { $0.contains(":id") })
        #expect(summary.records == records.count)
    }

    @Test func networksOfAddresses() {
        func net(_ s: String, _ bits: Int) -> String {
            let b = Array(s.utf8)
            var out = [UInt8](repeating: 0, count: b.count + 8)
            let n = b.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { RecordField.network(src.baseAddress!, src.count, ipv4Bits: bits, ipv6Groups: 3, into: $0.baseAddress!) } }
            return String(decoding: out[..<n], as: UTF8.self)
        }
        #expect(net("192.168.13.77", 24) == "192.168.13.0/24")
        #expect(net("192.168.13.77", 20) == "192.168.0.0/20")
        #expect(net("10.1.2.3", 0) == "0.0.0.0/0")
        #expect(net("2001:db8:85a3:8d3:1319:8a2e:370:7348", 0) == "2001:db8:85a3::/48")
        #expect(net("2001:db8::1", 0) == "2001:db8::/48")
        #expect(net("crawler.example.com", 24) == "crawler.example.com")
    }
}

@Suite struct ResultRowTests {
    @Test func untrustedTextCannotBreakJSONOrCSV() throws {
        var row = ResultRow()
        row.set("path", .string("/a\"b\\c\n\u{1B}[31m\u{7F}\u{2028}"))
        row.set("client", .string("=HYPERLINK(\"x\")"))
        row.set("n", .int(3))
        row.set("avg", .double(2.0 / 3))
        let json = row.json
        #expect(!json.contains("\n") && !json.contains("\u{1B}") && !json.contains("\u{2028}"))
        let back = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        #expect(back["path"] as? String == "/a\"b\\c\n\u{1B}[31m\u{7F}\u{2028}")
        #expect(back["avg"] as? Double == 0.667)
        let csv = row.csvLine(header: ["path", "client", "n", "missing"])
        // Control characters are written as \\xHH: `cat results.csv` must not send escape sequences.
        #expect(csv == "\"/a\"\"b\\c\n\\x1b[31m\\x7f\u{2028}\",\"'=HYPERLINK(\"\"x\"\")\",3,")
        #expect(!csv.contains("\u{1B}"))
    }
}
