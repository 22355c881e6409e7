import StreamtopEngine
import StreamtopLogs
import TOMLKit

/// Reads one `[[task]]` table of a pipeline file into a task, with a line-numbered mistake for anything
/// wrong: unknown keys, missing parameters, values out of range, edges the linear engine cannot honour.
struct TaskReader {
    let table: TOMLTable
    let index: Int
    let fail: (String, String, Int) -> PipelineFile.Mistake

    static let common = ["name", "operator", "priority", "workers", "partitions", "input", "results", "snapshot"]
    static let windowKeys = ["every", "slide", "lateness"]
    static let keys: [String: [String]] = [
        "filter": ["expression"],
        "map": ["normalize_paths", "client_prefix", "mark_bots"],
        "window": windowKeys,
        "group": ["by", "measures", "percentiles", "limit", "max_groups"] + windowKeys,
        "topk": ["field", "k", "capacity"] + windowKeys,
        "distinct": ["field", "exact_limit"] + windowKeys,
        "sessions": ["user", "gap", "per_user", "limit"] + windowKeys,
    ]
    static let operators = ["filter", "map", "window", "group", "topk", "distinct", "sessions"]

    func mistake(_ message: String, _ key: String) -> PipelineFile.Mistake { fail(message, key, index) }

    func read(names: inout Set<String>, previous: [PipelineFile.Task]) throws -> PipelineFile.Task {
        guard let name = table["name"]?.string, !name.isEmpty else { throw mistake("a task needs a name", "name") }
        // A name is typed in commands (`pause NAME`, `workers NAME 2`) and shown in a column: one word.
        guard name.utf8.count <= 64, name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.".unicodeScalars.contains($0) }) else {
            throw mistake("task name '\(Escaped.text(name))' must be one word of letters, digits, '-', '_' or '.' (at most 64 bytes): commands name it", "name")
        }
        guard let opName = table["operator"]?.string, let allowed = Self.keys[opName] else {
            throw mistake("unknown operator '\(table["operator"]?.string ?? "")' (\(Self.operators.joined(separator: ", ")))", "operator")
        }
        for key in table.keys where !(Self.common + allowed).contains(key) {
            throw mistake("unknown key '\(key)' for a \(opName) task (\((Self.common + allowed).joined(separator: ", ")))", key)
        }
        guard names.insert(name).inserted else { throw mistake("task name '\(name)' is used twice (or is a built-in task)", "name") }
        let priority = try int("priority", default: 0, in: -100...100)
        var workers: Int?
        if table["workers"] != nil { workers = try int("workers", default: 1, in: 1...256) }

        let op: PipelineFile.Task.Operator
        switch opName {
        case "filter":
            guard let expr = table["expression"]?.string else { throw mistake("a filter needs expression = \"…\"", "operator") }
            do {
                op = .filter(try FilterExpression.parse(expr))
            } catch let e as FilterError {
                throw mistake("expression, \(e.description)", "expression")
            }
        case "map":
            var o = MapOperator.Options()
            o.normalizePaths = try bool("normalize_paths")
            o.markBots = try bool("mark_bots")
            if table["client_prefix"] != nil { o.clientPrefix = try int("client_prefix", default: 24, in: 0...32) }
            guard o.normalizePaths || o.markBots || o.clientPrefix != nil else {
                throw mistake("a map needs normalize_paths = true, client_prefix = 24 or mark_bots = true", "operator")
            }
            op = .map(o)
        case "window":
            guard table["every"] != nil else { throw mistake("a window needs every = \"1m\"", "operator") }
            let w = try window(required: true)
            op = .window(seconds: w.every!, slide: w.slide, lateness: w.lateness)
        case "group":
            var spec = GroupOperator.Spec(by: try fields("by", required: true))
            if let list = table["measures"] {
                let measures = (list.array ?? []).compactMap { $0.string.flatMap(RecordMeasure.init(rawValue:)) }
                guard !measures.isEmpty, measures.count == list.array?.count else {
                    throw mistake("measures must be a list of \(RecordMeasure.allCases.map(\.rawValue).joined(separator: ", "))", "measures")
                }
                spec.measures = measures
            }
            if let list = table["percentiles"] {
                let values = list.array?.compactMap { $0.double ?? $0.int.map(Double.init) } ?? []
                guard values.count == list.array?.count, values.allSatisfy({ $0 > 0 && $0 <= 100 }) else {
                    throw mistake("percentiles must be a list of numbers in (0, 100], e.g. [50, 95, 99]", "percentiles")
                }
                spec.percentiles = values
            }
            spec.limit = try int("limit", default: 1000, in: 1...10_000_000)
            spec.maxGroups = try int("max_groups", default: 100_000, in: 1...100_000_000)
            let w = try window(required: false)
            (spec.every, spec.slide, spec.lateness) = (w.every, w.slide, w.lateness)
            op = .group(spec)
        case "topk":
            let field = try fields("field", required: true)
            guard field.count == 1 else { throw mistake("field must be one field", "field") }
            let k = try int("k", default: 10, in: 1...100_000)
            let capacity = try int("capacity", default: max(1000, k * 10), in: k...10_000_000)
            let w = try window(required: false)
            op = .topk(field: field[0], k: k, capacity: capacity, every: w.every, slide: w.slide, lateness: w.lateness)
        case "distinct":
            let field = try fields("field", required: true)
            guard field.count == 1 else { throw mistake("field must be one field", "field") }
            let w = try window(required: false)
            op = .distinct(field: field[0], exactLimit: try int("exact_limit", default: 4096, in: 0...10_000_000), every: w.every, slide: w.slide, lateness: w.lateness)
        default:  // sessions
            var spec = SessionOperator.Spec()
            if table["user"] != nil {
                let f = try fields("user", required: true)
                guard f.count == 1 else { throw mistake("user must be one field (user = client and agent, client, network…)", "user") }
                spec.user = f[0]
            }
            if table["gap"] != nil { spec.gap = try duration("gap") }
            guard table["slide"] == nil else { throw mistake("sessions use tumbling windows: no slide", "slide") }
            let w = try window(required: false)
            if let e = w.every { spec.every = e }
            spec.lateness = w.lateness
            spec.perUser = try bool("per_user")
            spec.limit = try int("limit", default: 100_000, in: 1...100_000_000)
            op = .sessions(spec)
        }

        // Stateful tasks split their keyed state into partitions, fixed here so that results never depend
        // on how many workers run them (by default one per worker asked for).
        var partitions = 1
        if op.passesThrough {
            partitions = try int("partitions", default: workers ?? 1, in: 1...64)
            if table["partitions"] == nil, let w = workers, w > 64 {
                throw mistake("workers = \(w) would split the \(opName) task into \(w) partitions; at most 64", "workers")
            }
            if let w = workers, w > partitions {
                throw mistake("a \(opName) task runs on at most one worker per partition: workers = \(w) needs partitions = \(w) or more", "workers")
            }
        } else if table["partitions"] != nil {
            throw mistake("a \(opName) task keeps no state to partition: workers = N is enough", "partitions")
        }
        // Edges of the task graph: the task named, or the one above (parse for the first); a list names a
        // union. Inputs must be defined above, so the graph has no cycle.
        var inputs = [previous.last?.name ?? "parse"]
        if let value = table["input"] {
            if let list = value.array {
                let names = list.compactMap(\.string)
                guard names.count == list.count, !names.isEmpty else { throw mistake("input must name a task, or list tasks (a union)", "input") }
                inputs = names
            } else {
                guard let name = value.string else { throw mistake("input must name a task, or list tasks (a union)", "input") }
                inputs = [name]
            }
            for input in inputs {
                guard input == "parse" || previous.contains(where: { $0.name == input }) else {
                    let known = ["parse"] + previous.map(\.name)
                    let hint = input == name ? " (a task cannot read itself)" : OperatorCommand.didYouMean(input, among: known)
                    throw mistake("input '\(input)' is not parse or a task defined above\(hint)", "input")
                }
                // A union passes on each input's share of a block apart, in turn: a task reading it would
                // get them as if they were blocks of their own.
                if let p = previous.first(where: { $0.name == input }), p.inputs.count > 1 {
                    throw mistake("input '\(input)' is a union, which passes on each input's records apart: read its inputs (\(p.inputs.joined(separator: ", "))) instead", "input")
                }
            }
            if let twice = inputs.first(where: { i in inputs.filter { $0 == i }.count > 1 }) {
                throw mistake("input lists '\(twice)' twice (a union reads each task once)", "input")
            }
            if inputs.count > 1 {
                switch op {
                case .filter, .map:
                    throw mistake("a \(opName) task reads one input; a union is read by an analytics task (window, group, topk, distinct, sessions), which merges each block's shares by event time (or use one filter with 'or')", "input")
                default: break
                }
            }
        }
        var results: String? = table["results"]?.string
        if table["results"] != nil && results == nil { throw mistake("results must be a file name (.ndjson, .jsonl, .csv) or \"-\"", "results") }
        let snapshot = table["snapshot"]?.string
        if table["snapshot"] != nil && snapshot == nil { throw mistake("snapshot must be a file name", "snapshot") }
        switch op {
        case .filter, .map:
            guard results == nil, snapshot == nil else { throw mistake("a \(opName) task has no results: it changes the records for the tasks after it", table["results"] != nil ? "results" : "snapshot") }
        case .group(let spec) where spec.every == nil:
            // A whole-input table is one result: a JSON snapshot unless asked otherwise.
            if results == nil && snapshot == nil { return task(name, op, priority, workers, partitions, inputs, nil, "\(name).json") }
        default:
            if results == nil && snapshot == nil { results = "\(name).ndjson" }
        }
        return task(name, op, priority, workers, partitions, inputs, results, snapshot)
    }

    private func task(_ name: String, _ op: PipelineFile.Task.Operator, _ priority: Int, _ workers: Int?, _ partitions: Int, _ inputs: [String], _ results: String?, _ snapshot: String?) -> PipelineFile.Task {
        var t = PipelineFile.Task(name: name, op: op, priority: priority, workers: workers, inputs: inputs, results: results, snapshot: snapshot)
        t.partitions = partitions
        return t
    }

    private func int(_ key: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let v = table[key] else { return d }
        guard let n = v.int, range.contains(n) else { throw mistake("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)", key) }
        return n
    }

    private func bool(_ key: String) throws -> Bool {
        guard let v = table[key] else { return false }
        guard let b = v.bool else { throw mistake("\(key) must be true or false", key) }
        return b
    }

    private func duration(_ key: String) throws -> Int64 {
        guard let text = table[key]?.string, let s = ActionScript.seconds(text), s >= 1, s == s.rounded() else {
            throw mistake("\(key) must be a duration of whole seconds like \"30s\", \"5m\", \"1h\"", key)
        }
        return Int64(s)
    }

    private func fields(_ key: String, required: Bool) throws -> [RecordField] {
        let names: [String]
        if let one = table[key]?.string {
            names = [one]
        } else if let list = table[key]?.array {
            names = list.compactMap { $0.string }
            guard names.count == list.count, !names.isEmpty else { throw mistake("\(key) must be a field name or a list of them", key) }
        } else {
            throw mistake("\(key) = one of \(RecordField.names) is required", required ? (table[key] == nil ? "operator" : key) : key)
        }
        return try names.map { n in
            guard let f = RecordField(rawValue: n) else { throw mistake("unknown field '\(n)' in \(key) (\(RecordField.names))", key) }
            return f
        }
    }

    private func window(required: Bool) throws -> (every: Int64?, slide: Int64?, lateness: Int64) {
        let every = table["every"] != nil ? try duration("every") : nil
        var slide: Int64?
        if table["slide"] != nil {
            guard let e = every else { throw mistake("slide needs every (the window length)", "slide") }
            let s = try duration("slide")
            guard s <= e, e % s == 0 else { throw mistake("slide must divide every (e.g. every = \"5m\", slide = \"1m\")", "slide") }
            // Each window closing merges every/slide panes: past a hundred, a run spends its time merging.
            guard e / s <= 100 else { throw mistake("every / slide is \(e / s): a sliding window merges that many panes each time one closes; at most 100 (e.g. every = \"1h\", slide = \"1m\")", "slide") }
            slide = s
        }
        var lateness: Int64 = 60
        if let l = table["lateness"] {
            guard let text = l.string, let s = ActionScript.seconds(text) else { throw mistake("lateness must be a duration like \"60s\"", "lateness") }
            lateness = Int64(s)
        }
        return (every, slide, lateness)
    }
}

extension PipelineFile.Task {
    /// Builds the task's operator with its result sink (files are created now, so a path that cannot be
    /// written fails before the run starts).
    public func makeSpec(queueCapacity: Int, outputs: OutputGuard? = nil) throws -> TaskSpec {
        func sink() throws -> ResultSink { try ResultSink(task: name, results: results, snapshot: snapshot, outputs: outputs) }
        let op: StreamOperator
        switch self.op {
        case .filter(let e): op = FilterOperator(e)
        case .map(let o): op = MapOperator(o)
        case .window(let seconds, let slide, let lateness):
            op = WindowOperator(name: name, seconds: seconds, slide: slide, lateness: lateness, sink: try sink(), partitions: partitions)
        case .group(let spec): op = GroupOperator(name: name, spec: spec, sink: try sink(), partitions: partitions)
        case .topk(let field, let k, let capacity, let every, let slide, let lateness):
            op = TopKOperator(name: name, field: field, k: k, capacity: capacity, every: every, slide: slide, lateness: lateness, sink: try sink(), partitions: partitions)
        case .distinct(let field, let exactLimit, let every, let slide, let lateness):
            op = DistinctOperator(name: name, field: field, exactLimit: exactLimit, every: every, slide: slide, lateness: lateness, sink: try sink(), partitions: partitions)
        case .sessions(let spec): op = SessionOperator(name: name, spec: spec, sink: try sink(), partitions: partitions)
        }
        return TaskSpec(name: name, op: op, priority: priority, workers: op.maxParallelism == 1 ? 1 : workers, queueCapacity: queueCapacity, inputs: inputs)
    }
}
