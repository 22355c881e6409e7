import Foundation
import StreamtopEngine
import StreamtopLogs

/// The final report of a headless run. The first fields are the contract in `REPORT-CONTRACT.md`
/// (names and meanings are stable); the rest are extras that scripts may use.
public struct HeadlessReport: Encodable {
    /// The aggregates.
    public var summary: AccessSummary
    /// Malformed lines per reason.
    public var malformedReasons: [MalformedReason: Int]
    /// Wall-clock seconds the run took.
    public var elapsedSeconds: Double
    /// Final per-task metrics.
    public var tasks: [TaskSnapshot]
    /// The decision log.
    public var decisions: [Decision]
    /// Worker threads used.
    public var workers: Int
    /// The filter expression, when the run had one (records then counts only matching lines).
    public var filter: String?
    /// Set when a second stop signal ended the run before every queued record was processed.
    public var interrupted = false
    /// A Kafka input's partitions and lag at the end.
    public var kafka: PartitionStatus?
    /// Rehearsals still active at the end (`inject …`), if any.
    public var injections: [String]?

    /// Creates a report.
    public init(summary: AccessSummary, malformedReasons: [MalformedReason: Int], elapsedSeconds: Double, tasks: [TaskSnapshot], decisions: [Decision], workers: Int) {
        self.summary = summary
        self.malformedReasons = malformedReasons
        self.elapsedSeconds = elapsedSeconds
        self.tasks = tasks
        self.decisions = decisions
        self.workers = workers
        self.filter = nil
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct MinuteEntry: Encodable {
        var minute: String
        var count: Int
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        let s = summary
        try c.encode(s.lines, forKey: Key("lines"))
        try c.encode(s.records, forKey: Key("records"))
        try c.encode(s.malformed, forKey: Key("malformed"))
        try c.encode(s.bytes, forKey: Key("bytes"))
        // Object keys come out sorted (the encoder sorts them), as the reference prints them.
        try c.encode(s.status, forKey: Key("status"))
        try c.encode(s.methods, forKey: Key("methods"))
        try c.encode(s.topPaths, forKey: Key("top_paths"))
        try c.encode(s.topClients, forKey: Key("top_clients"))
        try c.encode(s.uniqueClients, forKey: Key("unique_clients"))
        try c.encode(s.firstEvent.map(LogTime.iso8601), forKey: Key("first_event"))
        try c.encode(s.lastEvent.map(LogTime.iso8601), forKey: Key("last_event"))
        try c.encode(s.perMinute.map { MinuteEntry(minute: LogTime.iso8601($0.minute), count: $0.count) }, forKey: Key("per_minute"))
        // Extras beyond the contract.
        try c.encode(s.uniquePaths, forKey: Key("unique_paths"))
        if s.clientsUndercount > 0 || s.pathsUndercount > 0 {
            // --max-keys dropped keys: say what is now an estimate, and by how much.
            try c.encode(s.uniqueClientsEstimated, forKey: Key("unique_clients_estimated"))
            try c.encode(s.uniquePathsEstimated, forKey: Key("unique_paths_estimated"))
            try c.encode(s.clientsUndercount, forKey: Key("top_clients_max_undercount"))
            try c.encode(s.pathsUndercount, forKey: Key("top_paths_max_undercount"))
        }
        try c.encode(s.filtered, forKey: Key("filtered"))
        if let f = filter { try c.encode(f, forKey: Key("filter")) }
        if interrupted { try c.encode(true, forKey: Key("interrupted")) }
        if let kafka { try c.encode(KafkaReport(kafka), forKey: Key("kafka")) }
        if let injections { try c.encode(injections, forKey: Key("injections")) }
        if let rt = s.requestTime { try c.encode(rt, forKey: Key("request_time_us")) }
        try c.encode(
            Dictionary(uniqueKeysWithValues: malformedReasons.map { ($0.key.key, $0.value) }), forKey: Key("malformed_reasons"))
        try c.encode((elapsedSeconds * 1000).rounded() / 1000, forKey: Key("elapsed_seconds"))
        try c.encode(elapsedSeconds > 0 ? (Double(s.lines) / elapsedSeconds).rounded() : 0, forKey: Key("lines_per_second"))
        try c.encode(workers, forKey: Key("workers"))
        try c.encode(tasks.map(TaskReport.init), forKey: Key("tasks"))
        try c.encode(decisions, forKey: Key("decisions"))
    }

    /// The report as one line of JSON.
    public func json() throws -> String {
        String(decoding: try Self.encoder().encode(self), as: UTF8.self)
    }

    /// The JSON encoder for every machine-readable output: one line, keys sorted so output is stable.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }
}

/// A task's final metrics in the report.
struct TaskReport: Encodable {
    var name: String
    var records_in: Int
    var records_out: Int
    var records_filtered: Int
    var bytes_in: Int
    var bytes_out: Int
    var quanta: Int
    var workers: Int
    var priority: Int
    var state: String
    var batch_latency_ns: LatencySummary
    var record_latency_ns: LatencySummary
    var ns_per_record: Double

    init(_ t: TaskSnapshot) {
        name = t.name
        records_in = t.recordsIn
        records_out = t.recordsOut
        records_filtered = t.recordsFiltered
        bytes_in = t.bytesIn
        bytes_out = t.bytesOut
        quanta = t.quanta
        workers = t.workers
        priority = t.priority
        state = t.state.rawValue
        batch_latency_ns = t.latency
        record_latency_ns = t.recordLatency
        ns_per_record = (t.nanosPerRecord * 10).rounded() / 10
    }
}
