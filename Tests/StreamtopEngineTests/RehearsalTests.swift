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
        #expect(snap.injections == ["slow a +200µs/record cpu"])
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
        // Undo of an injection is `inject clear`.
        #expect(ControlCommand.inject(.stall(bID, seconds: 1)).inverse(before: snap) == .inject(.clear))
    }
}
