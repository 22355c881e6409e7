/// The meaning of a screen cell, resolved to colours by the theme. Dotted roles fall back to their
/// parent (`task.paused` → `task`) when a theme does not style them.
public enum Role: String, CaseIterable, Sendable {
    case normal
    case title
    case header
    case headerValue = "header.value"
    case headerWarning = "header.warning"
    case label
    case dim
    case border
    case tableHeader = "table.header"
    case selected
    case task
    case taskRunning = "task.running"
    case taskPaused = "task.paused"
    case taskBackpressured = "task.backpressured"
    case taskIdle = "task.idle"
    case taskFinished = "task.finished"
    case queueFill = "queue.fill"
    case queueHigh = "queue.high"
    case queueEmpty = "queue.empty"
    case sparkline
    case status2xx = "status.2xx"
    case status3xx = "status.3xx"
    case status4xx = "status.4xx"
    case status5xx = "status.5xx"
    case decisionOperator = "decision.operator"
    case decisionScheduler = "decision.scheduler"
    case decisionEngine = "decision.engine"
    case warning
    case error
    case hintKey = "hint.key"
    case hint
    case help

    /// The parent role (`task.paused` → `task`), or nil for a top-level role.
    public var parent: Role? {
        guard let dot = rawValue.lastIndex(of: ".") else { return self == .normal ? nil : .normal }
        return Role(rawValue: String(rawValue[..<dot])) ?? .normal
    }

    /// A one-character code for role-layer snapshots in tests.
    public var code: Character {
        let codes: [Role: Character] = [
            .normal: ".", .title: "T", .header: "h", .headerValue: "v", .headerWarning: "w", .label: "l", .dim: "d", .border: "b",
            .tableHeader: "H", .selected: "S", .task: "t", .taskRunning: "r", .taskPaused: "P",
            .taskBackpressured: "B", .taskIdle: "i", .taskFinished: "f", .queueFill: "q", .queueHigh: "Q",
            .queueEmpty: "e", .sparkline: "s", .status2xx: "2", .status3xx: "3", .status4xx: "4", .status5xx: "5",
            .decisionOperator: "O", .decisionScheduler: "D", .decisionEngine: "E", .warning: "W", .error: "X",
            .hintKey: "K", .hint: "k", .help: "?",
        ]
        return codes[self] ?? "."
    }
}
