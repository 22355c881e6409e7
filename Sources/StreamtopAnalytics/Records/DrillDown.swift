#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Histogram
import StreamtopEngine
import StreamtopLogs

/// What a drill-down looks at: one path, client or status code of the report, or the records a filter
/// expression selects in the report or in one analytics task (Enter on a group row: its keys).
public enum FocusKey: Sendable, Equatable, Codable, CustomStringConvertible {
    case path(String)
    case client(String)
    case status(Int)
    /// The records `expression` (a `FilterExpression`) selects, among those `task` reads (nil: the
    /// report's aggregate). The text is parsed when the focus is made, so it always compiles.
    case filter(task: String?, expression: String)

    /// `path`, `client`, `status` or `where`.
    public var kind: String {
        switch self {
        case .path: return "path"
        case .client: return "client"
        case .status: return "status"
        case .filter: return "where"
        }
    }

    /// The key as shown (`/login`, `10.0.0.1`, `404`, `client == "10.0.0.1"`).
    public var key: String {
        switch self {
        case .path(let k), .client(let k): return k
        case .status(let s): return String(s)
        case .filter(_, let e): return e
        }
    }

    /// The analytics task that keeps this drill-down, or nil for the report's aggregate.
    public var task: String? {
        if case .filter(let t, _) = self { return t }
        return nil
    }

    /// `path /login`, `where status >= 500`, `by-client where client == "10.0.0.1"`, for messages.
    public var description: String { (task.map { "\($0) " } ?? "") + "\(kind) \(key)" }

    /// The words after `focus` on the command line: `path /login`, `in by-client where …`.
    public var commandText: String { (task.map { "in \($0) " } ?? "") + "\(kind) \(key)" }

    /// Parses `path KEY`, `client KEY`, `status CODE` or `where EXPRESSION` (the words after `focus`);
    /// the key is everything after the kind, so a path with spaces survives. Nil for an unknown kind, an
    /// empty key, a status outside 100-999 or an expression that does not compile.
    public static func parse(kind: String, key: String, task: String? = nil) -> FocusKey? {
        guard !key.isEmpty else { return nil }
        switch kind.lowercased() {
        case "path" where task == nil: return .path(key)
        case "client" where task == nil: return .client(key)
        case "status" where task == nil:
            guard let s = Int(key), (100...999).contains(s) else { return nil }
            return .status(s)
        case "where":
            guard (try? FilterExpression.parse(key)) != nil else { return nil }
            return .filter(task: task, expression: key)
        default: return nil
        }
    }

    /// The focus on the records of a result row: each of its fields named like a record field (a
    /// group-by's keys, a per-user row's `user`) must equal the row's value. Nil when the row has none,
    /// or it is the group of everything past the group cap (`(other)`).
    public static func of(row: ResultRow, task: String) -> FocusKey? {
        var terms: [String] = []
        for f in row.fields {
            guard let field = RecordField(rawValue: f.name), case .string(let value) = f.value else { continue }
            if value == "(other)" { return nil }
            // A status compares as a number in filters; every other field as text.
            if field == .status, let code = Int(value) {
                terms.append("status == \(code)")
            } else {
                terms.append("\(field.rawValue) == \(FilterExpression.quoted(value))")
            }
        }
        guard !terms.isEmpty else { return nil }
        return .filter(task: task, expression: terms.joined(separator: " and "))
    }
}

/// The records of one path, client or status since a drill-down opened it: their statuses, paths,
/// clients, bytes, serving time and requests per minute. Kept in bounded memory (at most `keyLimit`
/// paths and clients, the least counted dropped past it) and only while a drill-down is open: the
/// report's aggregates keep no joint tables, so the breakdown starts when the operator asks for it.
/// A reference type like the key counters it holds; each worker slot has its own, merged when read.
public final class DrillDown {
    /// What is looked at.
    public let focus: FocusKey
    /// Which drill-down this is (each `focus` request gets the next number): a slot still holding an
    /// earlier one replaces it at its next block, and a summary merges only the current one.
    public let generation: Int
    /// When the drill-down opened (UTC epoch seconds, wall clock).
    public let since: Double
    /// Per source index (`LineBlock.fileKey`: a followed file rotated since is another key), the byte where
    /// the report's input stood when the drill-down opened: blocks that start before it are left to a count
    /// of that earlier part (`DrillDownRecount` with limits), whatever order workers take them in. Empty:
    /// every block counts.
    public let boundary: [Int: Int64]
    public private(set) var requests = 0
    public private(set) var bytes: Int64 = 0
    public private(set) var status = [Int: Int]()
    public let paths = ByteKeyCounter(initialCapacity: 64)
    public let clients = ByteKeyCounter(initialCapacity: 64)
    public private(set) var pathsUndercount = 0
    public private(set) var clientsUndercount = 0
    public private(set) var requestTime = AccessAggregate.emptyRequestTime
    /// Records per UTC minute of event time.
    public private(set) var minutes = [Int64: Int]()
    /// The key's bytes, and whether it holds U+FFFD (a key printed from invalid UTF-8: matched by its
    /// printed form, which costs a decode per record, instead of its bytes).
    private let keyBytes: [UInt8]
    private let printedMatch: Bool
    /// The compiled expression of a `.filter` focus.
    private let expression: FilterExpression?
    /// Distinct paths and clients kept, each.
    static let keyLimit = 10_000

    /// Creates an empty breakdown.
    public init(_ focus: FocusKey, generation: Int, since: Double, boundary: [Int: Int64] = [:]) {
        self.focus = focus
        self.generation = generation
        self.since = since
        self.boundary = boundary
        keyBytes = Array(focus.key.utf8)
        printedMatch = focus.key.unicodeScalars.contains("\u{FFFD}")
        if case .filter(_, let text) = focus {
            // It parsed when the focus was made; one that no longer does matches nothing.
            expression = (try? FilterExpression.parse(text)) ?? .not(.or(.bot, .not(.bot)))
        } else {
            expression = nil
        }
    }

    /// An empty breakdown of the same focus and generation.
    public func emptied() -> DrillDown { DrillDown(focus, generation: generation, since: since, boundary: boundary) }

    /// A copy to read while this one goes on counting.
    public func copy() -> DrillDown {
        let c = emptied()
        c.merge(self)
        return c
    }

    /// Adds the block's records that match the focus (none of a block before the boundary).
    public func add(_ block: ParsedBlock) {
        if !boundary.isEmpty, let b = boundary[block.lines.fileKey], block.lines.sourceOffset < b { return }
        let base = block.lines.base
        block.records.withUnsafeBufferPointer { recs in
            for r in recs where matches(r, base) {
                requests += 1
                let (sum, overflow) = bytes.addingReportingOverflow(max(0, r.size))
                bytes = overflow ? .max : sum
                status[Int(r.status), default: 0] += 1
                RecordField.path.withKey(r, base) { paths.add($0, $1) }
                clients.add(base + Int(r.clientStart), Int(r.clientLength))
                if r.requestMicros >= 0 { _ = requestTime.record(UInt64(min(r.requestMicros, 3_600_000_000))) }
                minutes[r.time - ((r.time % 60) + 60) % 60, default: 0] += 1
            }
        }
        if paths.count > Self.keyLimit { pathsUndercount += paths.pruneLeastCounted() }
        if clients.count > Self.keyLimit { clientsUndercount += clients.pruneLeastCounted() }
    }

    @inline(__always)
    private func matches(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> Bool {
        let field: RecordField
        switch focus {
        case .status(let s): return Int(r.status) == s
        case .path: field = .path
        case .client: field = .client
        case .filter: return expression!.matches(r, base)
        }
        return field.withKey(r, base) { p, n in
            if printedMatch { return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) == focus.key }
            return n == keyBytes.count && keyBytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, p, n) == 0 }
        }
    }

    /// Adds another slot's breakdown of the same drill-down.
    public func merge(_ other: DrillDown) {
        requests += other.requests
        let (sum, overflow) = bytes.addingReportingOverflow(other.bytes)
        bytes = overflow ? .max : sum
        for (k, v) in other.status { status[k, default: 0] += v }
        paths.merge(other.paths)
        clients.merge(other.clients)
        pathsUndercount += other.pathsUndercount
        clientsUndercount += other.clientsUndercount
        requestTime.add(other.requestTime)
        for (k, v) in other.minutes { minutes[k, default: 0] += v }
    }

    /// The breakdown with the `top` most frequent paths and clients.
    public func summary(top: Int, wholeRun: Int?) -> DrillDownSummary {
        DrillDownSummary(
            focus: focus, generation: generation, since: since, wholeRun: wholeRun, requests: requests, bytes: bytes,
            status: status.sorted { $0.key < $1.key }.map { KeyCount(key: String($0.key), count: $0.value) },
            topPaths: paths.top(top), topClients: clients.top(top),
            uniquePaths: paths.count, uniqueClients: clients.count,
            estimated: pathsUndercount > 0 || clientsUndercount > 0,
            requestTime: requestTime.totalCount == 0 ? nil : LatencySummary(
                p50: requestTime.valueAtPercentile(50), p95: requestTime.valueAtPercentile(95),
                p99: requestTime.valueAtPercentile(99), max: requestTime.max, count: requestTime.totalCount),
            perMinute: minutes.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: $0.value) })
    }
}

/// A drill-down as the dashboard shows it (immutable, in the published summary).
public struct DrillDownSummary: Sendable, Codable, Equatable {
    /// What is looked at.
    public var focus: FocusKey
    /// Which drill-down request this is (a key looked at twice is two drill-downs).
    public var generation: Int
    /// When the drill-down opened (UTC epoch seconds): everything below counts from then.
    public var since: Double
    /// The key's count over the whole run, from the report's own tables (nil when they no longer hold it).
    public var wholeRun: Int?
    public var requests: Int
    public var bytes: Int64
    /// Status codes, ascending.
    public var status: [KeyCount]
    public var topPaths: [KeyCount]
    public var topClients: [KeyCount]
    public var uniquePaths: Int
    public var uniqueClients: Int
    /// Whether paths or clients were dropped (more than 10,000 distinct): counts may then fall short.
    public var estimated: Bool
    /// Serving time in µs, when the format logs it.
    public var requestTime: LatencySummary?
    /// Requests per minute of event time, ascending.
    public var perMinute: [MinuteCount]
    /// Set when the breakdown comes from reading a finished run's input files again (`DrillDownRecount`)
    /// rather than from the engine since the drill-down opened.
    public var reread: Reread? = nil
    /// Set when the part of the run read before the drill-down opened is being counted from the input
    /// files (a replay of files): the counts above hold that part as far as `earlier` says, and the
    /// engine's count since it opened. Once it is done they cover the whole run.
    public var earlier: Earlier? = nil
    /// Why the breakdown counts only from when the drill-down opened, when the input could not be read
    /// again (a stream read once, a filter before the report, a rotated file).
    public var liveOnly: String? = nil

    /// How far a recount of the input files got.
    public struct Reread: Sendable, Codable, Equatable {
        /// Lines read so far.
        public var lines: Int
        /// Lines the run's report counted (the files read again should hold as many).
        public var reportLines: Int
        /// Whether every file was read to its end.
        public var done: Bool
        /// Why reading stopped, when it failed.
        public var failure: String?
    }

    /// How far the count of the part read before the drill-down opened got.
    public struct Earlier: Sendable, Codable, Equatable {
        /// Bytes of that part read again so far, and its size.
        public var bytes: Int64
        public var of: Int64
        /// Whether all of it was read: the breakdown then covers the whole run.
        public var done: Bool
        /// Why reading stopped, when it failed (the breakdown then holds only what was read).
        public var failure: String?
    }
}
