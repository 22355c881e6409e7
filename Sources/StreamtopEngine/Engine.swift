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
    let cond = EngineCondition()
    let tasks: [TaskRuntime]
    let source: StreamSource
    let config: EngineConfig
    let clock: EngineClock
    let startNanos: UInt64
    var mailbox: [ControlCommand] = []
    var decisions: [Decision] = []
    var decisionSequence = 0
    var sourceDone = false
    /// Both set under the lock; setting either wakes those waiting for the end (`waitUntilFinished`).
    var stopping = false { didSet { if stopping { cond.broadcastEnded() } } }
    var finished = false { didSet { if finished { cond.broadcastEnded() } } }
    var endToEnd = LatencyWindow()
    var history: [Double] = []
    /// Records per second read by the source, per whole second (the last 15 minutes) and per whole
    /// minute (the last day), for the throughput graph's long spans.
    var inputHistory = LongHistory()
    var lastTick: UInt64 = 0
    /// The last published snapshot. A pthread lock, not `Mutex`: ThreadSanitizer cannot see the latter's
    /// futex calls on Linux and would report every read as a race.
    let latestLock = NSLock()
    var latestValue = EngineSnapshot.empty
    var threads: [Thread] = []
    /// Worker and ticker threads that have not exited yet (the source thread may sit in a blocking read
    /// and is not waited for: it never touches an operator).
    var liveThreads = 0
    /// Set by `stopInput`: tasks may no longer be paused.
    var draining = false
    /// Whether the operators were finished (once, at the end or after a shutdown).
    var operatorsFinished = false
    /// Set by `start(threaded: true)`: the engine's own ticker publishes; nobody else may.
    var isThreaded = false
    /// Threads blocked in `cond.wait()`; wake-ups are skipped when nobody waits (saves a futex call per quantum).
    var waiters = 0
    /// Whether the source thread sleeps until its outputs have room (a quantum that makes room wakes it).
    var sourceWaiting = false
    /// Workers asleep for want of a pickable batch: a quantum that leaves work queued wakes them only if
    /// there are any (the source or the ticker asleep is no reason to broadcast).
    var idleWorkers = 0
    /// The active scheduling policy.
    var policy: SchedulingPolicy
    /// When the adaptive policy last planned, and until when it leaves a new allocation to settle.
    var lastPlan: UInt64 = 0
    /// An operator's worker change waiting to be measured against what the model predicted.
    var pendingEffect: PendingEffect?
    /// Active rehearsals (`inject …`) by what they concern (`slow parse`, `burst`).
    var rehearsals: [String: Rehearsal] = [:]
    var settleUntil: UInt64 = 0
    /// Checkpoints (nil: none are taken), the last one's number and status, when the next is due, and
    /// whether the source thread waits for the pipeline to drain for one.
    var checkpointSettings: CheckpointSettings?
    var checkpointNumber = 0
    var checkpointStatus = CheckpointStatus()
    var nextCheckpointAt: UInt64 = 0
    var checkpointWaiting = false
    var checkpointDeferred = false
    var finalCheckpointTaken = false
    /// Set while the source thread captures a checkpoint with the lock released.
    var capturing = false
    /// The error that ended the input early, if any.
    public internal(set) var failure: Error?

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
                let edge = Edge(from: from, to: runtimes[i + 1], index: i + 1, capacity: max(1, spec.queueCapacity))
                runtimes[from].outputs.append(edge)
                runtimes[i + 1].inputs.append(edge)
            }
        }
        Self.checkPayloadTypes(runtimes, source: source)
        for t in runtimes.dropFirst() { t.op?.connect(inputs: t.inputs.count) }
        lastTick = startNanos
        let summary = runtimes.dropFirst().map { "\($0.name)×\($0.allocation)" }.joined(separator: ", ")
        logLocked(.engine, .started, nil, "started", "\(config.workers) workers, policy \(config.policy.rawValue); allocation \(summary)", numbers: ["workers": Double(config.workers)])
        // A first snapshot, so readers see every task before the ticker's first tick.
        publish(tick: false)
    }

    /// Checks that every edge carries the payload type its reader takes: a wiring mistake stops the
    /// program here, naming the tasks, instead of as a failed cast in the middle of a run. A task that
    /// declares no output type passes on what it reads.
    static func checkPayloadTypes(_ tasks: [TaskRuntime], source: StreamSource) {
        var gives: [(any BatchPayload.Type)?] = [source.gives]
        for t in tasks.dropFirst() {
            let takes = t.op?.takes
            var incoming: (any BatchPayload.Type)?
            for edge in t.inputs {
                guard let g = gives[edge.from] else { continue }
                if let takes, ObjectIdentifier(takes) != ObjectIdentifier(g) {
                    preconditionFailure("task \(t.name) takes \(takes) batches, but \(tasks[edge.from].name) gives \(g)")
                }
                incoming = g
            }
            gives.append(t.op?.gives ?? incoming ?? takes)
        }
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
        // A checkpoint being captured reads the operators: let it finish before they are.
        while liveThreads > 0 || capturing { cond.wait() }
        // No worker is left inside an operator: finish them here (windows still open are emitted), and
        // publish their final results (the ticker has left).
        finishOperatorsUnlocking()
        cond.unlock()
        publish(tick: false)
    }

    /// Finishes every operator once, upstream first. Called with the lock held when no worker is inside an
    /// operator (all drained, or after a shutdown joined them); the lock is released meanwhile, and workers
    /// that look see `operatorsFinished` and leave. The engine drives this lifecycle, not its callers.
    func finishOperatorsUnlocking() {
        guard !operatorsFinished else { return }
        operatorsFinished = true
        cond.unlock()
        let finals = tasks.map { $0.op?.finish() }
        cond.lock()
        for (t, p) in zip(tasks, finals) where p != nil { t.published = p }
    }

    /// Called by a worker or the ticker as it exits (lock held).
    func threadExitedLocked() {
        liveThreads -= 1
        cond.broadcast()
        cond.broadcastEnded()
    }

    /// Blocks until the input has ended and every queue has drained (or `shutdown`), then publishes a
    /// final snapshot and returns it.
    @discardableResult
    public func waitUntilFinished() -> EngineSnapshot {
        cond.lock()
        while !finished && !stopping { cond.waitForEnd() }
        // Wait for the workers and the ticker to leave: no worker is then inside an operator, and the
        // ticker has published the final snapshot on its way out.
        while isThreaded && liveThreads > 0 { cond.waitForEnd() }
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
        if threaded { return snapshot() }
        refreshResults()
        return publish(tick: true)
    }

    /// Waits up to `timeout` seconds for the end (input ended and drained, or `shutdown`); true when it came.
    public func waitUntilFinished(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        // On the end's own condition, not counted as a waiter: batches' broadcasts need not wake it.
        while !finished && !stopping {
            if !cond.waitForEnd(until: deadline) { break }
        }
        return finished || stopping
    }

    /// True once the input ended and everything drained.
    public var isFinished: Bool {
        cond.lock()
        defer { cond.unlock() }
        return finished
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
            let extra = task.injectedNanosPerRecord &* UInt64(batch.records)
            let t0 = clock.nanos()
            let output = task.op!.process(batch, slot: 0)
            if extra > 0 { Injection.spend(extra, io: task.injectedIO, clock: clock) }
            let t1 = clock.nanos()
            completeLocked(task, batch, output, duration: t1 &- t0, now: t1)
            return true
        }
        let src = tasks[0]
        if !sourceDone && !src.paused && src.outputsHaveRoom {
            let t0 = clock.nanos()
            do {
                if let batch = try source.next() {
                    // Counted as in the threaded source loop, so the adaptive policy plans in step mode too.
                    src.busyNanos &+= clock.nanos() &- t0
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

    func task(_ id: TaskID) -> TaskRuntime? { id.index >= 0 && id.index < tasks.count ? tasks[id.index] : nil }

    func logLocked(_ actor: Decision.Actor, _ kind: Decision.Kind, _ task: String?, _ action: String, _ reason: String, numbers: [String: Double] = [:]) {
        decisionSequence += 1
        let d = Decision(
            sequence: decisionSequence, time: Double(clock.nanos() &- startNanos) / 1e9, actor: actor,
            policy: actor == .scheduler ? policy.rawValue : nil, kind: kind, task: task,
            action: action, reason: reason, numbers: numbers)
        decisions.append(d)
        if decisions.count > config.decisionCapacity { decisions.removeFirst(decisions.count - config.decisionCapacity / 2) }
    }

    /// Every decision still in memory (the newest `decisionCapacity`), oldest first.
    public func allDecisions() -> [Decision] {
        cond.lock()
        defer { cond.unlock() }
        return decisions
    }
}
