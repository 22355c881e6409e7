import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// One line per analytics task of the pipeline for the dashboard: the latest window's numbers, or the
/// whole-input result so far once written, with live figures where the task has them (active users).
public struct ResultSummary: Sendable, Equatable, Codable {
    /// The task's name.
    public var task: String
    /// What it last produced, compact.
    public var text: String
    /// Every row of its latest result, one line each (at most `maxRows`): what Enter in the analytics view
    /// shows (a group-by's groups, a window's top list). Absent from an instance of an earlier version.
    public var rows: [String]? = nil
    /// What each row's records are, where a row has keys (a group-by's groups, a per-user row): Enter on
    /// the row in the result table opens this drill-down. Parallel to `rows`; nil entries for rows
    /// without keys.
    public var rowFocus: [FocusKey?]? = nil
    /// The drill-down open on this task's records, if any.
    public var drillDown: DrillDownSummary? = nil

    /// Rows kept for the result table.
    public static let maxRows = 500

    /// Creates a line.
    public init(task: String, text: String, rows: [String]? = nil, rowFocus: [FocusKey?]? = nil, drillDown: DrillDownSummary? = nil) {
        self.task = task
        self.text = text
        self.rows = rows
        self.rowFocus = rowFocus
        self.drillDown = drillDown
    }

    /// The line for a task from the result it published (read from the engine's snapshot, never from
    /// the live operator).
    public static func of(task: String, _ result: AnalyticsResult) -> ResultSummary {
        var parts = result.live.map { "\($0.name) \(Format.grouped($0.value))" }
        if let first = result.rows.first {
            parts.append((result.soFar ? "so far " : "") + describe(first, groups: result.rows.count))
        } else {
            parts.append(result.live.isEmpty ? "no result yet (a window's rows come when it closes; a whole-input table's at the end of the input)" : "no window closed yet")
        }
        let kept = result.rows.prefix(maxRows)
        let focus = kept.map { FocusKey.of(row: $0, task: task) }
        return ResultSummary(
            task: task, text: parts.joined(separator: " · "), rows: kept.map { describe($0, groups: 1) },
            rowFocus: focus.contains { $0 != nil } ? focus : nil, drillDown: result.drillDown)
    }

    /// One line per analytics task that has published a result, in the engine's task order.
    public static func all(in snapshot: EngineSnapshot) -> [ResultSummary] {
        snapshot.tasks.compactMap { t in (snapshot.published[t.name] as? AnalyticsResult).map { of(task: t.name, $0) } }
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
            // Sizes carry their unit; other numbers the same three significant digits.
            case .int(let v) where f.name.contains("bytes"): items.append("\(f.name.replacingOccurrences(of: "_", with: " ")) \(Format.bytes(Int(clamping: v)))")
            case .int(let v): items.append("\(f.name.replacingOccurrences(of: "_", with: " ")) \(Format.count(Double(v)))")
            case .double(let v) where f.name.contains("bytes"): items.append("\(f.name.replacingOccurrences(of: "_", with: " ")) \(Format.bytes(Int(v.rounded())))")
            case .double(let v): items.append("\(f.name.replacingOccurrences(of: "_", with: " ")) \(v < 10 ? Format.fixed(v, 2) : Format.count(v))")
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
