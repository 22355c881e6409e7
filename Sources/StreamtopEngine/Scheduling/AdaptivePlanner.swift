/// The adaptive policy's planning step, kept pure so that it can be tested with numbers alone.
///
/// Following DS2 (Kalavri et al., OSDI 2018): each task's *true* rate is what one worker processes per
/// second of busy time, which does not depend on how long the task waited for input or room. The rate a
/// task must sustain is the source's rate multiplied by the selectivities upstream of it. The workers a
/// task needs are that target rate over its true rate; the pool is then divided in proportion to need,
/// at least one worker each, never more than an operator allows, and pinned tasks keep theirs.
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
        /// Workers each task needs to keep up with the source (fractional).
        public var need: [Double]
        /// Target input rate per task, records/s.
        public var targetRate: [Double]
    }

    /// Plans worker allocation for `tasks` (the worker tasks, upstream before downstream) given the
    /// source's rate (records/s it can deliver) and the pool size. `inputs[i]` lists the tasks task `i`
    /// reads (indices into `tasks`, -1 for the source); nil means a line. A task's target rate is the sum
    /// of what its inputs put out at their own targets. Returns nil when some task cannot be measured yet.
    public static func plan(sourceRate: Double, tasks: [TaskMeasure], workers: Int, inputs: [[Int]]? = nil) -> Plan? {
        guard sourceRate > 0, !tasks.isEmpty else { return nil }
        var need: [Double] = []
        var targets: [Double] = []
        for (i, t) in tasks.enumerated() {
            guard let rate = t.trueRate else { return nil }
            let reads = inputs?[i] ?? [i - 1]
            let target = reads.reduce(0.0) { sum, j in sum + (j < 0 ? sourceRate : targets[j] * tasks[j].selectivity) }
            targets.append(target)
            need.append(target / rate)
        }
        // Pinned tasks keep their workers; the rest share what is left, at least one each.
        var allocation = tasks.map { $0.pinned ? $0.allocation : 1 }
        let free = tasks.indices.filter { !tasks[$0].pinned }
        let pinnedWorkers = tasks.indices.filter { tasks[$0].pinned }.reduce(0) { $0 + tasks[$1].allocation }
        var budget = max(0, workers - pinnedWorkers - free.count)
        // Hand out the remaining workers one at a time to the task whose need per worker is highest
        // (largest remainder of need over allocation), respecting operator limits and actual need.
        while budget > 0 {
            let candidates = free.filter { allocation[$0] < min(tasks[$0].maxParallelism, workers) && need[$0] > Double(allocation[$0]) }
            guard let best = candidates.max(by: { need[$0] / Double(allocation[$0]) < need[$1] / Double(allocation[$1]) }) else { break }
            allocation[best] += 1
            budget -= 1
        }
        return Plan(allocation: allocation, need: need, targetRate: targets)
    }
}
