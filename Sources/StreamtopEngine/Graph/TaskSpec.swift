/// How to build one task of a pipeline.
public struct TaskSpec {
    /// Unique name, shown in the dashboard and used by commands (`pause parse`).
    public var name: String
    /// What the task does.
    public var op: StreamOperator
    /// Initial priority (higher runs first).
    public var priority: Int
    /// Initial worker allocation; nil means as many as the operator and the pool allow.
    public var workers: Int?
    /// Capacity of each of the task's input queues (one per input edge), in batches.
    public var queueCapacity: Int
    /// The tasks it reads, by name (the source is `EngineConfig.sourceName`); several are a union. nil:
    /// the task before it in the list (the source for the first), so a list without inputs is a line.
    /// Inputs must come earlier in the list, so the graph has no cycle.
    public var inputs: [String]?

    /// Creates a task description.
    public init(name: String, op: StreamOperator, priority: Int = 0, workers: Int? = nil, queueCapacity: Int = 16, inputs: [String]? = nil) {
        self.name = name
        self.op = op
        self.priority = priority
        self.workers = workers
        self.queueCapacity = queueCapacity
        self.inputs = inputs
    }
}

/// Tuning of the engine as a whole.
public struct EngineConfig {
    /// Number of worker threads.
    public var workers: Int
    /// Interval between published snapshots, ns.
    public var tickNanos: UInt64 = 100_000_000
    /// Name of the source task.
    public var sourceName = "source"
    /// Samples of throughput history kept for sparklines.
    public var historyLength = 600
    /// Decisions kept in memory.
    public var decisionCapacity = 2000
    /// The scheduling policy at start.
    public var policy: SchedulingPolicy = .strictPriority
    /// How often the adaptive policy measures and plans, ns.
    public var adaptiveIntervalNanos: UInt64 = 1_000_000_000

    /// Creates a configuration.
    public init(workers: Int) { self.workers = max(1, workers) }
}
