import Foundation

/// The mailbox: operator commands applied between quanta, each written to the decision log (lock held).
extension Engine {
    func applyMailboxLocked() {
        guard !mailbox.isEmpty else { return }
        let commands = mailbox
        mailbox.removeAll()
        for c in commands { apply(c) }
        cond.broadcast()
    }

    func apply(_ command: ControlCommand) {
        switch command {
        case .pause(let id), .resume(let id), .togglePause(let id):
            guard let t = task(id) else { return }
            let pause: Bool
            switch command {
            case .pause: pause = true
            case .resume: pause = false
            default: pause = !t.paused
            }
            guard pause != t.paused else {
                logLocked(.operator, .rejected, t.name, pause ? "stays paused" : "stays running", pause ? "already paused" : "not paused")
                return
            }
            if pause && draining {
                logLocked(.operator, .rejected, t.name, "stays running", "the input is stopping: every task drains what was read")
                return
            }
            t.paused = pause
            if pause {
                // The source has no input queue: pausing it stops reading, and the pipeline drains.
                let why = t.inputCapacity == 0
                    ? "operator request; no input is read until it resumes (the tasks drain what they hold)"
                    : "operator request; input queue \(t.inputCount)/\(t.inputCapacity) will fill, upstream will block"
                logLocked(.operator, .paused, t.name, "paused", why, numbers: ["queue_depth": Double(t.inputCount), "queue_capacity": Double(t.inputCapacity)])
            } else {
                logLocked(.operator, .resumed, t.name, "resumed", "operator request; draining \(t.inputCount) queued batches (\(t.inputRecords) records)", numbers: ["queue_depth": Double(t.inputCount), "queued_records": Double(t.inputRecords)])
            }
        case .setPriority(let id, let requested):
            let p = TaskPriority.clamped(requested)
            guard let t = task(id) else { return }
            guard t.priority != p else {
                let why = p == requested ? "already \(p)" : "already \(p), and priorities run \(-TaskPriority.limit)–\(TaskPriority.limit)"
                logLocked(.operator, .rejected, t.name, "priority stays \(p)", why)
                return
            }
            if id.index == 0 {
                logLocked(.operator, .rejected, t.name, "priority stays \(t.priority)", "the source reads on its own thread; priorities order the worker tasks")
                return
            }
            logLocked(.operator, .priorityChanged, t.name, "priority \(t.priority) → \(p)", "operator request", numbers: ["from": Double(t.priority), "to": Double(p)])
            t.priority = p
        case .adjustPriority(let id, let d):
            guard let t = task(id) else { return }
            apply(.setPriority(id, TaskPriority.clamped(t.priority) + TaskPriority.clamped(d)))
        case .setWorkers(let id, let n):
            guard let t = task(id) else { return }
            let cap = id.index == 0 ? 1 : min(t.maxParallelism, config.workers)
            let v = min(max(n, 1), cap)
            var reason = "operator request"
            if v != n {
                reason += id.index == 0 ? "; the source reads on one thread" :
                    (n > cap ? "; capped at \(cap) (\(t.maxParallelism < config.workers ? "the operator's parallelism limit" : "workers in the pool"))" : "; at least 1")
            }
            if v == t.allocation {
                logLocked(.operator, .rejected, t.name, "workers stay \(v)", reason, numbers: ["requested": Double(n), "workers": Double(v)])
                return
            }
            var numbers = ["from": Double(t.allocation), "to": Double(v)]
            if let effect = expectEffectLocked(of: t, workers: v) {
                reason += "; model: \(effect.text)"
                numbers["predicted_rate"] = effect.then
            }
            logLocked(.operator, .workersChanged, t.name, "workers \(t.allocation) → \(v)", reason, numbers: numbers)
            t.allocation = v
            if policy == .adaptive && !t.pinned && id.index > 0 {
                t.pinned = true
                logLocked(.operator, .pinned, t.name, "pinned at \(v)", "workers set by hand while the adaptive policy runs; unpin to let it move them again")
            }
        case .adjustWorkers(let id, let d):
            guard let t = task(id) else { return }
            apply(.setWorkers(id, t.allocation + d))
        case .pin(let id), .unpin(let id), .togglePin(let id):
            guard let t = task(id), id.index > 0 else { return }
            let pin: Bool
            switch command {
            case .pin: pin = true
            case .unpin: pin = false
            default: pin = !t.pinned
            }
            guard pin != t.pinned else {
                logLocked(.operator, .rejected, t.name, pin ? "stays pinned" : "stays unpinned", pin ? "already pinned at \(t.allocation)" : "not pinned")
                return
            }
            t.pinned = pin
            logLocked(.operator, pin ? .pinned : .unpinned, t.name, pin ? "pinned at \(t.allocation)" : "unpinned",
                      pin ? "operator request; the adaptive policy will not move its workers" : "operator request; the adaptive policy may move its workers")
        case .inject(let injection):
            applyInjectionLocked(injection)
        case .request(let id, let request):
            guard let t = task(id) else { return }
            let outcome = t.op?.handle(request) ?? TransportOutcome(applied: false, action: request.verb, reason: "the source takes no requests")
            logLocked(.operator, outcome.applied ? .drillDown : .rejected, t.name, outcome.action, outcome.reason, numbers: outcome.numbers)
        case .transport(let c):
            let outcome = source.control(c)
            if outcome.applied, let paused = outcome.numbers["paused"] { rehearsals["burst"]?.replay(paused: paused == 1, now: clock.nanos()) }
            logLocked(.operator, outcome.applied ? .speedChanged : .rejected, tasks[0].name, outcome.action, outcome.reason, numbers: outcome.numbers)
        case .setPolicy(let p):
            guard p != policy else {
                logLocked(.operator, .rejected, nil, "policy stays \(p.rawValue)", "already the policy")
                return
            }
            logLocked(.operator, .policyChanged, nil, "policy \(policy.rawValue) → \(p.rawValue)", "operator request")
            policy = p
            // Start fair share from a level field, so no task is owed a burst of past time.
            let floor = tasks.dropFirst().map(\.virtualTime).max() ?? 0
            for t in tasks { t.virtualTime = floor }
            lastPlan = 0
        }
    }
}
