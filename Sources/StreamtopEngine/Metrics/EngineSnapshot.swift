/// An immutable picture of the engine at one instant, published every tick. Safe to read from any thread.
public struct EngineSnapshot: Sendable, Codable {
    /// Seconds since the engine started.
    public var time: Double
    /// Number of worker threads.
    public var workers: Int
    /// The active scheduling policy.
    public var policy: String
    /// Every task, source first, in pipeline order.
    public var tasks: [TaskSnapshot]
    /// The most recent decisions, oldest first.
    public var decisions: [Decision]
    /// Total decisions logged since start.
    public var decisionCount: Int
    /// End-to-end latency, ingestion to the last task, over the recent window (ns): p50, p95, p99, max.
    public var endToEndLatency: LatencySummary
    /// Records per second read by the source, one sample per tick, oldest first (for sparklines).
    public var throughputHistory: [Double]
    /// Records per second read by the source, one entry per whole second of the last 15 minutes, oldest
    /// first: the graph's longer spans.
    /// (Optional: an instance of an earlier version sends none.)
    public var throughputPerSecond: [Double]? = nil
    /// The same per whole minute of the last 24 hours (mean records per second in each): the hour spans.
    public var throughputPerMinute: [Double]? = nil
    /// True once the input has ended and every task has drained.
    public var finished: Bool
    /// True once the source has no more input (tasks may still be draining, or paused).
    public var inputEnded = false
    /// Every edge of the task graph with its queue, upstream tasks first.
    public var edges: [EdgeSnapshot] = []
    /// The last checkpoint (nil when the run takes none).
    public var checkpoint: CheckpointStatus?
    /// Each task's latest published result (immutable values the operators handed over), by task name.
    public var published: [String: any Sendable] = [:]
    /// Active rehearsals (`inject …`) in words, e.g. `slow parse +200µs/record cpu`: never mistake one for
    /// a real incident. Nil when none is.
    public var injections: [String]?

    /// Everything but the published results, which are the operators' own types (an attached dashboard
    /// gets them through its model instead: the summary and the result lines).
    enum CodingKeys: String, CodingKey {
        case time, workers, policy, tasks, decisions, decisionCount, endToEndLatency, throughputHistory, throughputPerSecond, throughputPerMinute, finished, inputEnded, edges, checkpoint, injections
    }

    /// An empty snapshot, before the engine has published one.
    public static let empty = EngineSnapshot(
        time: 0, workers: 0, policy: "", tasks: [], decisions: [], decisionCount: 0,
        endToEndLatency: LatencySummary(), throughputHistory: [], finished: false)
}

/// Percentiles of a latency distribution, in nanoseconds.
public struct LatencySummary: Sendable, Codable, Equatable {
    /// Median.
    public var p50: UInt64 = 0
    /// 95th percentile.
    public var p95: UInt64 = 0
    /// 99th percentile.
    public var p99: UInt64 = 0
    /// Largest value.
    public var max: UInt64 = 0
    /// Number of samples.
    public var count: UInt64 = 0
    /// Creates a summary.
    public init(p50: UInt64 = 0, p95: UInt64 = 0, p99: UInt64 = 0, max: UInt64 = 0, count: UInt64 = 0) {
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.max = max
        self.count = count
    }
}

/// One edge of the task graph: the bounded queue from one task to another.
public struct EdgeSnapshot: Sendable, Codable, Equatable {
    /// Upstream task.
    public var from: String
    /// Downstream task.
    public var to: String
    /// Batches waiting.
    public var depth: Int
    /// Capacity in batches.
    public var capacity: Int
    /// Records waiting.
    public var records: Int
}

/// One task's state and metrics at one instant.
public struct TaskSnapshot: Sendable, Codable {
    /// The task's id.
    public var id: TaskID
    /// The task's name, e.g. `parse`.
    public var name: String
    /// What the task is doing.
    public var state: TaskState
    /// Scheduling priority (higher runs first).
    public var priority: Int
    /// How many workers may run it at once.
    public var workers: Int
    /// How many workers are running it now.
    public var workersBusy: Int
    /// The operator's own limit on parallelism.
    public var maxParallelism: Int
    /// Whether the allocation is pinned (the adaptive policy leaves it alone).
    public var pinned: Bool
    /// Records taken in since start.
    public var recordsIn: Int
    /// Records passed downstream since start.
    public var recordsOut: Int
    /// Records removed on purpose since start (filtered, malformed).
    public var recordsFiltered: Int
    /// Bytes taken in since start.
    public var bytesIn: Int
    /// Bytes passed downstream since start.
    public var bytesOut: Int
    /// Records in per second, over the last second.
    public var inPerSecond: Double
    /// Records out per second, over the last second.
    public var outPerSecond: Double
    /// Bytes in per second, over the last second.
    public var bytesInPerSecond: Double
    /// Bytes out per second, over the last second.
    public var bytesOutPerSecond: Double
    /// Batches waiting in the task's input queue.
    public var queueDepth: Int
    /// Capacity of the input queue, in batches (0 for the source).
    public var queueCapacity: Int
    /// Records waiting in the input queue.
    public var queuedRecords: Int
    /// Records taken from the queue that a worker is processing now.
    public var inFlightRecords: Int
    /// Processing time per batch over the recent window.
    public var latency: LatencySummary
    /// Processing time per record over the recent window (batch time over its records, weighted by records).
    public var recordLatency: LatencySummary
    /// Mean processing time per record over the recent window, ns.
    public var nanosPerRecord: Double
    /// Share of the last second spent processing, per worker allowed (1.0 = all allowed workers busy).
    public var busyRatio: Double
    /// Share of the last second with input ready but no room downstream.
    public var backpressuredRatio: Double
    /// Share of the last second neither busy nor backpressured (waiting for input, or paused).
    public var idleRatio: Double { max(0, 1 - busyRatio - backpressuredRatio) }
    /// Quanta (batches processed) since start.
    public var quanta: Int
    /// Time spent processing since the start, summed over workers (seconds).
    public var busySeconds: Double = 0
    /// Time spent with input waiting but no room downstream, since the start (seconds).
    public var backpressuredSeconds: Double = 0
    /// Records out per second, one value per tick, oldest first.
    public var history: [Double] = []
    /// Batch latency p99 in ns, one value per tick, oldest first.
    public var latencyHistory: [Double] = []
    /// Records out per second over each whole second (the last 15 minutes) and each whole minute (the
    /// last day), and the highest p99 (ns) within each: the long spans of the task's graphs. Kept in this
    /// process's snapshots only (nil from an attached instance: its answers would grow by ~50 kB a task
    /// after a day: four arrays of 900 and 1,440 numbers, 48.7 kB as JSON in a Python estimate).
    public var perSecond: [Double]? = nil
    public var perMinute: [Double]? = nil
    public var latencyPerSecond: [Double]? = nil
    public var latencyPerMinute: [Double]? = nil
    /// The tasks this one reads (empty for the source).
    public var inputs: [String] = []

    /// Queue fill between 0 and 1.
    public var queueFill: Double { queueCapacity == 0 ? 0 : Double(queueDepth) / Double(queueCapacity) }
    /// Everything but the long histories, which stay in this process (see `perSecond`).
    enum CodingKeys: String, CodingKey {
        case id, name, state, priority, workers, workersBusy, maxParallelism, pinned, recordsIn, recordsOut, recordsFiltered, bytesIn, bytesOut, inPerSecond, outPerSecond, bytesInPerSecond, bytesOutPerSecond, queueDepth, queueCapacity, queuedRecords, inFlightRecords, latency, recordLatency, nanosPerRecord, busyRatio, backpressuredRatio, quanta, busySeconds, backpressuredSeconds, history, latencyHistory, inputs
    }

}
