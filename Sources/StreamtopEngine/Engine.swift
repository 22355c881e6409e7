import Foundation
import Synchronization

/// The in-process stream engine: a source thread, a pool of worker threads and a ticker that publishes
/// snapshots, all coordinated by one lock taken once per batch (never per record).
///
/// Thread use: `start`, `send`, `snapshot`, `stopInput`, `shutdown` and `waitUntilFinished` may be called
/// from any thread. Operators run on worker threads; the source runs on its own thread because reading
/// input may block. With `start(threaded: false)` nothing runs by itself and `step()` runs one quantum
/// inline, for deterministic tests.
public final class Engine: @unchecked Sendable {
    private let cond = NSCondition()
    private let tasks: [TaskRuntime]
    private let source: StreamSource
    private let config: EngineConfig
    private let clock: EngineClock
    private let startNanos: UInt64
    private var mailbox: [ControlCommand] = []
    private var decisions: [Decision] = []
    private var decisionSequence = 0
    private var sourceDone = false
    private var stopping = false
    private var finished = false
    private var endToEnd = LatencyWindow()
    private var history: [Double] = []
    private var lastTick: UInt64 = 0
    /// The last published snapshot. A pthread lock, not `Mutex`: ThreadSanitizer cannot see the latter's
    /// futex calls on Linux and would report every read as a race.
    private let latestLock = NSLock()
    private var latestValue = EngineSnapshot.empty
    private var threads: [Thread] = []
    /// Worker and ticker threads that have not exited yet (the source thread may sit in a blocking read
    /// and is not waited for: it never touches an operator).
    private var liveThreads = 0
    /// Set by `stopInput`: tasks may no longer be paused.
    private var draining = false
    /// Whether the operators were finished (once, at the end or after a shutdown).
    private var operatorsFinished = false
    /// Set by `start(threaded: true)`: the engine's own ticker publishes; nobody else may.
    private var isThreaded = false
    /// Threads blocked in `cond.wait()`; wake-ups are skipped when nobody waits (saves a futex call per quantum).
    private var waiters = 0
    /// The active scheduling policy.
    private var policy: SchedulingPolicy
    /// When the adaptive policy last planned, and until when it leaves a new allocation to settle.
    private var lastPlan: UInt64 = 0
    private var settleUntil: UInt64 = 0
    /// The error that ended the input early, if any.
    public private(set) var failure: Error?

    /// Builds an engine over `source` and the graph of `specs`: each task reads the tasks it names (the
    /// one before it by default, so a list without inputs is a line). An input that is unknown or not
    /// declared earlier is a programming error: pipeline files are checked before they get here.
    public init(source: StreamSource, tasks specs: [TaskSpec], config: EngineConfig, clock: EngineClock = MonotonicClock()) {
        precondition(!specs.isEmpty, "a pipeline needs at least one task after the source")
        self.source = source
        self.config = config
        self.clock = clock
        startNanos = clock.nanos()
        policy = config.policy
        var runtimes = [TaskRuntime(id: TaskID(0), name: config.sourceName, op: nil, priority: 0, allocation: 1, queueCapacity: 0)]
        for (i, spec) in specs.enumerated() {
            let limit = min(spec.op.maxParallelism, config.workers)
            runtimes.append(
                TaskRuntime(
                    id: TaskID(i + 1), name: spec.name, op: spec.op, priority: spec.priority,
                    allocation: min(spec.workers ?? limit, limit), queueCapacity: max(1, spec.queueCapacity)))
        }
        tasks = runtimes
        let index = Dictionary(runtimes.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        for (i, spec) in specs.enumerated() {
            let names = spec.inputs ?? [i == 0 ? config.sourceName : specs[i - 1].name]
            precondition(!names.isEmpty, "task \(spec.name) reads nothing")
            for name in names {
                guard let from = index[name], from <= i else { preconditionFailure("task \(spec.name) reads '\(name)', which is not an earlier task") }
                let edge = Edge(from: from, to: i + 1, capacity: max(1, spec.queueCapacity))
                runtimes[from].outputs.append(edge)
                runtimes[i + 1].inputs.append(edge)
            }
        }
        lastTick = startNanos
        let summary = runtimes.dropFirst().map { "\($0.name)×\($0.allocation)" }.joined(separator: ", ")
        logLocked(.engine, .started, nil, "started", "\(config.workers) workers, policy \(config.policy.rawValue); allocation \(summary)", numbers: ["workers": Double(config.workers)])
        // A first snapshot, so readers see every task before the ticker's first tick.
        publish(tick: false)
    }

    /// The task ids by name, source first.
    public var taskNames: [(TaskID, String)] { tasks.map { ($0.id, $0.name) } }

    /// Looks a task up by name.
    public func taskID(named name: String) -> TaskID? { tasks.first { $0.name == name }?.id }

    // MARK: - Running

    /// Starts the source thread, the workers and the ticker. With `threaded: false`, starts nothing:
    /// drive the engine with `step()` and `publish()`.
    public func start(threaded: Bool = true) {
        guard threaded else { return }
        isThreaded = true
        var list: [Thread] = []
        list.append(Thread { [self] in runSource() })
        for w in 0..<config.workers { list.append(Thread { [self] in runWorker(slot: w) }) }
        list.append(Thread { [self] in runTicker() })
        cond.lock()
        liveThreads = list.count - 1
        cond.unlock()
        for (i, t) in list.enumerated() {
            t.name = i == 0 ? "streamtop-source" : (i == list.count - 1 ? "streamtop-ticker" : "streamtop-worker-\(i - 1)")
            t.start()
        }
        threads = list
    }

    /// Sends a control command; it is applied between quanta, ahead of data.
    public func send(_ command: ControlCommand) {
        cond.lock()
        mailbox.append(command)
        cond.broadcast()
        cond.unlock()
    }

    /// Adds an entry to the decision log (for events the engine cannot see, such as a file rotation).
    public func log(_ actor: Decision.Actor, kind: Decision.Kind = .sourceEvent, task: String?, action: String, reason: String, numbers: [String: Double] = [:]) {
        cond.lock()
        logLocked(actor, kind, task, action, reason, numbers: numbers)
        cond.unlock()
    }

    /// The latest published snapshot.
    public func snapshot() -> EngineSnapshot {
        latestLock.lock()
        defer { latestLock.unlock() }
        return latestValue
    }

    /// Stops reading input: the source hands out what it already holds (or is cut off after `grace`
    /// seconds), everything read is processed, then the engine finishes.
    public func stopInput(grace: Double = 1.0) {
        // Ask the source to finish: a followed file hands out what it already holds, then ends. A source
        // stuck in a blocking read (standard input) is cut off after the grace period.
        source.stop()
        cond.lock()
        logLocked(.engine, .inputStopped, config.sourceName, "input stopping", "stop requested; reading what is already there, then draining")
        // Draining means every task runs: paused ones are resumed, and later pauses refused, so what was
        // read is counted and the run ends.
        draining = true
        for t in tasks where t.paused {
            t.paused = false
            logLocked(.engine, .resumed, t.name, "resumed", "the input is stopping; draining what was read (\(t.inputCount) queued batches)")
        }
        cond.broadcast()
        cond.unlock()
        Thread { [self] in
            usleep(useconds_t(grace * 1_000_000))
            cond.lock()
            if !sourceDone {
                sourceDone = true
                logLocked(.engine, .inputStopped, config.sourceName, "input stopped", "the source did not end within \(grace) s; draining what was read")
            }
            cond.broadcast()
            cond.unlock()
        }.start()
    }

    /// Stops everything at once, without draining, and returns once no worker is inside an operator (so
    /// the caller may finish the operators).
    public func shutdown() {
        source.stop()
        cond.lock()
        stopping = true
        cond.broadcast()
        while liveThreads > 0 { cond.wait() }
        // No worker is left inside an operator: finish them here (windows still open are emitted).
        finishOperatorsUnlocking()
        cond.unlock()
    }

    /// Finishes every operator once, upstream first. Called with the lock held when no worker is inside an
    /// operator (all drained, or after a shutdown joined them); the lock is released meanwhile, and workers
    /// that look see `operatorsFinished` and leave. The engine drives this lifecycle, not its callers.
    private func finishOperatorsUnlocking() {
        guard !operatorsFinished else { return }
        operatorsFinished = true
        cond.unlock()
        for t in tasks { t.op?.finish() }
        cond.lock()
    }

    /// Called by a worker or the ticker as it exits (lock held).
    private func threadExitedLocked() {
        liveThreads -= 1
        cond.broadcast()
    }

    /// Blocks until the input has ended and every queue has drained (or `shutdown`), then publishes a
    /// final snapshot and returns it.
    @discardableResult
    public func waitUntilFinished() -> EngineSnapshot {
        cond.lock()
        while !finished && !stopping { cond.wait() }
        // Wait for the workers and the ticker to leave: no worker is then inside an operator, and the
        // ticker has published the final snapshot on its way out.
        while isThreaded && liveThreads > 0 { cond.wait() }
        let threaded = isThreaded
        cond.unlock()
        return threaded ? snapshot() : publish(tick: true)
    }

    /// Runs the periodic work (rates, latency windows, the adaptive plan) and publishes a snapshot — in
    /// step mode (`start(threaded: false)`), where the caller drives the engine. A threaded engine ticks
    /// on its own thread; there this only returns the latest snapshot, so no other thread mutates state.
    @discardableResult
    public func tick() -> EngineSnapshot {
        cond.lock()
        let threaded = isThreaded
        cond.unlock()
        return threaded ? snapshot() : publish(tick: true)
    }

    /// Waits up to `timeout` seconds for the end (input ended and drained, or `shutdown`); true when it came.
    public func waitUntilFinished(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while !finished && !stopping {
            waiters += 1
            let signalled = cond.wait(until: deadline)
            waiters -= 1
            if !signalled { break }
        }
        return finished || stopping
    }

    /// True once the input ended and everything drained.
    public var isFinished: Bool {
        cond.lock()
        defer { cond.unlock() }
        return finished
    }

    // MARK: - Threads

    private func runSource() {
        let src = tasks[0]
        cond.lock()
        while true {
            var waitStart: UInt64 = 0
            while !stopping && !sourceDone && (src.paused || !src.outputsHaveRoom) {
                if !src.paused && waitStart == 0 { waitStart = clock.nanos() }
                waitLocked()
            }
            if waitStart != 0 { src.backpressuredNanos &+= clock.nanos() &- waitStart }
            if stopping || sourceDone { break }
            for e in src.outputs { e.reserved += 1 }
            src.running = 1
            cond.unlock()
            let t0 = clock.nanos()
            let result = Result { try source.next() }
            let t1 = clock.nanos()
            cond.lock()
            for e in src.outputs { e.reserved -= 1 }
            src.running = 0
            src.busyNanos &+= t1 &- t0
            switch result {
            case .success(let batch?):
                acceptFromSource(batch, duration: t1 &- t0, now: t1)
            case .success(nil):
                if !sourceDone { logLocked(.engine, .inputEnded, src.name, "input ended", "the source has no more lines") }
                sourceDone = true
            case .failure(let error):
                failure = error
                sourceDone = true
                logLocked(.engine, .inputFailed, src.name, "input failed", "\(error)")
            }
            wakeLocked()
        }
        src.finished = true
        checkFinishedLocked()
        cond.unlock()
    }

    private func acceptFromSource(_ batch: Batch, duration: UInt64, now: UInt64) {
        let src = tasks[0]
        batch.sequence = src.quanta
        for e in src.outputs { e.queue.push(batch) }
        src.recordsIn += batch.records
        src.recordsOut += batch.records
        src.bytesIn += batch.bytes
        src.bytesOut += batch.bytes
        src.quanta += 1
        src.latency.record(duration, records: batch.records, now: now)
    }

    private func runWorker(slot: Int) {
        cond.lock()
        while true {
            applyMailboxLocked()
            if stopping || finished { break }
            if let (task, batch) = pickLocked() {
                cond.unlock()
                let t0 = clock.nanos()
                let output = task.op!.process(batch, slot: slot)
                let t1 = clock.nanos()
                cond.lock()
                completeLocked(task, batch, output, duration: t1 &- t0, now: t1)
                wakeLocked()
            } else if checkFinishedLocked() {
                break
            } else {
                waitLocked()
            }
        }
        threadExitedLocked()
        cond.unlock()
    }

    private func runTicker() {
        while true {
            cond.lock()
            let done = stopping || finished
            cond.unlock()
            _ = publish(tick: true)
            if done {
                cond.lock()
                threadExitedLocked()
                cond.unlock()
                return
            }
            usleep(useconds_t(config.tickNanos / 1000))
        }
    }

    private func waitLocked() {
        waiters += 1
        cond.wait()
        waiters -= 1
    }

    private func wakeLocked() {
        if waiters > 0 { cond.broadcast() }
    }

    // MARK: - Deterministic stepping

    /// Runs one quantum inline: applies pending commands, then processes one batch of the task the policy
    /// picks, or reads one batch from the source. Returns false when there was nothing to do.
    @discardableResult
    public func step() -> Bool {
        cond.lock()
        defer { cond.unlock() }
        applyMailboxLocked()
        if stopping || finished { return false }
        if let (task, batch) = pickLocked() {
            let t0 = clock.nanos()
            let output = task.op!.process(batch, slot: 0)
            let t1 = clock.nanos()
            completeLocked(task, batch, output, duration: t1 &- t0, now: t1)
            return true
        }
        let src = tasks[0]
        if !sourceDone && !src.paused && src.outputsHaveRoom {
            let t0 = clock.nanos()
            do {
                if let batch = try source.next() {
                    acceptFromSource(batch, duration: clock.nanos() &- t0, now: clock.nanos())
                    return true
                }
                sourceDone = true
                logLocked(.engine, .inputEnded, src.name, "input ended", "the source has no more lines")
            } catch {
                failure = error
                sourceDone = true
            }
            src.finished = sourceDone
        }
        checkFinishedLocked()
        return false
    }

    // MARK: - Scheduling (lock held)

    /// Picks the next task to run by the active policy, takes a batch from its queue and reserves room
    /// downstream. Strict priority: the highest priority, ties to the task furthest downstream (so the
    /// pipeline drains before it fills). Fair share and adaptive: the least weighted processing time.
    private func pickLocked() -> (TaskRuntime, Batch)? {
        pickWithEdgeLocked().map { ($0.0, $0.1) }
    }

    private func pickWithEdgeLocked() -> (TaskRuntime, Batch, Edge)? {
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

    /// Input waiting, not paused, below its allocation, and room downstream.
    private func isRunnableLocked(_ i: Int) -> Bool {
        let t = tasks[i]
        guard !t.paused, t.hasInput, t.running < effectiveAllocation(t) else { return false }
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
            edge.queue.pushFront(batch)
            task.running -= 1
            task.inFlightRecords -= batch.records
            for e in task.outputs { e.reserved -= 1 }
        }
        return taken.map { $0.0.name }
    }

    private func effectiveAllocation(_ t: TaskRuntime) -> Int {
        min(t.allocation, t.maxParallelism, config.workers)
    }

    private func completeLocked(_ task: TaskRuntime, _ batch: Batch, _ output: OperatorOutput, duration: UInt64, now: UInt64) {
        task.running -= 1
        task.inFlightRecords -= batch.records
        task.quanta += 1
        task.recordsIn += batch.records
        task.bytesIn += batch.bytes
        task.filtered += output.filtered
        task.busyNanos &+= duration
        task.virtualTime += Double(max(duration, 1000)) / SchedulingPolicy.weight(priority: task.priority)
        task.latency.record(duration, records: batch.records, now: now)
        if !task.outputs.isEmpty {
            for e in task.outputs { e.reserved -= 1 }
            if let out = output.batch {
                // Fan-out: every downstream task gets the same immutable batch.
                if task.outputs.count > 1 { out.shared = true }
                for e in task.outputs { e.queue.push(out) }
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
    private func checkFinishedLocked() -> Bool {
        if finished || operatorsFinished { return true }
        guard sourceDone, tasks[0].running == 0 else { return false }
        for t in tasks.dropFirst() where t.running > 0 || t.inputs.contains(where: { !$0.queue.isEmpty || $0.reserved > 0 }) { return false }
        for t in tasks { t.finished = true }
        finishOperatorsUnlocking()
        finished = true
        logLocked(.engine, .finished, nil, "finished", "input ended and every queue drained")
        cond.broadcast()
        return true
    }

    private func applyMailboxLocked() {
        guard !mailbox.isEmpty else { return }
        let commands = mailbox
        mailbox.removeAll()
        for c in commands { apply(c) }
        cond.broadcast()
    }

    private func apply(_ command: ControlCommand) {
        switch command {
        case .pause(let id), .resume(let id), .togglePause(let id):
            guard let t = task(id) else { return }
            let pause: Bool
            switch command {
            case .pause: pause = true
            case .resume: pause = false
            default: pause = !t.paused
            }
            guard pause != t.paused else { return }
            if pause && draining {
                logLocked(.operator, .rejected, t.name, "stays running", "the input is stopping: every task drains what was read")
                return
            }
            t.paused = pause
            if pause {
                logLocked(.operator, .paused, t.name, "paused", "operator request; input queue \(t.inputCount)/\(t.inputCapacity) will fill, upstream will block", numbers: ["queue_depth": Double(t.inputCount), "queue_capacity": Double(t.inputCapacity)])
            } else {
                logLocked(.operator, .resumed, t.name, "resumed", "operator request; draining \(t.inputCount) queued batches (\(t.inputRecords) records)", numbers: ["queue_depth": Double(t.inputCount), "queued_records": Double(t.inputRecords)])
            }
        case .setPriority(let id, let requested):
            let p = TaskPriority.clamped(requested)
            guard let t = task(id), t.priority != p else { return }
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
            logLocked(.operator, .workersChanged, t.name, "workers \(t.allocation) → \(v)", reason, numbers: ["from": Double(t.allocation), "to": Double(v)])
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
            guard pin != t.pinned else { return }
            t.pinned = pin
            logLocked(.operator, pin ? .pinned : .unpinned, t.name, pin ? "pinned at \(t.allocation)" : "unpinned",
                      pin ? "operator request; the adaptive policy will not move its workers" : "operator request; the adaptive policy may move its workers")
        case .transport(let c):
            let outcome = source.control(c)
            logLocked(.operator, outcome.applied ? .speedChanged : .rejected, tasks[0].name, outcome.action, outcome.reason, numbers: outcome.numbers)
        case .setPolicy(let p):
            guard p != policy else { return }
            logLocked(.operator, .policyChanged, nil, "policy \(policy.rawValue) → \(p.rawValue)", "operator request")
            policy = p
            // Start fair share from a level field, so no task is owed a burst of past time.
            let floor = tasks.dropFirst().map(\.virtualTime).max() ?? 0
            for t in tasks { t.virtualTime = floor }
            lastPlan = 0
        }
    }

    private func task(_ id: TaskID) -> TaskRuntime? { id.index >= 0 && id.index < tasks.count ? tasks[id.index] : nil }

    private func logLocked(_ actor: Decision.Actor, _ kind: Decision.Kind, _ task: String?, _ action: String, _ reason: String, numbers: [String: Double] = [:]) {
        decisionSequence += 1
        let d = Decision(
            sequence: decisionSequence, time: Double(clock.nanos() &- startNanos) / 1e9, actor: actor,
            policy: actor == .scheduler ? policy.rawValue : nil, kind: kind, task: task,
            action: action, reason: reason, numbers: numbers)
        decisions.append(d)
        if decisions.count > config.decisionCapacity { decisions.removeFirst(decisions.count - config.decisionCapacity / 2) }
    }

    // MARK: - Snapshots

    /// The periodic work and the snapshot: under the lock, updates rates, rotates latency windows, runs the
    /// adaptive plan, and stores the result as the latest snapshot. Only the engine's ticker (or, in step
    /// mode, the driver through `tick()`) calls it; with `tick: true` it adds one sample to the histories.
    @discardableResult
    private func publish(tick: Bool) -> EngineSnapshot {
        cond.lock()
        let now = clock.nanos()
        let interval = now &- lastTick
        lastTick = now
        var list: [TaskSnapshot] = []
        for (i, t) in tasks.enumerated() {
            let state = stateLocked(i)
            if state == .backpressured && i > 0 { t.backpressuredNanos &+= interval }
            noteStateLocked(t, state, now: now, index: i)
            t.samples.append((now, t.recordsIn, t.recordsOut, t.busyNanos, t.backpressuredNanos, t.bytesIn, t.bytesOut))
            while let first = t.samples.first, now &- first.t > 1_000_000_000, t.samples.count > 2 { t.samples.removeFirst() }
            let first = t.samples.first!
            let dt = Double(now &- first.t) / 1e9
            let rate = { (a: Int, b: Int) -> Double in dt > 0 ? Double(b - a) / dt : 0 }
            let alloc = Double(max(1, i == 0 ? 1 : effectiveAllocation(t)))
            t.latency.rotateIfNeeded(now)
            list.append(
                TaskSnapshot(
                    id: t.id, name: t.name, state: state, priority: t.priority, workers: i == 0 ? 1 : t.allocation,
                    workersBusy: t.running, maxParallelism: t.maxParallelism, pinned: t.pinned, recordsIn: t.recordsIn,
                    recordsOut: t.recordsOut, recordsFiltered: t.filtered, bytesIn: t.bytesIn, bytesOut: t.bytesOut,
                    inPerSecond: rate(first.rin, t.recordsIn), outPerSecond: rate(first.rout, t.recordsOut),
                    bytesInPerSecond: rate(first.bin, t.bytesIn), bytesOutPerSecond: rate(first.bout, t.bytesOut),
                    queueDepth: t.inputCount, queueCapacity: t.inputCapacity,
                    queuedRecords: t.inputRecords, inFlightRecords: t.inFlightRecords, latency: t.latency.summary(),
                    recordLatency: t.latency.perRecordSummary(),
                    nanosPerRecord: t.latency.nanosPerRecord(),
                    busyRatio: dt > 0 ? min(1, Double(t.busyNanos &- first.busy) / 1e9 / dt / alloc) : 0,
                    backpressuredRatio: dt > 0 ? min(1, Double(t.backpressuredNanos &- first.bp) / 1e9 / dt) : 0,
                    quanta: t.quanta))
        }
        if policy == .adaptive { planLocked(now: now) }
        for (i, t) in tasks.enumerated() {
            if tick {
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
            history.append(list[0].outPerSecond)
            if history.count > config.historyLength { history.removeFirst(history.count - config.historyLength) }
        }
        endToEnd.rotateIfNeeded(now)
        let snap = EngineSnapshot(
            time: Double(now &- startNanos) / 1e9, workers: config.workers, policy: policy.rawValue, tasks: list,
            decisions: Array(decisions.suffix(200)), decisionCount: decisionSequence,
            endToEndLatency: endToEnd.summary(), throughputHistory: history, finished: finished, inputEnded: sourceDone,
            edges: tasks.flatMap { t in t.outputs.map { EdgeSnapshot(from: t.name, to: tasks[$0.to].name, depth: $0.queue.count, capacity: $0.queue.capacity, records: $0.queue.records) } })
        cond.unlock()
        latestLock.lock()
        latestValue = snap
        latestLock.unlock()
        return snap
    }

    /// The adaptive policy's periodic step: measure each task's true rate over the window since the last
    /// plan, plan with `AdaptivePlanner`, and move workers when the plan differs. After a move it waits
    /// two windows, so it judges the new allocation on fresh numbers instead of oscillating.
    private func planLocked(now: UInt64) {
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
        var numbers: [String: Double] = ["source_rate": sourceRate]
        for (i, m) in measures.enumerated() {
            numbers["\(m.name).true_rate"] = m.trueRate ?? 0
            numbers["\(m.name).need"] = plan.need[i]
            if plan.allocation[i] != current[i] { changes.append("\(m.name) \(current[i]) → \(plan.allocation[i])") }
        }
        let detail = measures.enumerated().map { i, m in
            "\(m.name) \(Self.rate(m.trueRate ?? 0))/s per worker, needs \(String(format: "%.1f", plan.need[i]))"
        }.joined(separator: "; ")
        logLocked(.scheduler, .workersMoved, nil, "workers " + changes.joined(separator: ", "),
                  "source delivers \(Self.rate(sourceRate))/s; true rates: \(detail)", numbers: numbers)
        for (i, t) in tasks.dropFirst().enumerated() { t.allocation = plan.allocation[i] }
        settleUntil = now &+ 2 * config.adaptiveIntervalNanos
        wakeLocked()
    }

    static func rate(_ v: Double) -> String {
        v >= 1e6 ? String(format: "%.2fM", v / 1e6) : v >= 1e3 ? String(format: "%.1fk", v / 1e3) : String(format: "%.0f", v)
    }

    /// Every decision still in memory (the newest `decisionCapacity`), oldest first.
    public func allDecisions() -> [Decision] {
        cond.lock()
        defer { cond.unlock() }
        return decisions
    }

    private func stateLocked(_ i: Int) -> TaskState {
        let t = tasks[i]
        if t.finished { return .finished }
        if t.paused { return .paused }
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
    private func noteStateLocked(_ t: TaskRuntime, _ state: TaskState, now: UInt64, index i: Int) {
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
