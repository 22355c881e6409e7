/// A column of the task table that the operator can hide (F2, or `hidden_columns` in the settings file);
/// the task's name is always shown.
public enum TaskColumn: String, CaseIterable, Sendable {
    case state, inRate = "in", outRate = "out", p50, p99, busy, queue, workers, priority

    /// As the table's header names it.
    public var header: String {
        switch self {
        case .state: return "STATE"
        case .inRate: return "IN/s"
        case .outRate: return "OUT/s"
        case .p50: return "p50"
        case .p99: return "p99"
        case .busy: return "BUSY"
        case .queue: return "QUEUE"
        case .workers: return "W"
        case .priority: return "PRI"
        }
    }

    /// Cells the column takes in the table from 80 columns (the queue with its bar at the 8-cell minimum;
    /// BUSY only from 100 columns).
    public var width: Int {
        switch self {
        case .state, .inRate, .outRate, .p50, .p99: return 9
        case .busy: return 6
        case .queue: return 15
        case .workers: return 4
        case .priority: return 6
        }
    }

    /// What the column shows, for the chooser.
    public var help: String {
        switch self {
        case .state: return "running, idle, blocked or paused"
        case .inRate: return "records in per second"
        case .outRate: return "records out per second"
        case .p50: return "median time per batch"
        case .p99: return "99th percentile time per batch"
        case .busy: return "share of its workers' time spent working (100+ columns)"
        case .queue: return "input queue fill, as a bar and depth/capacity"
        case .workers: return "workers (* pinned)"
        case .priority: return "scheduling priority"
        }
    }

    /// The settings file's line for a set of hidden columns (what to add to keep the F2 choice).
    public static func settingsLine(_ hidden: Set<TaskColumn>) -> String {
        "hidden_columns = [" + allCases.filter(hidden.contains).map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + "]"
    }
}
