import Foundation
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs
import TOMLKit

/// A pipeline described in TOML: where the lines come from, which tasks run between parse and the
/// report's aggregate (filter, map, window, group, topk, distinct, sessions) with their parameters, edges,
/// priority and workers, and where each task's results go. `streamtop run FILE` runs it,
/// `streamtop check FILE` validates it (errors name the line).
///
///     workers = 2
///     policy = "adaptive"
///
///     [source]
///     files = ["access.log"]       # or ["-"]; patterns allowed; relative to this file
///     mode = "replay"              # or "watch"
///     speed = "max"                # replay: 0.1 … 1000 or max
///     format = "auto"
///
///     [[task]]
///     name = "errors"
///     operator = "filter"
///     expression = "status >= 500"
///     priority = 1
///
///     [[task]]
///     name = "errors-per-minute"
///     operator = "window"
///     every = "1m"
///     lateness = "60s"
///     results = "errors-per-minute.ndjson"   # or .csv, or "-" for stdout
///     snapshot = "errors-per-minute.json"    # final JSON snapshot, replaced atomically
public struct PipelineFile: Sendable {
    /// Where lines come from.
    public struct Source: Sendable, Equatable {
        public var files: [String]
        public var mode: String
        public var speed: String
        public var format: String
        public var loop: Bool
        public var fromStart: Bool
    }

    /// Where checkpoints are kept (`state = "DIR"`), and how often (`checkpoint_every`), if the file asks.
    public var state: String?
    public var checkpointEvery: Double?
    /// Where the service endpoint listens (`listen = "HOST:PORT"`), and the file of its control token.
    public var listen: String?
    public var controlTokenFile: String?

    /// One task between parse and aggregate.
    public struct Task: Sendable {
        /// What the task does.
        public enum Operator: Sendable {
            case filter(FilterExpression)
            case map(MapOperator.Options)
            case window(seconds: Int64, slide: Int64?, lateness: Int64)
            case group(GroupOperator.Spec)
            case topk(field: RecordField, k: Int, capacity: Int, every: Int64?, slide: Int64?, lateness: Int64)
            case distinct(field: RecordField, exactLimit: Int, every: Int64?, slide: Int64?, lateness: Int64)
            case sessions(SessionOperator.Spec)

            /// Whether records leave the task as they came (true for the analytics tasks): a later task may
            /// then read from the task before it as if from a branch.
            /// The operator's name as pipeline files write it.
            public var kindName: String {
                switch self {
                case .filter: return "filter"
                case .map: return "map"
                case .window: return "window"
                case .group: return "group"
                case .topk: return "topk"
                case .distinct: return "distinct"
                case .sessions: return "sessions"
                }
            }

            public var passesThrough: Bool {
                switch self {
                case .filter, .map: return false
                default: return true
                }
            }
        }
        public var name: String
        public var op: Operator
        public var priority: Int
        public var workers: Int?
        /// Partitions of a stateful task's keyed state: up to this many workers can run it, and its results
        /// depend on this number, never on the workers (1 for filters and maps, which keep no state).
        public var partitions = 1
        /// The tasks it reads from (its edges): the one before it when not given; several for a union
        /// (analytics tasks only, which merge each source block's shares by event time).
        public var inputs: [String]
        /// The first of them (the one the task is drawn under).
        public var input: String { inputs[0] }
        /// Streaming results: NDJSON or CSV file, `-` for stdout, nil for none.
        public var results: String?
        /// Final JSON snapshot file, or nil.
        public var snapshot: String?
    }

    public var source: Source
    public var tasks: [Task]
    public var workers: Int?
    public var policy: SchedulingPolicy?
    /// The task whose records the report counts (`report_input`); nil: the maps that enrich every record
    /// (see `AccessPipeline.reportInput`), so a filter placed for one task never changes the report.
    public var reportInput: String?

    /// A mistake in a pipeline file, with its line (0 when unknown).
    public struct Mistake: Error, CustomStringConvertible, Equatable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    /// The most tasks a pipeline file may declare (each is a stage the engine schedules).
    public static let maxTasks = 256
    /// Parses and validates a pipeline file.
    public static func parse(_ text: String, file: String) throws -> PipelineFile {
        let table: TOMLTable
        do {
            table = try TOMLGuard.parse(text)
        } catch {
            throw Mistake(file: file, line: error.line, message: error.message)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        // Section headers, also with a comment after them (`[[task]]  # errors`).
        func isHeader(_ line: String, _ name: String) -> Bool {
            guard line.hasPrefix(name) else { return false }
            let rest = line.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
            return rest.isEmpty || rest.hasPrefix("#")
        }
        let taskHeaders = lines.indices.filter { isHeader(lines[$0], "[[task]]") }
        let sourceHeader = lines.firstIndex { isHeader($0, "[source]") }
        /// The line of `key = …` inside a section (task index, or -1 for [source], -2 for the top).
        func line(_ key: String, in section: Int) -> Int {
            let (from, to): (Int, Int)
            switch section {
            case -2: (from, to) = (0, ([sourceHeader].compactMap { $0 } + taskHeaders).min() ?? lines.count)
            case -1: (from, to) = (sourceHeader ?? 0, taskHeaders.first(where: { $0 > (sourceHeader ?? 0) }) ?? lines.count)
            default:
                // Tasks written as inline tables (`task = [{…}]`) have no header line: no line number then.
                guard section < taskHeaders.count else { return 0 }
                (from, to) = (taskHeaders[section], section + 1 < taskHeaders.count ? taskHeaders[section + 1] : lines.count)
            }
            // The key bare, or quoted (`"partitions" = 0` is the same key to TOML), perhaps indented.
            let spellings = [key, "\"" + key + "\"", "'" + key + "'"]
            for i in from..<to {
                let text = lines[i].drop { $0 == " " || $0 == "\t" }
                if spellings.contains(where: { text.hasPrefix($0 + " ") || text.hasPrefix($0 + "=") || text.hasPrefix($0 + "\t") }) { return i + 1 }
            }
            return section >= 0 ? taskHeaders[section] + 1 : 0
        }
        func fail(_ message: String, _ key: String, _ section: Int) -> Mistake { Mistake(file: file, line: line(key, in: section), message: message) }

        for key in table.keys where !["workers", "policy", "source", "task", "report_input", "state", "checkpoint_every", "listen", "control_token_file"].contains(key) {
            throw fail("unknown key '\(key)' (workers, policy, report_input, state, checkpoint_every, listen, control_token_file, [source], [[task]])", key, -2)
        }
        var listen: String?
        if let v = table["listen"] {
            guard let text = v.string, text.split(separator: ":", omittingEmptySubsequences: false).count == 2, UInt16(text.split(separator: ":", omittingEmptySubsequences: false)[1]) != nil else {
                throw fail("listen must be \"HOST:PORT\", e.g. listen = \"127.0.0.1:9464\"", "listen", -2)
            }
            listen = text
        }
        var controlTokenFile: String?
        if let v = table["control_token_file"] {
            guard let path = v.string, !path.isEmpty else { throw fail("control_token_file must be a path", "control_token_file", -2) }
            guard listen != nil else { throw fail("control_token_file needs listen = \"HOST:PORT\" (the address commands arrive on)", "control_token_file", -2) }
            controlTokenFile = path
        }
        var state: String?
        if let v = table["state"] {
            guard let dir = v.string, !dir.isEmpty else { throw fail("state must be a directory path, e.g. state = \"/var/lib/streamtop/site\"", "state", -2) }
            state = dir
        }
        var checkpointEvery: Double?
        if let v = table["checkpoint_every"] {
            guard let text = v.string, let seconds = Quantity.seconds(text), seconds >= 0.01, seconds <= 86_400 else {
                throw fail("checkpoint_every must be a duration from 10ms to 24h, e.g. \"10s\"", "checkpoint_every", -2)
            }
            guard state != nil else { throw fail("checkpoint_every needs state = \"DIR\" (where checkpoints go)", "checkpoint_every", -2) }
            checkpointEvery = seconds
        }
        var workers: Int?
        if let w = table["workers"] {
            guard let n = w.int, (1...256).contains(n) else { throw fail("workers must be a number from 1 to 256", "workers", -2) }
            workers = n
        }
        var policy: SchedulingPolicy?
        if let p = table["policy"] {
            guard let name = p.string, let v = SchedulingPolicy(name: name) else {
                throw fail("policy must be strict-priority, fair-share or adaptive", "policy", -2)
            }
            policy = v
        }
        guard let src = table["source"]?.table else { throw Mistake(file: file, line: 0, message: "a [source] section is required") }
        for key in src.keys where !["files", "kafka", "mode", "speed", "format", "loop", "from_start"].contains(key) {
            throw fail("unknown key '\(key)' in [source] (files, kafka, mode, speed, format, loop, from_start)", key, -1)
        }
        let files: [String]
        if let kafka = src["kafka"] {
            if src["files"] != nil { throw fail("[source] reads files or a Kafka topic, not both", "kafka", -1) }
            files = [try Self.kafkaAddress(kafka, fail: fail)]
        } else {
            guard let filesValue = src["files"]?.array else { throw fail("[source] needs files = [\"access.log\", …] or kafka = { brokers = [\"host:9092\"], topic = \"…\" }", "files", -1) }
            files = filesValue.compactMap { $0.string }
            guard !files.isEmpty, files.count == filesValue.count else { throw fail("files must be a list of paths", "files", -1) }
        }
        let mode = src["mode"]?.string ?? "replay"
        guard ["replay", "watch"].contains(mode) else { throw fail("mode must be replay or watch", "mode", -1) }
        let speed = src["speed"]?.string ?? (src["speed"]?.double.map { String($0) } ?? src["speed"]?.int.map { String($0) } ?? "max")
        if speed != "max" {
            guard Quantity.speed(speed) != nil else { throw fail("speed must be 0.1 to 1000 or \"max\"", "speed", -1) }
        }
        let format = src["format"]?.string ?? "auto"
        guard format == "auto" || LogFormat.preset(format) != nil else {
            throw fail("unknown format '\(format)' (auto, \(LogFormat.presetNames.joined(separator: ", ")))", "format", -1)
        }
        let source = Source(files: files, mode: mode, speed: speed, format: format, loop: src["loop"]?.bool ?? false, fromStart: src["from_start"]?.bool ?? false)

        var tasks: [Task] = []
        var names = Set(["source", "parse", "normalize", "aggregate", "sink"])
        let taskTables = table["task"]?.array ?? []
        guard taskTables.count <= maxTasks else {
            throw Mistake(file: file, line: taskHeaders.count > maxTasks ? taskHeaders[maxTasks] + 1 : 0, message: "\(taskTables.count) tasks; a pipeline may have at most \(maxTasks)")
        }
        var outputs: [String: String] = [:]
        for (i, value) in taskTables.enumerated() {
            guard let t = value.table else { throw Mistake(file: file, line: taskHeaders.count > i ? taskHeaders[i] + 1 : 0, message: "[[task]] must be a table") }
            let task = try TaskReader(table: t, index: i, fail: fail).read(names: &names, previous: tasks)
            for (key, path) in [("results", task.results), ("snapshot", task.snapshot)] {
                // Tasks may share a result topic: each row's key starts with its task.
                guard let path, path != "-", !path.hasPrefix("/dev/"), !KafkaAddress.isKafka(path) else { continue }
                if let other = outputs[path] { throw fail("\(key) \"\(path)\" is already written by \(other); each task needs its own file", key, i) }
                if files.contains(path) { throw fail("\(key) \"\(path)\" is an input of this pipeline; writing it would destroy it", key, i) }
                outputs[path] = "the \(key == "results" ? "results" : "snapshot") of task '\(task.name)'"
            }
            tasks.append(task)
        }
        var reportInput: String?
        if let r = table["report_input"] {
            guard let name = r.string, name == "parse" || tasks.contains(where: { $0.name == name }) else {
                throw fail("report_input must name parse or a task of this file", "report_input", -2)
            }
            // A union passes on each input's share apart: the report would count those lines once per input.
            if let t = tasks.first(where: { $0.name == name }), t.inputs.count > 1 {
                throw fail("report_input cannot be \(name), a union: it passes on each input's records apart, and the report would count them once per input", "report_input", -2)
            }
            reportInput = name
        }
        var pipeline = PipelineFile(source: source, tasks: tasks, workers: workers, policy: policy, reportInput: reportInput)
        pipeline.state = state
        pipeline.checkpointEvery = checkpointEvery
        pipeline.listen = listen
        pipeline.controlTokenFile = controlTokenFile
        return pipeline
    }
}

extension PipelineFile {
    /// `[source] kafka = { brokers = ["host:9092"], topic = "…", group = "…", from = "beginning" }` as the
    /// address the runner reads (`kafka://host:9092/topic?group=…`).
    static func kafkaAddress(_ value: TOMLValueConvertible, fail: (String, String, Int) -> Mistake) throws -> String {
        guard let t = value.table else { throw fail("kafka must be a table: kafka = { brokers = [\"host:9092\"], topic = \"access_log_topic\", group = \"streamtop\" }", "kafka", -1) }
        for key in t.keys where !["brokers", "topic", "group", "from"].contains(key) {
            throw fail("unknown key '\(key)' in kafka (brokers, topic, group, from)", "kafka", -1)
        }
        guard let list = t["brokers"]?.array, !list.isEmpty, list.allSatisfy({ $0.string != nil }) else {
            throw fail("kafka needs brokers = [\"host:9092\", …]", "kafka", -1)
        }
        guard let topic = t["topic"]?.string else { throw fail("kafka needs topic = \"…\"", "kafka", -1) }
        var query: [String] = []
        if let g = t["group"] { guard let s = g.string else { throw fail("kafka group must be a string", "kafka", -1) }; query.append("group=\(s)") }
        if let f = t["from"] { guard let s = f.string else { throw fail("kafka from must be \"beginning\" or \"latest\"", "kafka", -1) }; query.append("from=\(s)") }
        let text = "kafka://\(list.compactMap { $0.string }.joined(separator: ","))/\(topic)\(query.isEmpty ? "" : "?" + query.joined(separator: "&"))"
        do {
            return try KafkaAddress(parsing: text).description
        } catch let e as KafkaError {
            throw fail(e.description, "kafka", -1)
        }
    }
}
