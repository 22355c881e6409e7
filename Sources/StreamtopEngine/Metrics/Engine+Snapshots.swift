import Foundation

/// Publishing: the periodic work and the immutable snapshot readers take (ticker or step-mode driver).
extension Engine {
    // MARK: - Snapshots

    /// Asks each operator for a fresh result (outside the lock: building one may take a while) and keeps
    /// those it gave for the next publication. Called by the ticker, or the step-mode driver's `tick`.
    func refreshResults() {
        let fresh = tasks.map { $0.op?.refreshResult() }
        cond.lock()
        if !operatorsFinished {
            for (t, r) in zip(tasks, fresh) where r != nil { t.published = r }
        }
        cond.unlock()
    }

    /// The periodic work and the snapshot: under the lock, updates rates, rotates latency windows, runs the
    /// adaptive plan, and stores the result as the latest snapshot. Only the engine's ticker (or, in step
    /// mode, the driver through `tick()`) calls it; with `tick: true` it adds one sample to the histories.
    /// `skippedTicks`: ticks the ticker slept through since its last publication (see `runTicker`).
    @discardableResult
    func publish(tick: Bool, skippedTicks: Int = 0) -> EngineSnapshot {
        cond.lock()
        let now = clock.nanos()
        let interval = now &- lastTick
        lastTick = now
        var list: [TaskSnapshot] = []
        for (i, t) in tasks.enumerated() {
            if t.stalledUntil != 0 { _ = stallOverLocked(t) }
            let state = stateLocked(i)
            if state == .backpressured && i > 0 { t.backpressuredNanos &+= interval }
            noteStateLocked(t, state, now: now, index: i)
            t.samples.append((now, t.recordsIn, t.recordsOut, t.busyNanos, t.backpressuredNanos, t.bytesIn, t.bytesOut))
            while let first = t.samples.first, now &- first.t > CounterRate.lookbackNanos, t.samples.count > 2 { t.samples.removeFirst() }
            let samples = t.samples
            let window = CounterRate.windowStart(count: samples.count) { samples[$0].t }
            let first = samples[window]
            let dt = Double(now &- first.t) / 1e9
            let rate = { (value: (Int) -> Int) -> Double in
                CounterRate.perSecond(count: samples.count, windowStart: window, time: { samples[$0].t }, value: value)
            }
            let alloc = Double(max(1, i == 0 ? 1 : effectiveAllocation(t)))
            t.latency.rotateIfNeeded(now)
            list.append(
                TaskSnapshot(
                    id: t.id, name: t.name, state: state, priority: t.priority, workers: i == 0 ? 1 : t.allocation,
                    workersBusy: t.running, maxParallelism: t.maxParallelism, pinned: t.pinned, recordsIn: t.recordsIn,
                    recordsOut: t.recordsOut, recordsFiltered: t.filtered, bytesIn: t.bytesIn, bytesOut: t.bytesOut,
                    inPerSecond: rate { samples[$0].rin }, outPerSecond: rate { samples[$0].rout },
                    bytesInPerSecond: rate { samples[$0].bin }, bytesOutPerSecond: rate { samples[$0].bout },
                    queueDepth: t.inputCount, queueCapacity: t.inputCapacity,
                    queuedRecords: t.inputRecords, inFlightRecords: t.inFlightRecords, latency: t.latency.summary(now: now, exact: finished),
                    recordLatency: t.latency.perRecordSummary(now: now, exact: finished),
                    nanosPerRecord: t.latency.nanosPerRecord(),
                    busyRatio: dt > 0 ? min(1, Double(t.busyNanos &- first.busy) / 1e9 / dt / alloc) : 0,
                    backpressuredRatio: dt > 0 ? min(1, Double(t.backpressuredNanos &- first.bp) / 1e9 / dt) : 0,
                    quanta: t.quanta, busySeconds: Double(t.busyNanos) / 1e9, backpressuredSeconds: Double(t.backpressuredNanos) / 1e9))
        }
        if policy == .adaptive { planLocked(now: now) }
        if tick, let source = list.first { measureEffectLocked(now: now, rate: source.outPerSecond) }
        // Ticks a quiet ticker slept through: nothing moved then, so each held this one's values; filling
        // them in keeps the sparklines' time axis true.
        let missed = tick ? min(config.historyLength, skippedTicks) : 0
        for (i, t) in tasks.enumerated() {
            if tick {
                for _ in 0..<missed {
                    t.history.append(list[i].outPerSecond)
                    t.latencyHistory.append(Double(list[i].latency.p99))
                }
                t.history.append(list[i].outPerSecond)
                t.latencyHistory.append(Double(list[i].latency.p99))
                if t.history.count > config.historyLength {
                    t.history.removeFirst(t.history.count - config.historyLength)
                    t.latencyHistory.removeFirst(t.latencyHistory.count - config.historyLength)
                }
            }
            list[i].history = t.history
            list[i].latencyHistory = t.latencyHistory
            list[i].inputs = t.inputs.map { tasks[$0.from].name }
        }
        if tick {
            for _ in 0..<missed { history.append(list[0].outPerSecond) }
            history.append(list[0].outPerSecond)
            if history.count > config.historyLength { history.removeFirst(history.count - config.historyLength) }
            // Whole seconds and minutes: what the source read in them, and per task what it put out and
            // its highest p99 (a quiet ticker may have slept through several: spread evenly).
            let second = (now &- startNanos) / 1_000_000_000
            if let source = list.first { inputHistory.record(second: second, count: source.recordsOut) }
            for (i, t) in tasks.enumerated() {
                t.longHistory.record(second: second, count: list[i].recordsOut, gauge: Double(list[i].latency.p99))
            }
        }
        for (i, t) in tasks.enumerated() where i > 0 {
            list[i].perSecond = t.longHistory.ratePerSecond
            list[i].perMinute = t.longHistory.ratePerMinute
            list[i].latencyPerSecond = t.longHistory.peakPerSecond
            list[i].latencyPerMinute = t.longHistory.peakPerMinute
        }
        endToEnd.rotateIfNeeded(now)
        var snap = EngineSnapshot(
            time: Double(now &- startNanos) / 1e9, workers: config.workers, policy: policy.rawValue, tasks: list,
            decisions: Array(decisions.suffix(200)), decisionCount: decisionSequence,
            endToEndLatency: endToEnd.summary(now: now, exact: finished), throughputHistory: history, throughputPerSecond: inputHistory.ratePerSecond,
            throughputPerMinute: inputHistory.ratePerMinute,
            finished: finished, inputEnded: sourceDone,
            edges: tasks.flatMap { t in t.outputs.map { EdgeSnapshot(from: t.name, to: tasks[$0.to].name, depth: $0.queue.count, capacity: $0.queue.capacity, records: $0.queue.records) } })
        if checkpointSettings != nil || checkpointStatus.restored != nil { snap.checkpoint = checkpointStatus }
        if !rehearsals.isEmpty { snap.injections = activeRehearsalsLocked(now: now) }
        // Under the lock: workers replace `published` as they complete quanta, and copying an existential
        // while another thread overwrites it races on its retain count (an array's storage freed while
        // still referenced: the rare heap-corruption crash of earlier sessions, seen again in a kill test).
        for t in tasks { if let p = t.published { snap.published[t.name] = p } }
        cond.unlock()
        latestLock.lock()
        latestValue = snap
        latestLock.unlock()
        return snap
    }

    func stateLocked(_ i: Int) -> TaskState {
        let t = tasks[i]
        if t.finished { return .finished }
        if t.paused { return .paused }
        if t.stalledUntil != 0 { return .stalled }
        if i == 0 {
            if sourceDone { return .finished }
            return t.outputsHaveRoom || t.running > 0 ? .running : .backpressured
        }
        if t.running > 0 { return .running }
        if !t.hasInput { return .idle }
        if !t.outputsHaveRoom { return .backpressured }
        return .running
    }

    /// Logs a task entering or leaving backpressure once it has lasted half a second, with the numbers.
    func noteStateLocked(_ t: TaskRuntime, _ state: TaskState, now: UInt64, index i: Int) {
        let isBP = state == .backpressured
        if isBP {
            if t.backpressuredSince == 0 { t.backpressuredSince = now }
            if t.lastState != .backpressured && now &- t.backpressuredSince >= 500_000_000 {
                let edge = t.blockedOutput ?? t.outputs[0]
                let down = tasks[edge.to]
                let why = down.paused ? "\(down.name) is paused" : "\(down.name) cannot keep up"
                logLocked(.scheduler, .backpressured, t.name, "blocked by backpressure",
                          "\(down.name)'s input queue is full (\(edge.queue.count)/\(edge.queue.capacity) batches, \(edge.queue.records) records); \(why)",
                          numbers: ["queue_depth": Double(edge.queue.count), "queue_capacity": Double(edge.queue.capacity), "queued_records": Double(edge.queue.records)])
                t.lastState = .backpressured
            }
        } else {
            if t.lastState == .backpressured {
                let waited = Double(now &- t.backpressuredSince) / 1e9
                logLocked(.scheduler, .unblocked, t.name, "unblocked", "room downstream again after \(String(format: "%.1f", waited)) s", numbers: ["blocked_seconds": waited])
            }
            t.backpressuredSince = 0
            t.lastState = state
        }
    }
}
