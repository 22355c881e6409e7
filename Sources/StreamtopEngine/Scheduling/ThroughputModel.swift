/// What the planner's model says a pipeline would do with another worker allocation: "+1 worker on enrich:
/// 410 k → 560 k lines/s; the limit moves to sessions". The same numbers the adaptive policy plans with
/// (DS2's true rates): each task costs `nanosPerRecord` of one worker's busy time per record, and sees the
/// source's records times the selectivities on its way. Pure: it reads a snapshot and computes.
public enum ThroughputModel {
    /// A predicted rate, in source records per second, and what limits it.
    public struct Prediction: Sendable, Equatable {
        /// Lines per second the source would deliver and the pipeline take.
        public var rate: Double
        /// The task (or `source`, or `the worker pool`) that sets it.
        public var limit: String
    }

    /// One task as the model sees it.
    public struct Stage: Sendable, Equatable {
        public var name: String
        /// Busy nanoseconds of one worker per record.
        public var nanosPerRecord: Double
        /// Records reaching the task per source record (the selectivities upstream multiplied).
        public var reach: Double
        /// Workers allowed at once.
        public var workers: Int
        /// Creates a stage.
        public init(name: String, nanosPerRecord: Double, reach: Double, workers: Int) {
            self.name = name
            self.nanosPerRecord = nanosPerRecord
            self.reach = reach
            self.workers = workers
        }
    }

    /// The rate the stages sustain: the least of the source's rate, each task's capacity (its workers'
    /// records per second, over the share of source records that reach it) and the pool's (`pool` workers'
    /// time, over what one source record costs in all tasks together).
    public static func predict(sourceRate: Double, sourceName: String = "source", stages: [Stage], pool: Int) -> Prediction {
        var best = Prediction(rate: sourceRate, limit: sourceName)
        var costPerSourceRecord = 0.0
        for s in stages where s.nanosPerRecord > 0 && s.reach > 0 {
            let capacity = Double(s.workers) * 1e9 / s.nanosPerRecord / s.reach
            if capacity < best.rate { best = Prediction(rate: capacity, limit: s.name) }
            costPerSourceRecord += s.nanosPerRecord * s.reach
        }
        if costPerSourceRecord > 0 {
            let poolRate = Double(pool) * 1e9 / costPerSourceRecord
            if poolRate < best.rate * 0.999 { best = Prediction(rate: poolRate, limit: "the worker pool") }
        }
        return best
    }

    /// The model's view of a snapshot: the source's rate and the stages; nil while some task has not
    /// processed enough to measure.
    public static func stages(of snap: EngineSnapshot) -> (sourceRate: Double, stages: [Stage])? {
        guard let src = snap.tasks.first, src.recordsOut > 0 else { return nil }
        var reach: [String: Double] = [src.name: 1]
        var selectivity: [String: Double] = [src.name: 1]
        var stages: [Stage] = []
        for t in snap.tasks.dropFirst() {
            guard t.nanosPerRecord > 0, t.recordsIn > 0 else { return nil }
            let inputs = t.inputs.isEmpty ? [snap.tasks[stages.count].name] : t.inputs
            let r = inputs.reduce(0.0) { $0 + (reach[$1] ?? 0) * (selectivity[$1] ?? 1) }
            reach[t.name] = r
            selectivity[t.name] = Double(t.recordsOut) / Double(t.recordsIn)
            stages.append(Stage(name: t.name, nanosPerRecord: t.nanosPerRecord, reach: r, workers: t.workers))
        }
        // A source that spends no measurable time per record (a manual clock) delivers without limit.
        return (src.nanosPerRecord > 0 ? 1e9 / src.nanosPerRecord : .infinity, stages)
    }

    /// Now, and with `delta` workers more (or fewer) on `task`, as far as the operator's limit and the pool
    /// allow; nil when the model cannot tell yet or the change is not possible. The pool's time is its
    /// workers' (busy time is measured on the wall clock: with more workers than cores, each worker's busy
    /// time stretches with the sharing, which the per-record costs already carry).
    public static func whatIf(_ snap: EngineSnapshot, task: String, delta: Int) -> (now: Prediction, then: Prediction)? {
        guard let (sourceRate, stages) = stages(of: snap), let i = stages.firstIndex(where: { $0.name == task }),
            let t = snap.tasks.first(where: { $0.name == task })
        else { return nil }
        let target = stages[i].workers + delta
        guard target >= 1, target <= min(t.maxParallelism, snap.workers) else { return nil }
        var changed = stages
        changed[i].workers = target
        let name = snap.tasks[0].name
        let pool = max(1, snap.workers)
        return (predict(sourceRate: sourceRate, sourceName: name, stages: stages, pool: pool),
                predict(sourceRate: sourceRate, sourceName: name, stages: changed, pool: pool))
    }
}
