/// How the scheduler chooses among runnable tasks, and whether it moves workers by itself.
public enum SchedulingPolicy: String, CaseIterable, Sendable, Codable {
    /// The highest priority runnable task runs first; ties go to the task furthest downstream.
    case strictPriority = "strict-priority"
    /// Each runnable task gets processing time in proportion to its weight (2^priority); the task with
    /// the least weighted time so far runs next, so no runnable task starves.
    case fairShare = "fair-share"
    /// Fair-share picking, plus a periodic plan that measures each task's true processing rate (records
    /// per busy second, as DS2 does) and moves worker allocation toward the bottleneck.
    case adaptive

    /// Parses a policy name as operators type it (`strict`, `fair`, `adaptive`, or the full names).
    public init?(name: String) {
        switch name.lowercased() {
        case "strict", "strict-priority", "priority": self = .strictPriority
        case "fair", "fair-share", "wfs", "weighted-fair-share": self = .fairShare
        case "adaptive", "ds2": self = .adaptive
        default: return nil
        }
    }

    /// The weight of a priority under fair share: each step of priority doubles the share.
    public static func weight(priority: Int) -> Double {
        let p = Swift.max(-10, Swift.min(10, priority))
        return p >= 0 ? Double(1 << p) : 1 / Double(1 << -p)
    }
}
