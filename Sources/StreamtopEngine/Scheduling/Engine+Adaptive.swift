import Foundation

/// The adaptive policy's planning step inside the engine (lock held).
extension Engine {
    /// The adaptive policy's periodic step: measure each task's true rate over the window since the last
    /// plan, plan with `AdaptivePlanner` (DS2's ceil(need) at the rate the pipeline can take), and move
    /// workers when the plan differs. After a move it waits
    /// two windows, so it judges the new allocation on fresh numbers instead of oscillating.
    func planLocked(now: UInt64) {
        guard now &- lastPlan >= config.adaptiveIntervalNanos else { return }
        defer {
            lastPlan = now
            for t in tasks { t.planMark = (t.recordsIn, t.recordsOut, t.busyNanos) }
        }
        guard lastPlan != 0, now >= settleUntil else { return }
        let src = tasks[0]
        let srcRecords = Double(src.recordsOut - src.planMark.rout)
        let srcBusy = Double(src.busyNanos &- src.planMark.busy) / 1e9
        // The source's own rate: records per second spent inside the source (reading, or pacing a replay).
        guard srcRecords > 0, srcBusy > 0 else { return }
        let sourceRate = srcRecords / srcBusy
        let measures = tasks.dropFirst().map { t in
            AdaptivePlanner.TaskMeasure(
                name: t.name, recordsIn: Double(t.recordsIn - t.planMark.rin), recordsOut: Double(t.recordsOut - t.planMark.rout),
                busySeconds: Double(t.busyNanos &- t.planMark.busy) / 1e9, allocation: t.allocation,
                maxParallelism: min(t.maxParallelism, config.workers), pinned: t.pinned)
        }
        let inputs = tasks.dropFirst().map { t in t.inputs.map { $0.from - 1 } }
        guard let plan = AdaptivePlanner.plan(sourceRate: sourceRate, tasks: measures, workers: config.workers, inputs: inputs) else { return }
        let current = measures.map(\.allocation)
        guard plan.allocation != current else { return }
        var changes: [String] = []
        var numbers: [String: Double] = ["source_rate": sourceRate, "target_rate": plan.rate]
        for (i, m) in measures.enumerated() {
            numbers["\(m.name).true_rate"] = m.trueRate ?? 0
            numbers["\(m.name).target_rate"] = plan.targetRate[i]
            numbers["\(m.name).need"] = plan.need[i]
            if plan.allocation[i] != current[i] {
                changes.append("\(m.name) \(current[i]) → \(plan.allocation[i])")
                numbers["\(m.name).workers_from"] = Double(current[i])
                numbers["\(m.name).workers_to"] = Double(plan.allocation[i])
            }
        }
        let detail = measures.enumerated().map { i, m in
            "\(m.name) \(Self.rate(m.trueRate ?? 0))/s per worker, target \(Self.rate(plan.targetRate[i]))/s, needs \(String(format: "%.1f", plan.need[i]))"
        }.joined(separator: "; ")
        let aim = plan.limit == "source" ? "aiming at the source's rate" : "aiming at \(Self.rate(plan.rate))/s, as much as \(plan.limit) can take"
        logLocked(.scheduler, .workersMoved, nil, "workers " + changes.joined(separator: ", "),
                  "source delivers \(Self.rate(sourceRate))/s, \(aim); true rates: \(detail)", numbers: numbers)
        for (i, t) in tasks.dropFirst().enumerated() { t.allocation = plan.allocation[i] }
        settleUntil = now &+ 2 * config.adaptiveIntervalNanos
        wakeLocked()
    }

    static func rate(_ v: Double) -> String {
        v >= 1e6 ? String(format: "%.2fM", v / 1e6) : v >= 1e3 ? String(format: "%.1fk", v / 1e3) : String(format: "%.0f", v)
    }
}
