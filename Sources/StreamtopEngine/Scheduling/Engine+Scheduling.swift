import Foundation

/// Scheduling: which task a free worker runs next, and what happens when a quantum ends (lock held).
extension Engine {
    // MARK: - Scheduling (lock held)

    /// Picks the next task to run by the active policy, takes a batch from its queue and reserves room
    /// downstream. Strict priority: the highest priority, ties to the task furthest downstream (so the
    /// pipeline drains before it fills). Fair share and adaptive: the least weighted processing time.
    ///
    /// A union's batches are renumbered: the same source block reaches it once per input, so the k-th
    /// block from input i becomes k × inputs + i. Sequences then stay unique and gap-free, and an
    /// order-sensitive task after a union sees every input's share of a block in a fixed order.
    func pickLocked() -> (TaskRuntime, Batch)? {
        guard let (task, batch, edge) = pickWithEdgeLocked() else { return nil }
        guard task.inputs.count > 1, let i = task.inputs.firstIndex(where: { $0 === edge }) else { return (task, batch) }
        let renumbered = batch.derived(payload: batch.payload, records: batch.records, bytes: batch.bytes)
        renumbered.sequence = batch.sequence * task.inputs.count + i
        return (task, renumbered)
    }

    func pickWithEdgeLocked() -> (TaskRuntime, Batch, Edge)? {
        // (Letting idle workers help tasks beyond their allocation under the adaptive policy was tried:
        // CPU-bound tasks spread over more workers than cores measured lower true rates, and the planner
        // oscillated — slow 1 → 4, 4 → 2, 2 → 4 in the policy test under ThreadSanitizer.)
        let best = pickTaskLocked()
        guard let task = best, let (batch, edge) = task.popInput() else { return nil }
        if policy != .strictPriority {
            // Tasks that could not run earn no credit meanwhile, so they cannot monopolize when they return.
            for i in 1..<tasks.count where tasks[i].virtualTime < task.virtualTime && !isRunnableLocked(i) {
                tasks[i].virtualTime = task.virtualTime
            }
        }
        task.running += 1
        task.inFlightRecords += batch.records
        for e in task.outputs { e.reserved += 1 }
        return (task, batch, edge)
    }

    /// The runnable task the policy picks.
    private func pickTaskLocked() -> TaskRuntime? {
        var best: TaskRuntime?
        for i in 1..<tasks.count {
            let t = tasks[i]
            guard isRunnableLocked(i) else { continue }
            if let b = best {
                switch policy {
                case .strictPriority:
                    if b.priority > t.priority { continue }
                case .fairShare, .adaptive:
                    if b.virtualTime < t.virtualTime { continue }
                }
            }
            best = t
        }
        return best
    }

    /// Input waiting, not paused, below its allocation, and room downstream.
    func isRunnableLocked(_ i: Int) -> Bool {
        let t = tasks[i]
        let cap = effectiveAllocation(t)
        // The stall first: one whose time is up ends whatever else holds the task (paused, no input).
        guard stallOverLocked(t), !t.paused, t.hasInput, t.running < cap else { return false }
        return t.outputsHaveRoom
    }

    /// Test hook: which tasks `k` free workers would run now, in pick order (nothing is changed).
    func simulatePicks(_ k: Int) -> [String] {
        cond.lock()
        defer { cond.unlock() }
        var taken: [(TaskRuntime, Batch, Edge)] = []
        for _ in 0..<k {
            guard let p = pickWithEdgeLocked() else { break }
            taken.append(p)
        }
        for (task, batch, edge) in taken.reversed() {
            edge.pushFront(batch)
            task.running -= 1
            task.inFlightRecords -= batch.records
            for e in task.outputs { e.reserved -= 1 }
        }
        return taken.map { $0.0.name }
    }

    func effectiveAllocation(_ t: TaskRuntime) -> Int {
        min(t.allocation, t.maxParallelism, config.workers)
    }

    func completeLocked(_ task: TaskRuntime, _ batch: Batch, _ output: OperatorOutput, duration: UInt64, now: UInt64) {
        task.running -= 1
        task.inFlightRecords -= batch.records
        task.quanta += 1
        task.recordsIn += batch.records
        task.bytesIn += batch.bytes
        task.filtered += output.filtered
        task.busyNanos &+= duration
        task.virtualTime += Double(max(duration, 1000)) / SchedulingPolicy.weight(priority: task.priority)
        task.latency.record(duration, records: batch.records, now: now)
        if let p = output.published { task.published = p }
        if !task.outputs.isEmpty {
            for e in task.outputs { e.reserved -= 1 }
            if let out = output.batch {
                // Fan-out: every downstream task gets the same immutable batch. (A batch already shared may
                // be in other tasks' hands: it is not written again.)
                if task.outputs.count > 1 && !out.shared { out.shared = true }
                for e in task.outputs { e.push(out) }
                task.recordsOut += out.records
                task.bytesOut += out.bytes
            }
        } else {
            // The last task delivers to the outside world.
            task.recordsOut += output.batch?.records ?? (batch.records - output.filtered)
            task.bytesOut += output.batch?.bytes ?? batch.bytes
            endToEnd.record(now &- batch.ingestNanos, records: batch.records, now: now)
        }
    }

    /// Ends the run once the input ended and every queue drained: finishes the operators (outside the lock:
    /// finishing writes results, and a failed write logs a decision), then marks the engine finished.
    /// Called with the lock held; may release and retake it.
    @discardableResult
    func checkFinishedLocked() -> Bool {
        if finished || operatorsFinished { return true }
        // Not while the source thread captures a checkpoint: finishing would change the state it reads.
        guard sourceDone, tasks[0].running == 0, !capturing else { return false }
        for t in tasks.dropFirst() where t.running > 0 || t.inputs.contains(where: { !$0.queue.isEmpty || $0.reserved > 0 }) { return false }
        for t in tasks { t.finished = true }
        takeFinalCheckpointLocked()
        if finished || operatorsFinished { return true }
        finishOperatorsUnlocking()
        finished = true
        logLocked(.engine, .finished, nil, "finished", "input ended and every queue drained")
        cond.broadcast()
        return true
    }
}
