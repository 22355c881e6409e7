/// Draws a pipeline file's task graph as an indented tree, as `streamtop check` prints it:
///
///     source → parse
///     ├─ map "enrich"
///     │  ├─ topk "endpoints" → endpoints.ndjson
///     │  └─ aggregate (the report) → sink
///     └─ filter "errors" …
///
/// Pure; used by the command line (the dashboard draws the same shape from the engine's snapshot).
public enum PipelineGraph {
    /// The lines of the tree, without a trailing newline each.
    public static func lines(_ file: PipelineFile) -> [String] {
        let report = file.reportInput ?? defaultReportInput(file)
        var children: [String: [String]] = [:]
        for t in file.tasks { children[t.input, default: []].append(t.name) }
        children[report, default: []].append("aggregate")
        let byName = Dictionary(file.tasks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func label(_ name: String) -> String {
            if name == "aggregate" { return "aggregate (the report) → sink" }
            guard let t = byName[name] else { return name }
            let outputs = [t.results.map { "results \($0)" }, t.snapshot.map { "snapshot \($0)" }].compactMap { $0 }
            let split = t.partitions > 1 ? " (\(t.partitions) partitions)" : ""
            // A union is drawn under its first input and names the others.
            let union = t.inputs.count > 1 ? " ∪ " + t.inputs.dropFirst().joined(separator: ", ") : ""
            return "\(t.op.kindName) \"\(name)\"\(union)\(split)" + (outputs.isEmpty ? "" : " → " + outputs.joined(separator: ", "))
        }
        var out = ["source → parse"]
        func walk(_ name: String, _ prefix: String) {
            let kids = children[name] ?? []
            for (i, kid) in kids.enumerated() {
                let last = i == kids.count - 1
                out.append(prefix + (last ? "└─ " : "├─ ") + label(kid))
                walk(kid, prefix + (last ? "   " : "│  "))
            }
        }
        walk("parse", "")
        if let dir = file.state {
            let every = file.checkpointEvery.map { $0 == $0.rounded() ? "\(Int($0))s" : "\($0)s" } ?? "10s"
            out.append("checkpoints in \(dir), every \(every) and on a clean stop")
        }
        if let address = file.listen {
            out.append("serving /metrics and /api/v1 on \(address)\(file.controlTokenFile == nil ? "" : ", commands with the token in \(file.controlTokenFile!)")")
        }
        return out
    }

    /// The report's default input in a file.
    static func defaultReportInput(_ file: PipelineFile) -> String {
        reportInput(head: "parse", tasks: file.tasks.map { t in
            if case .map = t.op, t.inputs.count == 1 { return (t.name, t.input, true) }
            return (t.name, t.input, false)
        })
    }

    /// Where the report reads by default: the last of the map tasks that enrich every record (maps reading
    /// `head` or such a map), else `head`. Maps rewrite the report's keys as they do for the other tasks;
    /// filters and stateful tasks feed only the tasks that read them.
    static func reportInput(head: String, tasks: [(name: String, input: String, isMap: Bool)]) -> String {
        var line: Set<String> = ["parse", head]
        var last = head
        for t in tasks where t.isMap && line.contains(t.input == "parse" ? head : t.input) {
            line.insert(t.name)
            last = t.name
        }
        return last
    }
}
