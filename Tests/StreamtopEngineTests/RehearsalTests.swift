import Foundation
import Testing
@testable import StreamtopEngine

/// Rehearsals (`inject …`): trouble put in on purpose, through the mailbox, always visible while active,
/// and never losing a record.
@Suite struct RehearsalTests {
    func makeEngine(batches: Int = 40, capacity: Int = 4) -> (Engine, ManualClock, PassOperator) {
        let clock = ManualClock()
        let b = PassOperator("b")
        let engine = Engine(
            source: CountingSource(batches: batches, perBatch: 10),
            tasks: [TaskSpec(name: "a", op: PassOperator("a"), queueCapacity: capacity), TaskSpec(name: "b", op: b, queueCapacity: capacity)],
            config: EngineConfig(workers: 2), clock: clock)
        engine.start(threaded: false)
        return (engine, clock, b)
    }

    @Test func aSlowedTaskCostsItsExtraPerRecordAndSaysSo() {
        let (engine, _, _) = makeEngine()
        let a = engine.taskID(named: "a")!
        engine.send(.inject(.slow(a, nanosPerRecord: 200_000, io: false)))
        while engine.step() {}
        let snap = engine.tick()
        #expect(snap.finished)
        // The manual clock moved 200 µs per record: 400 records in task a.
        let t = snap.tasks.first { $0.name == "a" }!
        #expect(t.busySeconds >= 0.08 - 1e-9, "\(t.busySeconds)")
        #expect(snap.tasks.first { $0.name == "b" }!.busySeconds < 0.001)
        #expect(snap.decisions.contains { $0.kind == .injected && $0.task == "a" && $0.action.contains("+200µs/record") })
        #expect(snap.injections == ["slow a +200µs"])
        #expect(checkConservation(snap) == nil)
    }

    @Test func aStalledTaskTakesNothingUntilItsTimeIsUpThenGoesOnByItself() {
        let (engine, clock, b) = makeEngine(capacity: 3)
        let bID = engine.taskID(named: "b")!
        engine.send(.inject(.stall(bID, seconds: 5)))
        var steps = 0
        while engine.step() && steps < 1000 { steps += 1 }
        var snap = engine.tick()
        #expect(b.seen.withLock { $0 }.isEmpty)
        #expect(snap.tasks.first { $0.name == "b" }!.state == .stalled)
        #expect(snap.tasks.first { $0.name == "b" }!.queueDepth == 3, "its queue filled")
        #expect(snap.injections == ["stall b"])
        #expect(!snap.finished)
        clock.advance(by: 5_000_000_001)
        while engine.step() {}
        snap = engine.tick()
        #expect(snap.finished)
        #expect(b.seen.withLock { $0 }.count == 400, "nothing lost")
        #expect(snap.decisions.contains { $0.kind == .injectionEnded && $0.action == "stall over" })
        #expect(snap.injections == nil)
    }

    @Test func aStallEndsOnTimeWhenItsTaskIsPausedOrHasNothingQueued() {
        // In step mode: a stalled task paused meanwhile still sees its stall end.
        let (engine, clock, b) = makeEngine(capacity: 3)
        let bID = engine.taskID(named: "b")!
        engine.send(.inject(.stall(bID, seconds: 1)))
        engine.send(.pause(bID))
        _ = engine.step()
        clock.advance(by: 2_000_000_000)
        var snap = engine.tick()
        #expect(snap.decisions.contains { $0.action == "stall over" })
        #expect(snap.tasks.first { $0.name == "b" }!.state == .paused)
        engine.send(.resume(bID))
        while engine.step() {}
        snap = engine.tick()
        #expect(snap.finished && b.seen.withLock { $0 }.count == 400)

        // Threaded: the stall ends while the task has nothing queued (the source is slow to start). Workers
        // once woke for a stall end already past and spun holding the engine's lock: nothing moved again.
        let threaded = Engine(
            source: SlowStartSource(delay: 0.5, inner: CountingSource(batches: 20, perBatch: 10)),
            tasks: [TaskSpec(name: "a", op: PassOperator("a"), queueCapacity: 4), TaskSpec(name: "b", op: PassOperator("b"), queueCapacity: 4)],
            config: EngineConfig(workers: 2))
        threaded.send(.inject(.stall(threaded.taskID(named: "b")!, seconds: 0.1)))
        threaded.start()
        #expect(threaded.waitUntilFinished(timeout: 20), "the engine finished")
        #expect(threaded.waitUntilFinished().tasks.last?.recordsOut == 200)
        threaded.shutdown()
    }

    @Test func clearEndsEveryInjectionAndTheSourceCannotBeSlowed() {
        let (engine, _, b) = makeEngine()
        let bID = engine.taskID(named: "b")!
        engine.send(.inject(.slow(bID, nanosPerRecord: 1_000, io: true)))
        engine.send(.inject(.stall(bID, seconds: 60)))
        engine.send(.inject(.slow(engine.taskID(named: "source")!, nanosPerRecord: 1_000, io: false)))
        engine.send(.inject(.malformed(percent: 5)))
        engine.send(.inject(.clear))
        while engine.step() {}
        let snap = engine.tick()
        #expect(snap.finished, "the stall was cleared")
        #expect(b.seen.withLock { $0 }.count == 400)
        #expect(snap.injections == nil)
        #expect(snap.tasks.first { $0.name == "b" }!.busySeconds < 0.001, "the slow-down was cleared before any batch")
        #expect(snap.decisions.contains { $0.kind == .rejected && $0.action == "inject slow refused" })
        #expect(snap.decisions.contains { $0.kind == .rejected && $0.action == "inject malformed refused" && $0.reason.contains("no task of this pipeline parses lines") })
        #expect(snap.decisions.contains { $0.kind == .injectionEnded && $0.action == "rehearsal cleared" && $0.reason.contains("stall b") })
        // Undo ends that one injection; `inject clear` is not undone.
        #expect(ControlCommand.inject(.stall(bID, seconds: 1)).inverse(before: snap) == .inject(.stall(bID, seconds: 0)))
        #expect(ControlCommand.inject(.malformed(percent: 5)).inverse(before: snap) == .inject(.malformed(percent: 0)))
        #expect(ControlCommand.inject(.clear).inverse(before: snap) == nil)
    }
}

/// Waits before its first batch.
final class SlowStartSource: StreamSource, @unchecked Sendable {
    let delay: Double
    let inner: CountingSource
    private var started = false
    init(delay: Double, inner: CountingSource) {
        self.delay = delay
        self.inner = inner
    }
    func next() throws -> Batch? {
        if !started {
            started = true
            usleep(useconds_t(delay * 1e6))
        }
        return try inner.next()
    }
    func stop() {}
}
