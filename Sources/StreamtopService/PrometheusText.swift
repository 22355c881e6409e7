import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// The Prometheus text exposition (format 0.0.4) of a published snapshot: the pipeline's own figures per
/// task and edge, the traffic operators alert on, the last checkpoint, and the process's CPU and memory.
///
/// Built from immutable snapshots only (never a live operator). Labels are bounded by the pipeline's shape
/// (tasks, edges, malformed reasons, status classes): never a label per path or client.
public struct PrometheusText {
    private var out = ""

    /// Renders everything a scrape returns.
    public static func render(_ snap: EngineSnapshot, malformed: [MalformedReason: Int], process: ProcessStats = .current(), backlog: Int64? = nil, partitions: PartitionStatus? = nil) -> String {
        var p = PrometheusText()
        p.engine(snap)
        if let k = partitions {
            p.family("streamtop_kafka_consumer_lag", "gauge", "Messages behind the end of each partition this instance reads.")
            for (part, lag) in zip(k.partitions, k.lag) {
                guard let lag else { continue }  // not known yet
                p.sample("streamtop_kafka_consumer_lag", [("partition", String(part))], Double(lag))
            }
            p.family("streamtop_kafka_partitions_assigned", "gauge", "Partitions of the topic this instance reads.")
            p.sample("streamtop_kafka_partitions_assigned", [], Double(k.partitions.count))
            p.family("streamtop_kafka_brokers_unreachable", "gauge", "1 while no broker answers.")
            p.sample("streamtop_kafka_brokers_unreachable", [], k.unreachableSince == nil ? 0 : 1)
        }
        if let backlog {
            // What an alert on "the pipeline falls behind its log" watches (consumer lag, for files).
            p.family("streamtop_input_backlog_bytes", "gauge", "Bytes written to the followed files and not read yet.")
            p.sample("streamtop_input_backlog_bytes", [], Double(backlog))
        }
        p.traffic(AccessSummary.published(in: snap), malformed: malformed)
        if let c = snap.checkpoint { p.checkpoint(c, now: snap.time) }
        p.process(process)
        return p.out
    }

    private mutating func family(_ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        out += name
        if !labels.isEmpty {
            out += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        out += " " + Self.number(value) + "\n"
    }

    /// A label value with backslash, quote and newline escaped (task names come from pipeline files).
    static func escape(_ s: String) -> String {
        var r = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": r += "\\\\"
            case "\"": r += "\\\""
            case "\n": r += "\\n"
            default: r.unicodeScalars.append(ch)
            }
        }
        return r
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    private mutating func engine(_ snap: EngineSnapshot) {
        family("streamtop_uptime_seconds", "gauge", "Seconds since the pipeline started.")
        sample("streamtop_uptime_seconds", [], snap.time)
        family("streamtop_workers", "gauge", "Worker threads of the engine.")
        sample("streamtop_workers", [], Double(snap.workers))
        family("streamtop_input_ended", "gauge", "1 once the input has ended.")
        sample("streamtop_input_ended", [], snap.inputEnded ? 1 : 0)
        let counters: [(String, String, (TaskSnapshot) -> Double)] = [
            ("streamtop_task_records_in_total", "Records a task took in.", { Double($0.recordsIn) }),
            ("streamtop_task_records_out_total", "Records a task handed on.", { Double($0.recordsOut) }),
            ("streamtop_task_records_filtered_total", "Records a task removed on purpose (filtered, malformed).", { Double($0.recordsFiltered) }),
            ("streamtop_task_bytes_in_total", "Bytes a task took in.", { Double($0.bytesIn) }),
            ("streamtop_task_bytes_out_total", "Bytes a task handed on.", { Double($0.bytesOut) }),
            ("streamtop_task_busy_seconds_total", "Time a task's workers spent processing; for the source, reading input, waiting for it included (a followed file's source is busy while it waits: its input limits the pipeline).", { $0.busySeconds }),
            ("streamtop_task_backpressured_seconds_total", "Time a task had input but no room downstream.", { $0.backpressuredSeconds }),
        ]
        for (name, help, value) in counters {
            family(name, "counter", help)
            for t in snap.tasks { sample(name, [("task", t.name)], value(t)) }
        }
        let gauges: [(String, String, (TaskSnapshot) -> Double)] = [
            ("streamtop_task_workers", "Workers allocated to a task.", { Double($0.workers) }),
            ("streamtop_task_priority", "A task's scheduling priority.", { Double($0.priority) }),
            ("streamtop_task_paused", "1 while a task is paused.", { $0.state == .paused ? 1 : 0 }),
        ]
        for (name, help, value) in gauges {
            family(name, "gauge", help)
            for t in snap.tasks { sample(name, [("task", t.name)], value(t)) }
        }
        family("streamtop_task_batch_latency_seconds", "summary", "Time to process one block, over the recent window.")
        for t in snap.tasks {
            for (q, v) in [("0.5", t.latency.p50), ("0.95", t.latency.p95), ("0.99", t.latency.p99)] {
                sample("streamtop_task_batch_latency_seconds", [("task", t.name), ("quantile", q)], Double(v) / 1e9)
            }
            sample("streamtop_task_batch_latency_seconds_count", [("task", t.name)], Double(t.latency.count))
        }
        family("streamtop_edge_queue_depth", "gauge", "Blocks waiting on an edge of the task graph.")
        for e in snap.edges { sample("streamtop_edge_queue_depth", [("edge", "\(e.from)->\(e.to)")], Double(e.depth)) }
        family("streamtop_edge_queue_capacity", "gauge", "Blocks an edge holds before it pushes back.")
        for e in snap.edges { sample("streamtop_edge_queue_capacity", [("edge", "\(e.from)->\(e.to)")], Double(e.capacity)) }
    }

    private mutating func traffic(_ s: AccessSummary, malformed: [MalformedReason: Int]) {
        family("streamtop_lines_total", "counter", "Log lines read (the report's lines).")
        sample("streamtop_lines_total", [], Double(s.lines))
        family("streamtop_requests_total", "counter", "Requests counted (well-formed lines that passed the filter).")
        sample("streamtop_requests_total", [], Double(s.records))
        family("streamtop_responses_total", "counter", "Responses by status class.")
        var classes: [String: Int] = [:]
        for (code, n) in s.status { classes["\(code.prefix(1))xx", default: 0] += n }
        for k in classes.keys.sorted() { sample("streamtop_responses_total", [("class", k)], Double(classes[k]!)) }
        family("streamtop_response_bytes_total", "counter", "Response bytes served.")
        sample("streamtop_response_bytes_total", [], Double(s.bytes))
        family("streamtop_malformed_lines_total", "counter", "Lines that did not parse, by reason.")
        for r in MalformedReason.allCases { sample("streamtop_malformed_lines_total", [("reason", r.key)], Double(malformed[r] ?? 0)) }
        if let rt = s.requestTime {
            family("streamtop_request_duration_seconds", "summary", "Time the server took to serve a request, as logged.")
            for (q, v) in [("0.5", rt.p50), ("0.95", rt.p95), ("0.99", rt.p99)] {
                sample("streamtop_request_duration_seconds", [("quantile", q)], Double(v) / 1e6)
            }
            sample("streamtop_request_duration_seconds_count", [], Double(rt.count))
        }
    }

    private mutating func checkpoint(_ c: CheckpointStatus, now: Double) {
        family("streamtop_checkpoint_number", "gauge", "Number of the last complete checkpoint.")
        sample("streamtop_checkpoint_number", [], Double(c.number))
        if c.number > 0 && c.time > 0 {
            family("streamtop_checkpoint_age_seconds", "gauge", "Seconds since the last complete checkpoint.")
            sample("streamtop_checkpoint_age_seconds", [], max(0, now - c.time))
            family("streamtop_checkpoint_pause_seconds", "gauge", "How long the last checkpoint stopped the pipeline.")
            sample("streamtop_checkpoint_pause_seconds", [], Double(c.pauseNanos) / 1e9)
            family("streamtop_checkpoint_write_seconds", "gauge", "How long writing the last checkpoint took.")
            sample("streamtop_checkpoint_write_seconds", [], Double(c.writeNanos) / 1e9)
            family("streamtop_checkpoint_size_bytes", "gauge", "Size of the last checkpoint on disk.")
            sample("streamtop_checkpoint_size_bytes", [], Double(c.bytes))
        }
        family("streamtop_checkpoint_failures_total", "counter", "Checkpoints that could not be written.")
        sample("streamtop_checkpoint_failures_total", [], Double(c.failures))
    }

    private mutating func process(_ p: ProcessStats) {
        family("process_cpu_seconds_total", "counter", "User and system CPU time of the process.")
        sample("process_cpu_seconds_total", [], p.cpuSeconds)
        family("process_resident_memory_bytes", "gauge", "Resident memory of the process.")
        sample("process_resident_memory_bytes", [], Double(p.residentBytes))
    }
}

/// The process's CPU time and resident memory, from /proc/self.
public struct ProcessStats: Sendable {
    /// User plus system CPU seconds.
    public var cpuSeconds: Double
    /// Resident set size in bytes.
    public var residentBytes: Int

    /// Reads them now (zeros where /proc is not available).
    public static func current() -> ProcessStats {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        var rss = 0
        if let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = text.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { rss = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        return ProcessStats(cpuSeconds: cpu, residentBytes: rss)
    }
}
