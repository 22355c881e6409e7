import Foundation
import Testing
@testable import StreamtopAnalytics
import StreamtopEngine
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

    static func dictionary(_ list: [KeyCount]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: list.map { ($0.key, $0.count) })
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
        #expect(d.requests == expected.requests && d.requests > 0)
        #expect(d.bytes == expected.bytes)
        #expect(Self.dictionary(d.status) == expected.status)
        #expect(Self.dictionary(d.topClients) == expected.clients)
        #expect(Self.dictionary(d.topPaths) == expected.paths)
        #expect(d.perMinute.reduce(0) { $0 + $1.count } == expected.requests)
        #expect(d.wholeRun == Self.recount(before + after, focus).requests)
        // Folding the second slot into the first (what the ticker does) changes nothing shown.
        let published = try #require(op.refreshResult() as? AccessSummary)
        #expect(published.drillDown == d)
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
        #expect(!wrongKind.applied && wrongKind.reason.contains("path, a client or a status"))
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
}
