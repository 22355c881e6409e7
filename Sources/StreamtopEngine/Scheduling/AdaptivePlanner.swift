/// The adaptive policy's planning step, kept pure so that it can be tested with numbers alone.
///
/// Following DS2 (Kalavri et al., OSDI 2018): each task's *true* rate is what one worker processes per
/// second of busy time, which does not depend on how long the task waited for input or room. The rate a
/// task must sustain is the rate the pipeline can take from the source multiplied by the selectivities
/// upstream of it. The workers a task needs are that target rate over its true rate, rounded up (DS2's
/// ceil), at least one, never more than an operator allows; pinned tasks keep theirs.
public enum AdaptivePlanner {
    /// What the planner knows of one task over the last measurement window.
    public struct TaskMeasure: Sendable, Equatable {
        /// Task name (for reasons).
        public var name: String
        /// Records taken in during the window.
        public var recordsIn: Double
        /// Records passed on during the window.
        public var recordsOut: Double
        /// Seconds of processing (summed over workers) during the window.
        public var busySeconds: Double
        /// Current worker allocation.
        public var allocation: Int
        /// The operator's limit.
        public var maxParallelism: Int
        /// Whether an operator pinned the allocation.
        public var pinned: Bool

        /// Creates a measure.
        public init(name: String, recordsIn: Double, recordsOut: Double, busySeconds: Double, allocation: Int, maxParallelism: Int, pinned: Bool) {
            self.name = name
            self.recordsIn = recordsIn
            self.recordsOut = recordsOut
            self.busySeconds = busySeconds
            self.allocation = allocation
            self.maxParallelism = maxParallelism
            self.pinned = pinned
        }

        /// Records one worker processes per busy second, or nil when there is too little to measure.
        public var trueRate: Double? { busySeconds > 0.001 && recordsIn > 0 ? recordsIn / busySeconds : nil }
        /// Out per in (1 when nothing came in).
        public var selectivity: Double { recordsIn > 0 ? recordsOut / recordsIn : 1 }
    }

    /// A proposed allocation with the numbers behind it.
    public struct Plan: Sendable, Equatable {
        /// New allocation per task (same order as the input).
        public var allocation: [Int]
        /// Workers each task needs to sustain `rate` (fractional).
        public var need: [Double]
        /// Target input rate per task, records/s.
        public var targetRate: [Double]
        /// The source rate the plan aims at: the source's own, or less when the pipeline cannot take it.
        public var rate: Double
        /// What sets `rate`: `source`, a task at its operator's limit, or `the worker pool`.
        public var limit: String
    }

    /// How far a task's need must pass a whole number of workers before the plan moves it, as a fraction:
    /// measured rates jitter by a few percent, and a need of 1.98 one window and 2.02 the next must not
    /// move a worker back and forth.
    public static let hysteresis = 0.1

    /// Plans worker allocation for `tasks` (the worker tasks, upstream before downstream) given the
    /// source's rate (records/s it can deliver) and the pool size. `inputs[i]` lists the tasks task `i`
    /// reads (indices into `tasks`, -1 for the source); nil means a line. A task's target rate is the sum
    /// of what its inputs put out at their own targets. Returns nil when some task cannot be measured yet.
    ///
    /// The plan aims at the rate the pipeline can actually sustain: the source's rate, unless a task at
    /// its operator's limit (or pinned) or the pool (its workers' time over what one source record costs
    /// in all tasks) caps it lower. Each task then gets DS2's ceil(need) workers at that rate. Allocations
    /// are caps on how many workers may run a task at once, not reservations, so they may add up to more
    /// than the pool: a stage that waits on I/O gets the workers it needs while the others still get
    /// theirs, and no worker idles while a stage has work (with shares of the pool, an I/O-bound shift left
    /// the waiting stage capped at its share and workers idle).
    public static func plan(sourceRate: Double, tasks: [TaskMeasure], workers: Int, inputs: [[Int]]? = nil) -> Plan? {
        guard sourceRate > 0, !tasks.isEmpty, workers > 0 else { return nil }
        // Records reaching each task per source record, through the selectivities on its way.
        var reach: [Double] = []
        var rates: [Double] = []
        for (i, t) in tasks.enumerated() {
            guard let rate = t.trueRate else { return nil }
            let reads = inputs?[i] ?? [i - 1]
            reach.append(reads.reduce(0.0) { sum, j in sum + (j < 0 ? 1 : reach[j] * tasks[j].selectivity) })
            rates.append(rate)
        }
        let limit = { (t: TaskMeasure) in t.pinned ? t.allocation : max(1, min(t.maxParallelism, workers)) }
        let stages = tasks.indices.map { i in
            ThroughputModel.Stage(name: tasks[i].name, nanosPerRecord: 1e9 / rates[i], reach: reach[i], workers: limit(tasks[i]))
        }
        let aim = ThroughputModel.predict(sourceRate: sourceRate, stages: stages, pool: workers)
        let targets = reach.map { $0 * aim.rate }
        let need = tasks.indices.map { targets[$0] / rates[$0] }
        let allocation = tasks.indices.map { i -> Int in
            let t = tasks[i]
            if t.pinned { return t.allocation }
            return min(limit(t), max(1, workersFor(need: need[i], current: t.allocation)))
        }
        return Plan(allocation: allocation, need: need, targetRate: targets, rate: aim.rate, limit: aim.limit)
    }

    /// ceil(need), unless the need lies within `hysteresis` of the current allocation's bounds.
    static func workersFor(need: Double, current: Int) -> Int {
        let wanted = Int((need - 1e-9).rounded(.up))
        if wanted > current && need <= Double(current) * (1 + hysteresis) { return current }
        if wanted < current && need > Double(current - 1) * (1 - hysteresis) { return current }
        return wanted
    }
}
