/// Predict, act, measure: an operator's worker change is logged with what the planner's model expects
/// (`ThroughputModel`), and a few seconds later with what happened ("predicted +37 %, measured +33 %"),
/// so operators learn how far to trust the model (lock held).
extension Engine {
    /// Seconds after a change before its effect is measured (the rates cover the last second).
    static let effectDelayNanos: UInt64 = 3_000_000_000

    /// The model's prediction for `t` going to `workers`, remembered to be measured; nil when it cannot
    /// tell (too little processed yet).
    func expectEffectLocked(of t: TaskRuntime, workers: Int) -> (text: String, then: Double)? {
        latestLock.lock()
        let snap = latestValue
        latestLock.unlock()
        guard let before = snap.tasks.first?.outPerSecond, before > 0,
            let (now, then) = ThroughputModel.whatIf(snap, task: t.name, delta: workers - t.allocation), now.rate > 0
        else { return nil }
        // The model's relative change, applied to the rate measured now (its absolute figures can be off:
        // what it gets right is which task limits, and by how much a worker moves that).
        let change = then.rate / now.rate - 1
        pendingEffect = PendingEffect(task: t.name, change: "workers \(t.allocation) → \(workers)", baseline: before, predictedChange: change, due: clock.nanos() &+ Self.effectDelayNanos)
        let limit = then.limit == now.limit ? "\(then.limit) still limits" : "the limit moves from \(now.limit) to \(then.limit)"
        return ("\(Self.rate(before)) → \(Self.rate(before * (1 + change))) lines/s (\(Self.percentChange(change))); \(limit)", before * (1 + change))
    }

    /// Logs the measured effect of the pending change once its time has come.
    func measureEffectLocked(now: UInt64, rate: Double) {
        guard let e = pendingEffect, now >= e.due else { return }
        pendingEffect = nil
        guard e.baseline > 0 else { return }
        let measured = rate / e.baseline - 1
        logLocked(.engine, .effectMeasured, e.task, "effect of \(e.change)",
                  "predicted \(Self.percentChange(e.predictedChange)), measured \(Self.percentChange(measured)) (\(Self.rate(e.baseline)) → \(Self.rate(rate)) lines/s read)",
                  numbers: ["predicted_change_pct": (e.predictedChange * 1000).rounded() / 10, "measured_change_pct": (measured * 1000).rounded() / 10, "before": e.baseline.rounded(), "after": rate.rounded()])
    }

    /// `+37 %`, `−5 %`, `±0 %`.
    static func percentChange(_ v: Double) -> String {
        let p = Int((v * 100).rounded())
        return p > 0 ? "+\(p) %" : p < 0 ? "−\(-p) %" : "±0 %"
    }
}

/// A change waiting to be measured.
struct PendingEffect {
    var task: String
    var change: String
    /// Lines per second the source delivered before the change.
    var baseline: Double
    var predictedChange: Double
    var due: UInt64
}
