import StreamtopEngine

/// How the task table is ordered (htop's F6): the graph's order (with its shape drawn), or by one column,
/// largest first. The source stays on top, since it is the input rather than a task competing for workers.
public enum TaskSort: String, CaseIterable, Sendable {
    case graph
    case inRate = "IN/s"
    case outRate = "OUT/s"
    case p99
    case busy = "BUSY"
    case queue = "QUEUE"
    case workers = "W"
    case priority = "PRI"

    /// The next order `o`/F6 switches to.
    /// The column this order sorts by (nil: the graph's order).
    public var column: TaskColumn? {
        switch self {
        case .graph: return nil
        case .inRate: return .inRate
        case .outRate: return .outRate
        case .p99: return .p99
        case .busy: return .busy
        case .queue: return .queue
        case .workers: return .workers
        case .priority: return .priority
        }
    }

    /// The next order whose column is on screen (hidden columns, F2, are skipped).
    public func next(skipping hidden: Set<TaskColumn>) -> TaskSort {
        var s = next
        while let c = s.column, hidden.contains(c) { s = s.next }
        return s
    }

    public var next: TaskSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// Task indices in display order (ties keep the graph's order).
    public func order(_ tasks: [TaskSnapshot]) -> [Int] {
        guard tasks.count > 1 else { return Array(tasks.indices) }
        // The graph's order is the tree's: each task under the one it reads.
        if self == .graph { return TaskTree.order(tasks) }
        let rest = tasks.indices.dropFirst().sorted { a, b in
            let (x, y) = (value(tasks[a]), value(tasks[b]))
            return x != y ? x > y : a < b
        }
        return [0] + rest
    }

    private func value(_ t: TaskSnapshot) -> Double {
        switch self {
        case .graph: return 0
        case .inRate: return t.inPerSecond
        case .outRate: return t.outPerSecond
        case .p99: return Double(t.latency.p99)
        case .busy: return t.busyRatio
        case .queue: return t.queueFill
        case .workers: return Double(t.workers)
        case .priority: return Double(t.priority)
        }
    }
}
