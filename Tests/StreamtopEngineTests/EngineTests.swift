import Foundation
import Testing
@testable import StreamtopEngine

@Suite struct EngineSteppingTests {
    func makeEngine(batches: Int = 50, capacity: Int = 4, journal: Journal? = nil) -> (Engine, CountingSource, PassOperator, PassOperator) {
        let source = CountingSource(batches: batches, perBatch: 10)
        let a = PassOperator("a", journal: journal, drop: { $0 % 7 == 0 })
        let b = PassOperator("b", journal: journal)
        let engine = Engine(
            source: source,
            tasks: [TaskSpec(name: "a", op: a, queueCapacity: capacity), TaskSpec(name: "b", op: b, queueCapacity: capacity)],
            config: EngineConfig(workers: 2), clock: ManualClock())
        engine.start(threaded: false)
        return (engine, source, a, b)
    }

    @Test func everyRecordIsAccountedForAtEveryStep() {
        let (engine, _, _, b) = makeEngine()
        var steps = 0
        while engine.step() {
            steps += 1
            let snap = engine.tick()
            #expect(checkConservation(snap) == nil, "step \(steps)")
            for t in snap.tasks where t.queueCapacity > 0 { #expect(t.queueDepth <= t.queueCapacity) }
        }
        let snap = engine.tick()
        #expect(snap.finished)
        #expect(snap.tasks[0].recordsOut == 500)
        let expected = (0..<500).filter { $0 % 7 != 0 }
        #expect(b.seen.withLock { $0 }.sorted() == expected)
        #expect(snap.tasks[1].recordsFiltered == 500 - expected.count)
    }

    @Test func pausedTaskProcessesNothingItsQueueFillsAndTheSourceStops() {
        let (engine, source, a, b) = makeEngine(capacity: 3)
        engine.send(.pause(engine.taskID(named: "a")!))
        var guardSteps = 0
        while engine.step() && guardSteps < 1000 { guardSteps += 1 }
        let snap = engine.tick()
        #expect(a.seen.withLock { $0 }.isEmpty)
        #expect(snap.tasks[1].state == .paused)
        #expect(snap.tasks[1].queueDepth == 3)
        // The source read exactly what fits in the queue, then stopped (bounded memory).
        #expect(source.reads == 3)
        #expect(snap.tasks[0].state == .backpressured)
        #expect(!snap.finished)
        #expect(snap.decisions.contains { $0.actor == .operator && $0.action == "paused" && $0.task == "a" })

        engine.send(.resume(engine.taskID(named: "a")!))
        while engine.step() {}
        let done = engine.tick()
        #expect(done.finished)
        #expect(b.seen.withLock { $0 }.count == (0..<500).filter { $0 % 7 != 0 }.count)
        #expect(done.decisions.contains { $0.action == "resumed" && $0.reason.contains("draining 3 queued batches") })
    }

    @Test func strictPriorityRunsTheHigherPriorityTaskFirst() {
        let journal = Journal()
        let (engine, _, _, _) = makeEngine(batches: 6, capacity: 8, journal: journal)
        let a = engine.taskID(named: "a")!
        // Fill a's queue while it is paused, then let a and b compete.
        engine.send(.pause(a))
        while engine.step() {}
        engine.send(.resume(a))
        #expect(engine.step())  // a runs (b has nothing yet)
        #expect(engine.step())  // now b is runnable too; equal priority: b (downstream) drains first
        #expect(journal.all.suffix(2) == ["a", "b"])
        engine.send(.setPriority(a, 5))
        #expect(engine.step())
        #expect(engine.step())
        #expect(journal.all.suffix(2) == ["a", "a"])
        let snap = engine.tick()
        #expect(snap.decisions.contains { $0.action == "priority 0 → 5" && $0.actor == .operator })
    }

    @Test func workerAllocationIsClampedAndLogged() {
        let (engine, _, _, _) = makeEngine()
        let a = engine.taskID(named: "a")!
        engine.send(.setWorkers(a, 9))
        engine.send(.adjustWorkers(a, -1))
        engine.send(.setWorkers(TaskID(0), 3))
        engine.step()
        let snap = engine.tick()
        #expect(snap.tasks[1].workers == 1)
        let log = snap.decisions.map { "\($0.task ?? "") \($0.action) | \($0.reason)" }
        #expect(log.contains { $0.hasPrefix("a workers stay 2") && $0.contains("capped at 2") })
        #expect(log.contains { $0.hasPrefix("a workers 2 → 1") })
        #expect(log.contains { $0.hasPrefix("source workers stay 1") && $0.contains("one thread") })
    }
}

@Suite struct EngineThreadedTests {
    @Test(arguments: [1, 2, 4])
    func threadedRunDeliversEveryRecordOnce(workers: Int) {
        let source = CountingSource(batches: 400, perBatch: 64)
        let a = PassOperator("a", drop: { $0 % 5 == 0 })
        let b = PassOperator("b", parallelism: 1)
        let engine = Engine(
            source: source,
            tasks: [TaskSpec(name: "a", op: a, queueCapacity: 4), TaskSpec(name: "b", op: b, queueCapacity: 2)],
            config: EngineConfig(workers: workers))
        engine.start()
        let snap = engine.waitUntilFinished()
        #expect(snap.finished)
        #expect(checkConservation(snap) == nil)
        let seen = b.seen.withLock { $0 }.sorted()
        #expect(seen == (0..<(400 * 64)).filter { $0 % 5 != 0 })
        #expect(snap.tasks.last!.recordsOut == seen.count)
        #expect(snap.endToEndLatency.count > 0)
    }

    @Test func pauseAndResumeWhileRunningLosesNothing() throws {
        let source = CountingSource(batches: 3000, perBatch: 16)
        let a = PassOperator("a")
        let b = PassOperator("b")
        let engine = Engine(
            source: source,
            tasks: [TaskSpec(name: "a", op: a, queueCapacity: 4), TaskSpec(name: "b", op: b, queueCapacity: 4)],
            config: EngineConfig(workers: 2))
        let bID = engine.taskID(named: "b")!
        engine.send(.pause(bID))
        engine.start()
        // While b is paused, a's output queue fills and everything upstream stops.
        var waited = 0
        while engine.tick().tasks[2].queueDepth < 4 && waited < 500 {
            usleep(2000)
            waited += 1
        }
        usleep(50_000)
        let paused = engine.tick()
        #expect(paused.tasks[2].queueDepth == 4)
        #expect(paused.tasks[2].recordsIn == 0)
        #expect(checkConservation(paused) == nil)
        #expect(source.reads <= 4 + 4 + 2 + 2)  // queues + in-flight, not the whole input
        engine.send(.resume(bID))
        let snap = engine.waitUntilFinished()
        #expect(b.seen.withLock { $0 }.count == 3000 * 16)
        #expect(checkConservation(snap) == nil)
    }
}
