import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
import StreamtopLogs

/// A Kafka group member killed at any block, and a reader resuming at the offset its windows held with the
/// floors its commit carried: the rows of both, taken as a table (a compacted result topic), are one
/// uninterrupted run's rows — with lines out of order across window boundaries, and for visits, whose
/// counting depends on each user's requests within the gap before.
@Suite struct ResumeAtHeldOffsetTests {
    /// One partition's log: 6 clients, a request every 3 s for an hour, each logged up to 20 s late (out
    /// of order), so windows' records interleave at their boundaries.
    static let lines: [String] = {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        return (0..<1200).map { i in
            let t = 1_732_492_800 + i * 3 + Int(next() % 21)
            let c = (i * 7) % 6
            let time = Date(timeIntervalSince1970: TimeInterval(t))
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "dd/MMM/yyyy:HH:mm:ss"
            return "10.0.0.\(c) - - [\(f.string(from: time)) +0000] \"GET /p HTTP/1.1\" 200 \(100 + c)"
        }
    }()

    /// Live holds by offset, as a Kafka source counts them.
    final class Holds: @unchecked Sendable {
        let live = Locked<[Int64: Int]>([:])
        func hold(_ from: Int64) -> CommitHold {
            let count = { (_: Int, o: Int64) in self.live.withLock { $0[o, default: 0] += 1 } }
            count(0, from)
            return CommitHold(partition: 0, from: from, onHold: count) { _, o in
                self.live.withLock { l in l[o] = l[o]! > 1 ? l[o]! - 1 : nil }
            }
        }
        var lowest: Int64? { live.withLock { $0.keys.min() } }
    }

    /// Lines `from..<to` as blocks of 50 messages, tagged as a Kafka group's partition 0, each made when
    /// wanted (a block released after it was processed lets go of its own hold).
    static func blocks(_ from: Int, _ to: Int, holds: Holds, floors: [String: Int64]) -> some Sequence<Batch> {
        stride(from: from, to: to, by: 50).enumerated().lazy.map { n, start in
            let end = min(start + 50, to)
            let lineBlock = LineBlock(copying: Array(lines[start..<end].map { $0 + "\n" }.joined().utf8))
            lineBlock.partition = SourcePartition(
                id: 0, open: [0], offsets: (start..<end).map(Int64.init), from: Int64(start),
                hold: holds.hold(Int64(start)), floors: floors, floorsKept: true)
            return PartitionEventTimeTests.parsed(lineBlock, sequence: n)
        }
    }

    /// Runs a fresh task over lines `from..<killAt` (all when nil) and returns its rows, the offset its
    /// group would commit after it, and the floors that commit would carry.
    static func member(_ make: (String) throws -> OrderedOperator, from: Int, killAt: Int?, floors: [String: Int64], rows path: String) throws -> (rows: [String: String], commit: Int64, floors: [String: Int64]) {
        let holds = Holds()
        let task = try make(path)
        let end = killAt ?? lines.count
        for b in blocks(from, end, holds: holds, floors: floors) { _ = task.process(b, slot: 0) }
        if killAt == nil { task.finish() }
        let commit = min(Int64(end), holds.lowest ?? Int64(end))
        let written = task.emittedThrough(sourcePartition: 0).map { [task.name: $0] } ?? [:]
        var table: [String: String] = [:]
        for line in (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n") ?? [] {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let key = "\(row["window_start"] ?? "") \(row["user"] ?? row["client"] ?? "")"
            table[key] = "\(row["requests"] ?? row["count"] ?? "") \(row["visits"] ?? row["bytes_sum"] ?? "")"
        }
        return (table, commit, written)
    }

    static let makers: [(String, (String) throws -> OrderedOperator)] = [
        ("per-client", { path in
            var spec = GroupOperator.Spec(by: [.client])
            spec.every = 60
            spec.lateness = 30
            return GroupOperator(name: "per-client", spec: spec, sink: try ResultSink(task: "per-client", results: path))
        }),
        ("visits", { path in
            var spec = SessionOperator.Spec()
            spec.user = .client
            spec.gap = 300
            spec.every = 60
            spec.lateness = 30
            spec.perUser = true
            return SessionOperator(name: "visits", spec: spec, sink: try ResultSink(task: "visits", results: path))
        }),
    ]

    /// The union of a member killed after `killAt` lines and a reader resuming at its commit, against one
    /// run: (rows that differ, rows missing, rows of one run).
    static func resume(_ make: (String) throws -> OrderedOperator, killAt: Int, withFloors: Bool) throws -> (wrong: Int, missing: Int, total: Int) {
        let dir = NSTemporaryDirectory() + "streamtop-resume-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let single = try member(make, from: 0, killAt: nil, floors: [:], rows: dir + "/single.ndjson").rows
        let killed = try member(make, from: 0, killAt: killAt, floors: [:], rows: dir + "/a.ndjson")
        let next = try member(make, from: Int(killed.commit), killAt: nil, floors: withFloors ? killed.floors : [:], rows: dir + "/b.ndjson")
        var union = killed.rows
        for (k, v) in next.rows { union[k] = v }
        return (union.filter { single[$0.key] != $0.value }.count, single.keys.filter { union[$0] == nil }.count, single.count)
    }

    /// Kills after these many lines (block boundaries of 50 lines, early, middle and late).
    static let killPoints = [150, 500, 650, 1000]

    @Test(arguments: [0, 1]) func aReaderResumingAtTheHeldOffsetWritesWhatOneRunWrites(task: Int) throws {
        let (name, make) = Self.makers[task]
        for killAt in Self.killPoints {
            let r = try Self.resume(make, killAt: killAt, withFloors: true)
            #expect(r.total > 100)
            #expect(r.wrong == 0 && r.missing == 0, "\(name) killed after \(killAt) lines: \(r.wrong) rows differ, \(r.missing) missing of \(r.total)")
        }
    }

    @Test(arguments: [0, 1]) func withoutTheFloorsWindowsAreWrittenAgainFromPartOfTheirRecords(task: Int) throws {
        // The guard that the log's disorder reaches across window boundaries at the held offset.
        let (name, make) = Self.makers[task]
        var wrong = 0
        for killAt in Self.killPoints { wrong += try Self.resume(make, killAt: killAt, withFloors: false).wrong }
        #expect(wrong > 0, "\(name): no row differs without the floors")
    }
}
