import Foundation
import Synchronization
import Testing
@testable import StreamtopEngine

/// Advances a manual clock by a fixed cost per batch, so step-mode runs have durations.
final class CostOperator: StreamOperator, @unchecked Sendable {
    let name: String
    let clock: ManualClock
    let cost: UInt64
    let journal: Journal
    init(_ name: String, clock: ManualClock, cost: UInt64 = 1_000_000, journal: Journal) {
        self.name = name
        self.clock = clock
        self.cost = cost
        self.journal = journal
    }
    var maxParallelism: Int { 8 }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        clock.advance(by: cost)
        journal.note(name)
        return OperatorOutput(batch: batch)
    }
}

/// Sleeps per batch: a stage that is slow without using CPU, so the test means the same on 2 cores.
final class SlowOperator: StreamOperator, @unchecked Sendable {
    let micros: UInt32
    init(micros: UInt32) { self.micros = micros }
    var maxParallelism: Int { 16 }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        usleep(micros)
        return OperatorOutput(batch: batch)
    }
}

@Suite struct SchedulingPolicyTests {
    /// Four single-worker tasks A→B→C→D, each with input waiting and room downstream.
    func allRunnable() -> Engine {
        let journal = Journal()
        let names = ["A", "B", "C", "D"]
        let specs = names.enumerated().map { i, n in
            TaskSpec(name: n, op: PassOperator(n, journal: journal), workers: 1, queueCapacity: i == 0 ? 2 : 8)
        }
        let engine = Engine(source: CountingSource(batches: 1000, perBatch: 4), tasks: specs, config: EngineConfig(workers: 4), clock: ManualClock())
        engine.start(threaded: false)
        let id = { engine.taskID(named: $0)! }
        for n in ["B", "C", "D"] { engine.send(.pause(id(n))) }
        while engine.step() {}  // A's and B's queues fill
        engine.send(.resume(id("B")))
        for _ in 0..<4 { engine.step() }  // B moves 4 batches into C
        engine.send(.pause(id("B")))
        engine.send(.resume(id("C")))
        for _ in 0..<2 { engine.step() }  // C moves 2 into D
        for n in ["B", "D"] { engine.send(.resume(id(n))) }
        engine.step()  // applies the mailbox (and runs one quantum of D, the furthest downstream)
        return engine
    }

    @Test func strictPriorityRunsTheKHighestPriorityRunnableTasks() {
        let engine = allRunnable()
        let snap = engine.tick()
        #expect(snap.tasks.dropFirst().allSatisfy { $0.queueDepth > 0 }, "\(snap.tasks.map(\.queueDepth))")
        for (n, p) in [("A", 1), ("B", 4), ("C", 3), ("D", 2)] { engine.send(.setPriority(engine.taskID(named: n)!, p)) }
        engine.send(.setPolicy(.strictPriority))
        engine.step()  // applies the priorities, runs B
        #expect(engine.simulatePicks(1) == ["B"])
        #expect(engine.simulatePicks(2) == ["B", "C"])
        #expect(engine.simulatePicks(3) == ["B", "C", "D"])
        #expect(engine.simulatePicks(4) == ["B", "C", "D", "A"])
    }

    /// Two tasks that both stay runnable for a while; A has priority 0 (weight 1), B priority 1 (weight 2).
    func contended(_ policy: SchedulingPolicy) -> (Engine, Journal) {
        let clock = ManualClock()
        let journal = Journal()
        let engine = Engine(
            source: CountingSource(batches: 10_000, perBatch: 4),
            tasks: [
                TaskSpec(name: "A", op: CostOperator("A", clock: clock, journal: journal), priority: 0, queueCapacity: 64),
                TaskSpec(name: "B", op: CostOperator("B", clock: clock, journal: journal), priority: 1, queueCapacity: 64),
            ],
            config: EngineConfig(workers: 1), clock: clock)
        engine.start(threaded: false)
        let b = engine.taskID(named: "B")!
        engine.send(.pause(b))
        while engine.step() {}  // A's and B's queues fill
        engine.send(.resume(b))
        engine.send(.setPolicy(policy))
        return (engine, journal)
    }

    @Test func fairShareGivesEachRunnableTaskItsWeightedShare() {
        let (engine, journal) = contended(.fairShare)
        let before = journal.all.count
        for _ in 0..<90 { engine.step() }
        let ran = journal.all.dropFirst(before)
        let a = ran.filter { $0 == "A" }.count
        let b = ran.filter { $0 == "B" }.count
        #expect(a + b == 90)
        #expect(abs(a - 30) <= 2 && abs(b - 60) <= 2, "A ran \(a), B ran \(b): weights 1 and 2 should give 30 and 60")
        #expect(engine.tick().decisions.contains { $0.kind == .policyChanged && $0.action == "policy strict-priority → fair-share" })
    }

    @Test func strictPriorityStarvesTheLowerPriorityWhileTheHigherIsRunnable() {
        let (engine, journal) = contended(.strictPriority)
        let before = journal.all.count
        for _ in 0..<60 { engine.step() }
        #expect(journal.all.dropFirst(before).allSatisfy { $0 == "B" })
    }

    @Test func adaptivePlannerGivesTheSpareWorkersToTheBottleneck() throws {
        let m = { (name: String, rate: Double, sel: Double, alloc: Int, pinned: Bool) in
            AdaptivePlanner.TaskMeasure(name: name, recordsIn: rate, recordsOut: rate * sel, busySeconds: 1, allocation: alloc, maxParallelism: 8, pinned: pinned)
        }
        // Source at 1 M/s; parse does 2 M/s per worker and keeps 90 %; aggregate does 300 k/s per worker.
        let plan = try #require(AdaptivePlanner.plan(sourceRate: 1_000_000, tasks: [m("parse", 2e6, 0.9, 3, false), m("aggregate", 3e5, 1, 1, false), m("sink", 5e7, 1, 1, false)], workers: 6))
        #expect(abs(plan.need[1] - 3.0) < 0.01)  // 900 k/s over 300 k/s per worker
        #expect(plan.allocation == [1, 3, 1])  // what it needs; the sixth worker is not forced on anyone
        // A pinned task keeps its workers; the others still get what they need (allocations are caps on
        // how many workers may run a task at once, not reservations).
        let pinned = try #require(AdaptivePlanner.plan(sourceRate: 1_000_000, tasks: [m("parse", 2e6, 0.9, 3, true), m("aggregate", 3e5, 1, 1, false), m("sink", 5e7, 1, 1, false)], workers: 6))
        #expect(pinned.allocation == [3, 3, 1])
        // A source faster than the pool: the plan aims at what 2 workers can take (0.5 + 3 + 0.02 µs of
        // worker time a record: 568 k/s), and aggregate gets ceil(1.7) = 2 of them.
        let pool = try #require(AdaptivePlanner.plan(sourceRate: 5_000_000, tasks: [m("parse", 2e6, 0.9, 1, false), m("aggregate", 3e5, 1, 1, false), m("sink", 5e7, 1, 1, false)], workers: 2))
        #expect(pool.limit == "the worker pool" && abs(pool.rate - 568_505) < 100, "\(pool.rate)")
        #expect(pool.allocation == [1, 2, 1])
        // A need just past a whole number does not move a worker (jitter), well past it does.
        #expect(AdaptivePlanner.workersFor(need: 2.05, current: 2) == 2 && AdaptivePlanner.workersFor(need: 2.3, current: 2) == 3)
        #expect(AdaptivePlanner.workersFor(need: 1.95, current: 2) == 2 && AdaptivePlanner.workersFor(need: 0.6, current: 2) == 1)
        // Nothing to measure yet: no plan.
        #expect(AdaptivePlanner.plan(sourceRate: 1_000_000, tasks: [AdaptivePlanner.TaskMeasure(name: "x", recordsIn: 0, recordsOut: 0, busySeconds: 0, allocation: 1, maxParallelism: 8, pinned: false)], workers: 2) == nil)
    }

    /// Records delivered by the last task per second, measured over `seconds`.
    func throughput(_ engine: Engine, over seconds: Double) -> Double {
        let a = engine.tick().tasks.last!.recordsOut
        usleep(UInt32(seconds * 1e6))
        let b = engine.tick().tasks.last!.recordsOut
        return Double(b - a) / seconds
    }

    func slowPipeline(policy: SchedulingPolicy) -> Engine {
        var config = EngineConfig(workers: 6)
        config.policy = policy
        config.adaptiveIntervalNanos = 250_000_000
        return Engine(
            source: CountingSource(batches: 10_000_000, perBatch: 64),
            tasks: [
                TaskSpec(name: "fast", op: PassOperator("fast"), workers: 1, queueCapacity: 8),
                TaskSpec(name: "slow", op: SlowOperator(micros: 2000), workers: 1, queueCapacity: 8),
                TaskSpec(name: "sink", op: PassOperator("sink"), workers: 1, queueCapacity: 8),
            ],
            config: config)
    }

    @Test func adaptiveMovesWorkersToASlowStageAndBeatsTheEvenSplit() {
        let even = slowPipeline(policy: .strictPriority)
        even.start()
        usleep(300_000)
        let evenRate = throughput(even, over: 1)
        even.shutdown()

        let adaptive = slowPipeline(policy: .adaptive)
        adaptive.start()
        usleep(1_500_000)  // a few planning rounds
        let adaptiveRate = throughput(adaptive, over: 1)
        let snap = adaptive.tick()
        adaptive.shutdown()
        let slow = snap.tasks.first { $0.name == "slow" }!
        #expect(slow.workers >= 3, "slow stage has \(slow.workers) workers")
        #expect(adaptiveRate > 2 * evenRate, "adaptive \(adaptiveRate)/s vs even split \(evenRate)/s")
        let moves = snap.decisions.filter { $0.kind == .workersMoved }
        #expect(!moves.isEmpty && moves.count <= 2, "settles in a few decisions, not oscillating: \(moves.map(\.action))")
        // A sleep only ever overshoots, and more so on a loaded 2-core machine: the bound below is loose.
        #expect(moves.first?.numbers["slow.true_rate"].map { $0 > 12_000 && $0 < 40_000 } == true, "true rate ≈ 64 records / 2 ms = 32 k/s")
        #expect(moves.first?.reason.contains("true rates") == true)
    }

    @Test func operatorWorkersPinUnderAdaptive() {
        var config = EngineConfig(workers: 4)
        config.policy = .adaptive
        let engine = Engine(source: CountingSource(batches: 10, perBatch: 4), tasks: [TaskSpec(name: "a", op: PassOperator("a"))], config: config, clock: ManualClock())
        engine.start(threaded: false)
        engine.send(.setWorkers(engine.taskID(named: "a")!, 2))
        engine.step()
        let snap = engine.tick()
        #expect(snap.tasks[1].pinned)
        #expect(snap.decisions.contains { $0.kind == .pinned })
        engine.send(.togglePin(engine.taskID(named: "a")!))
        engine.step()
        #expect(!engine.tick().tasks[1].pinned)
    }
}

@Suite struct GuaranteeTests {
    /// Random operator actions while the engine runs; every snapshot must conserve records and respect
    /// queue capacities, and the output must be exactly the input minus what was filtered.
    @Test(arguments: [1, 2, 4])
    func nothingIsLostOrDoubleCountedWhateverTheActions(workers: Int) {
        var rng = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &rng)
        var r = SeededRandom(seed)
        let a = PassOperator("a", drop: { $0 % 3 == 0 })
        let b = PassOperator("b", parallelism: 2)
        let c = PassOperator("c", parallelism: 1)
        let engine = Engine(
            source: CountingSource(batches: 3000, perBatch: 32),
            tasks: [TaskSpec(name: "a", op: a, queueCapacity: 4), TaskSpec(name: "b", op: b, queueCapacity: 3), TaskSpec(name: "c", op: c, queueCapacity: 2)],
            config: EngineConfig(workers: workers))
        engine.start()
        var snapshots = 0
        while !engine.isFinished {
            let id = TaskID(Int(r.next() % 4))
            switch r.next() % 8 {
            case 0: engine.send(.pause(id))
            case 1, 2: engine.send(.resume(id))
            case 3: engine.send(.adjustWorkers(id, r.next() % 2 == 0 ? 1 : -1))
            case 4: engine.send(.adjustPriority(id, r.next() % 2 == 0 ? 1 : -1))
            case 5: engine.send(.setPolicy(SchedulingPolicy.allCases[Int(r.next() % 3)]))
            case 6: engine.send(.togglePin(id))
            default: break
            }
            let snap = engine.tick()
            snapshots += 1
            #expect(checkConservation(snap) == nil, "seed \(seed)")
            for t in snap.tasks where t.queueCapacity > 0 { #expect(t.queueDepth <= t.queueCapacity, "seed \(seed)") }
            if snapshots % 50 == 0 { for i in 0..<4 { engine.send(.resume(TaskID(i))) } }
            usleep(200)
        }
        let snap = engine.waitUntilFinished()
        #expect(checkConservation(snap) == nil)
        #expect(c.seen.withLock { $0 }.sorted() == (0..<(3000 * 32)).filter { $0 % 3 != 0 }, "seed \(seed)")
    }
}

/// A small seeded generator that prints its seed on failure (through the expectations above).
struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
