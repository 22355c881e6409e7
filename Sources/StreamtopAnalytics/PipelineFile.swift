import Foundation
import StreamtopEngine
import StreamtopLogs
import TOMLKit

/// A pipeline described in TOML: where the lines come from and which tasks run between parse and the
/// report's aggregate, with their parameters, priority and workers. `streamtop run FILE` runs it,
/// `streamtop check FILE` validates it (errors name the line).
///
///     workers = 2
///     policy = "adaptive"
///
///     [source]
///     files = ["access.log"]       # or ["-"]; patterns allowed
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
///     results = "errors-per-minute.ndjson"
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

    /// One task between parse and aggregate.
    public struct Task: Sendable {
        /// What the task does.
        public enum Operator: Sendable {
            case filter(FilterExpression)
            case window(seconds: Int64, lateness: Int64, results: String)
            case group(by: GroupOperator.Key, results: String, limit: Int)
        }
        public var name: String
        public var op: Operator
        public var priority: Int
        public var workers: Int?
    }

    public var source: Source
    public var tasks: [Task]
    public var workers: Int?
    public var policy: SchedulingPolicy?

    /// A mistake in a pipeline file, with its line (0 when unknown).
    public struct Mistake: Error, CustomStringConvertible, Equatable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    /// Parses and validates a pipeline file.
    public static func parse(_ text: String, file: String) throws -> PipelineFile {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw Mistake(file: file, line: e.source.begin.line, message: e.description)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let taskHeaders = lines.indices.filter { lines[$0] == "[[task]]" }
        let sourceHeader = lines.firstIndex(of: "[source]")
        /// The line of `key = …` inside a section (task index, or -1 for [source], -2 for the top).
        func line(_ key: String, in section: Int) -> Int {
            let (from, to): (Int, Int)
            switch section {
            case -2: (from, to) = (0, ([sourceHeader].compactMap { $0 } + taskHeaders).min() ?? lines.count)
            case -1: (from, to) = (sourceHeader ?? 0, taskHeaders.first(where: { $0 > (sourceHeader ?? 0) }) ?? lines.count)
            default: (from, to) = (taskHeaders[section], section + 1 < taskHeaders.count ? taskHeaders[section + 1] : lines.count)
            }
            for i in from..<to where lines[i].hasPrefix(key + " ") || lines[i].hasPrefix(key + "=") { return i + 1 }
            return section >= 0 ? taskHeaders[section] + 1 : 0
        }
        func fail(_ message: String, _ key: String, _ section: Int) -> Mistake { Mistake(file: file, line: line(key, in: section), message: message) }

        for key in table.keys where !["workers", "policy", "source", "task"].contains(key) {
            throw fail("unknown key '\(key)' (workers, policy, [source], [[task]])", key, -2)
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
        for key in src.keys where !["files", "mode", "speed", "format", "loop", "from_start"].contains(key) {
            throw fail("unknown key '\(key)' in [source] (files, mode, speed, format, loop, from_start)", key, -1)
        }
        guard let filesValue = src["files"]?.array else { throw fail("[source] needs files = [\"access.log\", …]", "files", -1) }
        let files = filesValue.compactMap { $0.string }
        guard !files.isEmpty, files.count == filesValue.count else { throw fail("files must be a list of paths", "files", -1) }
        let mode = src["mode"]?.string ?? "replay"
        guard ["replay", "watch"].contains(mode) else { throw fail("mode must be replay or watch", "mode", -1) }
        let speed = src["speed"]?.string ?? (src["speed"]?.double.map { String($0) } ?? src["speed"]?.int.map { String($0) } ?? "max")
        if speed != "max" {
            guard let v = Double(speed), v >= 0.1, v <= 1000 else { throw fail("speed must be 0.1 to 1000 or \"max\"", "speed", -1) }
        }
        let format = src["format"]?.string ?? "auto"
        guard format == "auto" || LogFormat.preset(format) != nil else {
            throw fail("unknown format '\(format)' (auto, \(LogFormat.presetNames.joined(separator: ", ")))", "format", -1)
        }
        let source = Source(files: files, mode: mode, speed: speed, format: format, loop: src["loop"]?.bool ?? false, fromStart: src["from_start"]?.bool ?? false)

        var tasks: [Task] = []
        var names = Set(["source", "parse", "aggregate", "sink"])
        for (i, value) in (table["task"]?.array ?? []).enumerated() {
            guard let t = value.table else { throw Mistake(file: file, line: taskHeaders.count > i ? taskHeaders[i] + 1 : 0, message: "[[task]] must be a table") }
            for key in t.keys where !["name", "operator", "expression", "every", "lateness", "results", "priority", "workers", "by", "limit"].contains(key) {
                throw fail("unknown key '\(key)' in [[task]] (name, operator, expression, every, lateness, results, by, limit, priority, workers)", key, i)
            }
            guard let name = t["name"]?.string, !name.isEmpty else { throw fail("a task needs a name", "name", i) }
            guard names.insert(name).inserted else { throw fail("task name '\(name)' is used twice (or is a built-in task)", "name", i) }
            let priority = t["priority"]?.int ?? 0
            let taskWorkers = t["workers"]?.int
            if let w = taskWorkers, w < 1 { throw fail("workers must be at least 1", "workers", i) }
            let op: Task.Operator
            switch t["operator"]?.string {
            case "filter":
                guard let expr = t["expression"]?.string else { throw fail("a filter needs expression = \"…\"", "operator", i) }
                do {
                    op = .filter(try FilterExpression.parse(expr))
                } catch let e as FilterError {
                    throw fail("expression, \(e.description)", "expression", i)
                }
            case "window":
                guard let every = t["every"]?.string, let s = ActionScript.seconds(every), s >= 1 else {
                    throw fail("a window needs every = \"1m\" (a duration of at least 1s)", "every", i)
                }
                let lateness = ActionScript.seconds(t["lateness"]?.string ?? "60s")
                guard let l = lateness else { throw fail("lateness must be a duration like \"60s\"", "lateness", i) }
                op = .window(seconds: Int64(s), lateness: Int64(l), results: t["results"]?.string ?? "\(name).ndjson")
            case "group":
                guard let byName = t["by"]?.string, let by = GroupOperator.Key(rawValue: byName) else {
                    throw fail("a group needs by = one of \(GroupOperator.Key.allCases.map(\.rawValue).joined(separator: ", "))", "by", i)
                }
                let limit = t["limit"]?.int ?? 1000
                guard limit >= 1 else { throw fail("limit must be at least 1", "limit", i) }
                op = .group(by: by, results: t["results"]?.string ?? "\(name).json", limit: limit)
            case let other:
                throw fail("unknown operator '\(other ?? "")' (filter, window, group)", "operator", i)
            }
            tasks.append(Task(name: name, op: op, priority: priority, workers: taskWorkers))
        }
        return PipelineFile(source: source, tasks: tasks, workers: workers, policy: policy)
    }
}
