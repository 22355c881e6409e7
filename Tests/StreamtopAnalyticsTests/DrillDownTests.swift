import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
import StreamtopLogs

/// A drill-down (Enter on a path, client or status) breaks down that key's records from when it opens:
/// its numbers must equal a recount of those records by hand, whatever slot each block lands in.
@Suite struct DrillDownTests {
    /// Lines with a few paths, clients and statuses, one second apart, in combined format.
    static func lines(_ n: Int, from start: Int = 0) -> [String] {
        let paths = ["/a", "/b-c", "/api/v1/x", "/a"]
        let statuses = [200, 404, 200, 500, 301]
        return (start..<(start + n)).map { i in
            let t = String(format: "%02d:%02d", i / 60 % 60, i % 60)
            return #"10.0.0.\#(i % 7) - - [25/Nov/2024:00:\#(t) +0000] "GET \#(paths[i % paths.count]) HTTP/1.1" \#(statuses[i % statuses.count]) \#(100 + i)"#
        }
    }

    /// What a drill-down on `focus` should count among `lines`: requests, bytes, statuses, clients, paths.
    static func recount(_ lines: [String], _ focus: FocusKey) -> (requests: Int, bytes: Int64, status: [String: Int], clients: [String: Int], paths: [String: Int]) {
        var out = (requests: 0, bytes: Int64(0), status: [String: Int](), clients: [String: Int](), paths: [String: Int]())
        for line in lines {
            let client = String(line.prefix { $0 != " " })
            let request = line.split(separator: "\"")[1]
            let path = request.dropFirst(4).dropLast(9)
            let tail = line.split(separator: "\"")[2].split(separator: " ")
            let (status, size) = (String(tail[0]), Int64(tail[1])!)
            let hit: Bool
            switch focus {
            case .path(let p): hit = path == p
            case .client(let c): hit = client == c
            case .filter: hit = false  // recounted by the tests of filters themselves
            case .status(let s): hit = status == String(s)
            }
            guard hit else { continue }
            out.requests += 1
            out.bytes += size
            out.status[status, default: 0] += 1
            out.clients[client, default: 0] += 1
            out.paths[String(path), default: 0] += 1
        }
        return out
    }

    /// Checks a published breakdown against a count by hand (`recount`).
    static func expectBreakdown(_ d: DrillDownSummary, _ expected: (requests: Int, bytes: Int64, status: [String: Int], clients: [String: Int], paths: [String: Int])) {
        #expect(d.requests == expected.requests && d.requests > 0)
        #expect(d.bytes == expected.bytes)
        #expect(dictionary(d.status) == expected.status)
        #expect(dictionary(d.topClients) == expected.clients)
        #expect(dictionary(d.topPaths) == expected.paths)
        #expect(d.perMinute.reduce(0) { $0 + $1.count } == expected.requests)
    }

    static func dictionary(_ list: [KeyCount]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: list.map { ($0.key, $0.count) })
    }

    /// A run nobody watches (headless, no --listen or --snapshots) copies no table so far; the final
    /// table is the same.
    @Test func aTableSoFarNobodyCanSeeIsNotCopied() throws {
        let op = TopKOperator(name: "topk", field: .client, k: 3, partitions: 2)
        op.showsTableSoFar = false
        _ = op.process(Self.batch(Self.lines(140), sequence: 0), slot: 0)
        #expect(op.refreshResult() == nil)
        let final = try #require(op.finish() as? AnalyticsResult)
        #expect(!final.soFar && final.rows.first?["records"] == .int(140))
    }

    /// Top-K and distinct counts over the whole input show their row so far too, merged across partitions.
    @Test(arguments: ["topk", "distinct"])
    func wholeInputTopKAndDistinctShowTheirRowSoFar(kind: String) throws {
        let op: OrderedOperator = kind == "topk"
            ? TopKOperator(name: kind, field: .client, k: 3, partitions: 2) : DistinctOperator(name: kind, field: .client, partitions: 2)
        _ = op.process(Self.batch(Self.lines(140), sequence: 0), slot: 0)
        let soFar = try #require(op.refreshResult() as? AnalyticsResult)
        #expect(soFar.soFar && soFar.rows.count == 1)
        #expect(soFar.rows.first?["records"] == .int(140))
        if kind == "distinct" { #expect(soFar.rows.first?["distinct"] == .int(7)) }
        if kind == "topk", case .list(let top)? = soFar.rows.first?["top"] { #expect(top.count == 3) }
        let final = try #require(op.finish() as? AnalyticsResult)
        #expect(!final.soFar && final.rows == soFar.rows)
    }

    /// A request lands while one worker is inside a block of slot 0 and another takes slot 1 (up to date);
    /// the ticker then folds slot 1, breakdown included, into slot 0, which has not yet taken the request
    /// up. Slot 0's next block replaced the moved breakdown with a new one, and what it had counted was
    /// gone for the rest of that drill-down.
    @Test func aFoldedBreakdownIsNotStartedAgain() throws {
        let op = AggregateOperator(slots: 2)
        #expect(op.handle(OperatorRequest(verb: "focus", arguments: ["path", "/a"])).applied)
        op.add(SummaryCacheTests().block(Self.lines(40)), toSlot: 0)
        #expect(op.handle(OperatorRequest(verb: "focus", arguments: ["path", "/b-c"])).applied)
        let second = Self.lines(40, from: 40)
        op.add(SummaryCacheTests().block(second), toSlot: 1)
        op.compact()
        let third = Self.lines(40, from: 80)
        op.add(SummaryCacheTests().block(third), toSlot: 0)
        let d = try #require(op.summary(top: 100).drillDown)
        #expect(d.focus == .path("/b-c"))
        #expect(d.requests == Self.recount(second + third, .path("/b-c")).requests, "the records counted before the fold were dropped")
    }

    @Test(arguments: [FocusKey.path("/b-c"), .client("10.0.0.3"), .status(404)])
    func aDrillDownCountsExactlyTheKeysRecordsSinceItOpened(_ focus: FocusKey) throws {
        let op = AggregateOperator(slots: 2)
        let before = Self.lines(200)
        _ = op.process(SummaryCacheTests().block(before), slot: 0)
        let outcome = op.handle(OperatorRequest(verb: "focus", arguments: [focus.kind, focus.key]))
        #expect(outcome.applied, "\(outcome.reason)")
        // Opened: an empty breakdown, with the key's count over the whole run from the report's tables.
        let opened = try #require(op.summary().drillDown)
        #expect(opened.focus == focus && opened.requests == 0)
        #expect(opened.wholeRun == Self.recount(before, focus).requests)
        // Blocks after it, in both slots (two workers at once).
        let after = Self.lines(300, from: 200)
        op.add(SummaryCacheTests().block(Array(after.prefix(120))), toSlot: 0)
        op.add(SummaryCacheTests().block(Array(after.dropFirst(120))), toSlot: 1)
        let d = try #require(op.summary(top: 100).drillDown)
        let expected = Self.recount(after, focus)
        Self.expectBreakdown(d, expected)
        #expect(d.wholeRun == Self.recount(before + after, focus).requests)
        // Folding the second slot into the first (what the ticker does) changes nothing shown.
        let published = try #require(op.refreshResult() as? AccessSummary)
        #expect(published.drillDown == d)
    }

    /// A replay of files: a drill-down opened mid-run has the part read before it counted from the file
    /// again and the rest by the engine, so it covers the whole run — also when a worker takes a block
    /// from before the boundary only after the drill-down opened.
    @Test(arguments: [FocusKey.path("/b-c"), .client("10.0.0.3"), .status(404)])
    func aDrillDownOpenedMidReplayCoversTheWholeRun(_ focus: FocusKey) throws {
        let all = Self.lines(1000)
        let text = all.map { $0 + "\n" }.joined()
        let path = NSTemporaryDirectory() + "streamtop-drill-earlier-\(getpid())-\(focus.key.count).log"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        // The file cut into blocks of 250 lines, each with its place in the file, as a replay reads it.
        var starts = [Int64(0)]
        for line in all { starts.append(starts.last! + Int64(line.utf8.count + 1)) }
        func block(_ k: Int) -> Batch {
            let lines = Array(all[(k * 250)..<((k + 1) * 250)])
            let b = LineBlock(copying: Array(lines.map { $0 + "\n" }.joined().utf8), sourceIndex: 0, sourceOffset: starts[k * 250], firstLineNumber: k * 250 + 1)
            var records: [ParsedRecord] = []
            b.forEachLine { s, l, _ in
                if case .record(let r) = CombinedLogParser.parse(b.base, start: s, count: l) { records.append(r) }
            }
            return Batch(payload: ParsedBlock(lines: b, records: records, malformed: 0), records: records.count, bytes: b.count, ingestNanos: 0)
        }
        let op = AggregateOperator(slots: 2)
        let jobs = Locked<[DrillDownRecount]>([])
        op.earlierCount.withLock {
            $0 = { focus, boundary in
                let job = DrillDownRecount(
                    focus: focus, paths: [path], format: LogFormat.preset("combined")!, maxLineBytes: 65_536, reportLines: 0, limits: boundary)
                jobs.withLock { $0.append(job) }
                return .success(job)
            }
        }
        // Blocks 0 and 2 are counted before the drill-down opens; block 1 is still with a worker.
        _ = op.process(block(0), slot: 0)
        _ = op.process(block(2), slot: 1)
        let outcome = op.handle(OperatorRequest(verb: "focus", arguments: [focus.kind, focus.key]))
        #expect(outcome.applied && outcome.reason.contains("read again"), "\(outcome.reason)")
        let job = try #require(jobs.withLock { $0.first })
        // Block 1 comes after it opened but lies before its boundary: the earlier count has it, the engine
        // must not count it again. Block 3 lies after the boundary.
        op.add(block(1), toSlot: 1)
        op.add(block(3), toSlot: 0)
        // The input ends (perhaps before the earlier part is read): the final summary waits for it.
        let final = try #require(op.finish() as? AccessSummary)
        #expect(job.isOver)
        let d = try #require(final.drillDown)
        let expected = Self.recount(all, focus)
        #expect(d.earlier?.done == true && d.earlier?.bytes == starts[750], "\(String(describing: d.earlier))")
        Self.expectBreakdown(d, expected)
        #expect(d.wholeRun == expected.requests)
        #expect((op.refreshResult() as? AccessSummary)?.drillDown == d)
        // Closing stops it; a drill-down opened without a way to read the input counts from then on.
        _ = op.handle(OperatorRequest(verb: "focus"))
        op.earlierCount.withLock { $0 = nil }
        _ = op.handle(OperatorRequest(verb: "focus", arguments: [focus.kind, focus.key]))
        #expect(op.summary().drillDown?.requests == 0 && op.summary().drillDown?.earlier == nil)
        // One that cannot read the input again says why, in the decision log and on the drill-down.
        _ = op.handle(OperatorRequest(verb: "focus"))
        op.earlierCount.withLock { $0 = { _, _ in .failure(.init("its input (standard input) was read once")) } }
        let said = op.handle(OperatorRequest(verb: "focus", arguments: [focus.kind, focus.key]))
        #expect(said.reason.contains("counted from now on: its input (standard input) was read once"), "\(said.reason)")
        #expect(op.summary().drillDown?.liveOnly == "its input (standard input) was read once")
        #expect(op.summary().drillDown?.earlier == nil)
    }

    @Test func reopeningStartsOverAndClosingRemovesIt() throws {
        let op = AggregateOperator(slots: 1)
        _ = op.handle(OperatorRequest(verb: "focus", arguments: ["path", "/a"]))
        _ = op.process(SummaryCacheTests().block(Self.lines(40)), slot: 0)
        #expect(try #require(op.summary().drillDown).requests == 20)
        // The same key again is a new drill-down: it counts from now.
        _ = op.handle(OperatorRequest(verb: "focus", arguments: ["path", "/a"]))
        #expect(try #require(op.summary().drillDown).requests == 0)
        _ = op.process(SummaryCacheTests().block(Self.lines(8, from: 40)), slot: 0)
        #expect(try #require(op.summary().drillDown).requests == 4)
        _ = op.handle(OperatorRequest(verb: "focus"))
        #expect(op.summary().drillDown == nil)
        _ = op.process(SummaryCacheTests().block(Self.lines(8, from: 48)), slot: 0)
        #expect(op.summary().drillDown == nil)
        #expect(op.summary().records == 56, "the report itself counts on, whatever the drill-downs")
    }

    @Test func badRequestsAreRefusedWithAReason() {
        let op = AggregateOperator(slots: 1)
        let wrongVerb = op.handle(OperatorRequest(verb: "explode"))
        #expect(!wrongVerb.applied && wrongVerb.reason.contains("focus"))
        let wrongKind = op.handle(OperatorRequest(verb: "focus", arguments: ["agent", "x"]))
        #expect(!wrongKind.applied && wrongKind.reason.contains("a path, a client, a status code"))
        #expect(op.summary().drillDown == nil)
    }

    @Test func theCommandLineSaysWhatToDrillInto() throws {
        func parse(_ text: String) throws -> OperatorCommand {
            try OperatorCommand.parse(text, task: { _ in nil }, taskNames: [])
        }
        #expect(try parse("focus path /b c") == .focus(.path("/b c")), "a path keeps its spaces")
        #expect(try parse("focus client 10.0.0.3 ") == .focus(.client("10.0.0.3")))
        #expect(try parse("focus status 404") == .focus(.status(404)))
        #expect(try parse("focus off") == .focus(nil))
        #expect(try parse("focus") == .focus(nil))
        #expect(throws: CommandError.self) { try parse("focus status 42") }
        #expect(throws: CommandError.self) { try parse("focus path") }
        do {
            _ = try parse("focus clinet 1.2.3.4")
            Issue.record("a misspelt kind parsed")
        } catch let e as CommandError {
            #expect(e.description.contains("did you mean 'client'"), "\(e)")
        }
        // What an attached dashboard sends is what the instance parses back.
        let snapshot = EngineSnapshot.empty
        for c in [OperatorCommand.focus(.path("/b c")), .focus(.status(500)), .focus(nil)] {
            #expect(try parse(#require(c.text(in: snapshot))) == c)
        }
    }

    /// A block numbered as the engine numbers a task's batches (ordered tasks take them in that order).
    static func batch(_ lines: [String], sequence: Int) -> Batch {
        let b = SummaryCacheTests().block(lines)
        b.sequence = sequence
        return b
    }

    /// A group-by over the whole input shows its table so far while the run goes on (it had no row until
    /// the end, so nothing to drill into), refreshed about once a second from copies the workers make;
    /// a published table never changes afterwards, and the final one replaces it at the end.
    @Test(arguments: [1, 3])
    func aWholeInputGroupShowsItsTableSoFar(partitions: Int) throws {
        var spec = GroupOperator.Spec(by: [.client])
        spec.limit = 100
        let group = GroupOperator(name: "by_client", spec: spec, partitions: partitions)
        #expect(group.result().rows.isEmpty && group.refreshResult() == nil)
        let first = Self.lines(140)
        _ = group.process(Self.batch(first, sequence: 0), slot: 0)
        let soFar = try #require(group.refreshResult() as? AnalyticsResult)
        #expect(soFar.soFar)
        let counts = { (rows: [ResultRow]) in
            Dictionary(uniqueKeysWithValues: rows.compactMap { r -> (String, Int64)? in
                guard case .string(let c)? = r["client"], case .int(let n)? = r["count"] else { return nil }
                return (c, n)
            })
        }
        #expect(counts(soFar.rows) == Dictionary(grouping: first, by: { String($0.prefix { $0 != " " }) }).mapValues { Int64($0.count) })
        #expect(FocusKey.of(row: soFar.rows[0], task: "by_client") != nil, "a row so far can be drilled into")
        // Within the second nothing is copied again; after it, the next block's worker copies.
        _ = group.process(Self.batch(Self.lines(70, from: 140), sequence: 1), slot: 0)
        #expect(group.refreshResult() == nil)
        Thread.sleep(forTimeInterval: 1.05)
        _ = group.process(Self.batch(Self.lines(70, from: 210), sequence: 2), slot: 1)
        let later = try #require(group.refreshResult() as? AnalyticsResult)
        #expect(counts(later.rows).values.reduce(0, +) == 280)
        #expect(counts(soFar.rows).values.reduce(0, +) == 140, "a published table changed")
        let final = try #require(group.finish() as? AnalyticsResult)
        #expect(!final.soFar && counts(final.rows) == counts(later.rows))
        #expect(group.refreshResult() == nil || (group.refreshResult() as? AnalyticsResult)?.soFar == false)
    }

    /// Enter on a group row: the task counts, from then on, its own records whose fields equal the row's
    /// keys — with two partitions, blocks handed in by two workers, and a key that needs quoting.
    @Test func aGroupRowsDrillDownCountsTheTasksRecordsWithItsKeys() throws {
        var spec = GroupOperator.Spec(by: [.client, .statusClass])
        spec.limit = 100
        // The rows of a finished run give the focus; a live twin of the task takes it.
        let finished = GroupOperator(name: "by_client", spec: spec, partitions: 2)
        _ = finished.process(Self.batch(Self.lines(140), sequence: 0), slot: 0)
        _ = finished.finish()
        let rows = finished.latestRows()
        let group = GroupOperator(name: "by_client", spec: spec, partitions: 2)
        _ = group.process(Self.batch(Self.lines(140), sequence: 0), slot: 0)
        let row = try #require(rows.first { $0["client"] == .string("10.0.0.3") && $0["status_class"] == .string("4xx") })
        let focus = try #require(FocusKey.of(row: row, task: "by_client"))
        #expect(focus == .filter(task: "by_client", expression: #"client == "10.0.0.3" and status_class == "4xx""#))
        #expect(group.handle(OperatorRequest(verb: "focus", arguments: [focus.kind, focus.key])).applied)
        // Published at once, empty: the next tick shows the overlay what it opened.
        let opened = try #require((group.refreshResult() as? AnalyticsResult)?.drillDown)
        #expect(opened.focus == focus && opened.requests == 0 && opened.wholeRun == nil)
        let after = Self.lines(300, from: 140)
        _ = group.process(Self.batch(Array(after.prefix(150)), sequence: 1), slot: 0)
        _ = group.process(Self.batch(Array(after.dropFirst(150)), sequence: 2), slot: 1)
        // Within a second of the last refresh nothing is merged again; the one after a second is.
        #expect(group.refreshResult() == nil)
        Thread.sleep(forTimeInterval: 1.05)
        let d = try #require((group.refreshResult() as? AnalyticsResult)?.drillDown)
        let expected = Self.recount(after.filter { $0.hasPrefix("10.0.0.3 ") }, .status(404)).requests
            + Self.recount(after.filter { $0.hasPrefix("10.0.0.3 ") }, .status(400)).requests
        #expect(d.requests == expected && d.requests > 0)
        #expect(Self.dictionary(d.topClients) == ["10.0.0.3": expected])
        #expect(d.status.allSatisfy { $0.key.hasPrefix("4") })
        // What the workers publish with each block carries it too; closing removes it.
        #expect(group.result().drillDown == d)
        #expect(group.handle(OperatorRequest(verb: "focus")).applied)
        #expect((group.refreshResult() as? AnalyticsResult)?.drillDown == nil)
        // A task takes filters only: a bare path is the report's kind of drill-down.
        let refused = group.handle(OperatorRequest(verb: "focus", arguments: ["path", "/a"]))
        #expect(!refused.applied && refused.reason.contains("where"), "\(refused.reason)")
    }

    /// A row's keys become a filter that selects exactly that value, whatever quotes and backslashes it
    /// holds; the group past the cap, `(other)`, has no keys to drill into.
    @Test func aRowsKeysSelectExactlyItsRecords() throws {
        var row = ResultRow()
        row.set("ua", .string(#"Mozilla "quoted" \ back\slash"#))
        row.set("status", .string("503"))
        row.set("count", .int(3))
        let focus = try #require(FocusKey.of(row: row, task: "t"))
        let filter = try FilterExpression.parse(focus.key)
        #expect(filter == .and(.text(.ua, .equals(Array(#"Mozilla "quoted" \ back\slash"#.utf8))), .number(.status, .eq, 503)))
        var other = ResultRow()
        other.set("client", .string("(other)"))
        #expect(FocusKey.of(row: other, task: "t") == nil)
        var keyless = ResultRow()
        keyless.set("requests", .int(4))
        #expect(FocusKey.of(row: keyless, task: "t") == nil)
    }

    /// `focus where FILTER` on the report: the records the filter selects, recounted by hand.
    @Test func theReportDrillsIntoWhatAFilterSelects() throws {
        let op = AggregateOperator(slots: 1)
        #expect(op.handle(OperatorRequest(verb: "focus", arguments: ["where", #"status >= 400 and path ~ "^/a""#])).applied)
        let lines = Self.lines(200)
        _ = op.process(SummaryCacheTests().block(lines), slot: 0)
        let d = try #require(op.summary(top: 100).drillDown)
        let expected = lines.filter { l in
            let status = Int(l.split(separator: "\"")[2].split(separator: " ")[0])!
            return status >= 400 && l.contains("\"GET /a")
        }
        #expect(d.requests == expected.count && d.requests > 0 && d.wholeRun == nil)
        #expect(!op.handle(OperatorRequest(verb: "focus", arguments: ["where", "status >>> 4"])).applied)
    }

    @Test func theCommandLineDrillsIntoATaskOrAFilter() throws {
        func parse(_ text: String) throws -> OperatorCommand {
            try OperatorCommand.parse(text, task: { _ in nil }, taskNames: ["by_client", "errors"])
        }
        #expect(try parse(#"focus in by_client where client == "10.0.0.3""#) == .focus(.filter(task: "by_client", expression: #"client == "10.0.0.3""#)))
        #expect(try parse("focus where status >= 500") == .focus(.filter(task: nil, expression: "status >= 500")))
        for (bad, says) in [("focus in by_clinet where status == 500", "did you mean 'by_client'"), ("focus in errors status 500", "takes a filter"),
                            ("focus where status >>> 5", "focus where: column"), ("focus where", "usage")] {
            do {
                _ = try parse(bad)
                Issue.record("parsed: \(bad)")
            } catch {
                #expect("\(error)".contains(says), "\(bad): \(error)")
            }
        }
        // What an attached dashboard sends is what the instance parses back.
        let c = OperatorCommand.focus(.filter(task: "by_client", expression: #"ua == "a \"b\"""#))
        #expect(try parse(#require(c.text(in: EngineSnapshot.empty))) == c)
    }

    /// A path logged as invalid UTF-8 is shown (and drilled into) as printed, with U+FFFD: its whole-run
    /// count is every key printed the same way, not the zero an exact lookup of the printed bytes gives.
    @Test func aPathOfInvalidUTF8HasItsWholeRunCount() throws {
        let op = AggregateOperator(slots: 1)
        func line(_ path: [UInt8]) -> [UInt8] {
            Array(#"10.0.0.1 - - [25/Nov/2024:00:00:00 +0000] "GET "#.utf8) + path + Array(#" HTTP/1.1" 200 10"#.utf8) + [0x0A]
        }
        let latin1 = Array("/caf".utf8) + [0xE9]
        let stray = Array("/caf".utf8) + [0xFF]
        let bytes = line(latin1) + line(latin1) + line(stray) + line(Array("/cafe".utf8))
        let block = LineBlock(copying: bytes)
        var records: [ParsedRecord] = []
        block.forEachLine { s, l, _ in
            if case .record(let r) = CombinedLogParser.parse(block.base, start: s, count: l) { records.append(r) }
        }
        #expect(records.count == 4)
        _ = op.process(Batch(payload: ParsedBlock(lines: block, records: records, malformed: 0), records: 4, bytes: block.count, ingestNanos: 0), slot: 0)
        let printed = String(decoding: latin1, as: UTF8.self)
        #expect(op.summary(top: 10).topPaths.contains { $0.key == printed })
        let outcome = op.handle(OperatorRequest(verb: "focus", arguments: ["path", printed]))
        #expect(outcome.applied, "\(outcome.reason)")
        #expect(try #require(op.summary().drillDown).wholeRun == 3)
    }
}
