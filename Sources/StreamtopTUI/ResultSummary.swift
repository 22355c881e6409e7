import StreamtopAnalytics
import StreamtopLogs

/// One line per analytics task of the pipeline for the dashboard: the latest window's numbers, or the
/// whole-input result so far once written, with live figures where the task has them (active users).
public struct ResultSummary: Sendable, Equatable {
    /// The task's name.
    public var task: String
    /// What it last produced, compact.
    public var text: String

    /// Creates a line.
    public init(task: String, text: String) {
        self.task = task
        self.text = text
    }

    /// The line for a task.
    public static func of(_ op: OrderedOperator) -> ResultSummary {
        var parts: [String] = []
        if let s = op as? SessionOperator {
            parts.append("active now \(Format.grouped(s.activeUsers))")
            parts.append("visits \(Format.grouped(s.visits))")
        }
        let rows = op.latestRows()
        if let first = rows.first {
            parts.append(describe(first, groups: rows.count))
        } else {
            parts.append(op is SessionOperator ? "no window closed yet" : "no window closed yet (whole-input results come at the end of the input)")
        }
        return ResultSummary(task: op.name, text: parts.joined(separator: " · "))
    }

    /// A row as `12:05–12:10  count 95 · users 89 · top /a 33, /b 18` (nested lists shortened).
    static func describe(_ row: ResultRow, groups: Int) -> String {
        var head = ""
        if case .string(let start)? = row["window_start"], case .string(let end)? = row["window_end"] {
            head = String(start.dropFirst(11).prefix(5)) + "–" + String(end.dropFirst(11).prefix(5)) + "  "
        }
        var items: [String] = []
        for f in row.fields where !["window_start", "window_end", "field", "estimated", "standard_error", "groups_capped", "late_records"].contains(f.name) {
            switch f.value {
            case .int(let v): items.append("\(f.name.replacingOccurrences(of: "_", with: " ")) \(Format.count(Double(v)))")
            case .double(let v): items.append("\(f.name.replacingOccurrences(of: "_", with: " ")) \(v < 10 ? String(format: "%.2f", v) : Format.count(v))")
            case .string(let s): items.append(s)
            case .list(let list):
                let shown = list.prefix(3).compactMap { v -> String? in
                    guard case .object(let o) = v, case .string(let k)? = o["key"], case .int(let c)? = o["count"] else { return nil }
                    return "\(k) \(Format.count(Double(c)))"
                }
                items.append("top " + shown.joined(separator: ", "))
            case .bool, .null, .object: break
            }
        }
        if case .bool(true)? = row["estimated"] { items.append("≈") }
        if case .int(let late)? = row["late_records"], late > 0 { items.append("late \(Format.count(Double(late)))") }
        if groups > 1 { items.append("(\(groups) groups)") }
        return head + items.joined(separator: " · ")
    }
}
