import Foundation
import Testing
@testable import StreamtopEngine

@Suite struct UndoTests {
    @Test func everyChangeHasAnInverseThatRestoresTheState() {
        let engine = Engine(
            source: CountingSource(batches: 10, perBatch: 4),
            tasks: [TaskSpec(name: "a", op: PassOperator("a"), priority: 2), TaskSpec(name: "b", op: PassOperator("b"))],
            config: EngineConfig(workers: 4), clock: ManualClock())
        engine.start(threaded: false)
        let a = engine.taskID(named: "a")!
        let commands: [ControlCommand] = [.togglePause(a), .adjustPriority(a, 3), .setWorkers(a, 1), .togglePin(a), .setPolicy(.adaptive), .pause(a)]
        for c in commands {
            let before = engine.tick()
            let back = c.inverse(before: before)!
            engine.send(c)
            engine.step()
            engine.send(back)
            engine.step()
            let after = engine.tick()
            let (t0, t1) = (before.tasks[1], after.tasks[1])
            #expect(t0.state == .paused ? t1.state == .paused : t1.state != .paused, "\(c)")
            #expect(t0.priority == t1.priority && t0.workers == t1.workers && t0.pinned == t1.pinned, "\(c)")
            #expect(before.policy == after.policy, "\(c)")
        }
    }
}

/// The per-second throughput the graph's longer spans read: one entry per whole second, what the source
/// read in it (console issue, defect 12).
@Suite struct PerSecondThroughputTests {
    /// A one-task engine stepped by hand on a manual clock, its source `batches` batches of ten records.
    func started(batches: Int) -> (Engine, ManualClock) {
        let clock = ManualClock(start: 1_000_000_000)
        let engine = Engine(
            source: CountingSource(batches: batches, perBatch: 10),
            tasks: [TaskSpec(name: "a", op: PassOperator("a"))],
            config: EngineConfig(workers: 1), clock: clock)
        engine.start(threaded: false)
        return (engine, clock)
    }

    @Test func eachWholeSecondHoldsWhatTheSourceReadInIt() throws {
        let (engine, clock) = started(batches: 100)
        // Three seconds at 10 ticks each: 4, 2 and 0 batches of ten records a second.
        for batchesThisSecond in [4, 2, 0] {
            for tick in 0..<10 {
                if tick < batchesThisSecond { engine.step(); engine.step() }
                clock.advance(by: 100_000_000)
                engine.tick()
            }
        }
        let perSecond = try #require(engine.tick().throughputPerSecond)
        #expect(perSecond.count == 3, "\(perSecond)")
        #expect(perSecond == [40, 20, 0], "\(perSecond)")
        // Each task keeps its own (this one passes everything on): the long spans of its graphs.
        let task = try #require(engine.tick().tasks.first { $0.name == "a" })
        #expect(task.perSecond == [40, 20, 0], "\(task.perSecond ?? [])")
        #expect(task.latencyPerSecond?.count == 3)
        // They stay in this process: an attached dashboard's answer would grow by ~50 kB a task after a day.
        let json = String(decoding: try JSONEncoder().encode(task), as: UTF8.self)
        #expect(!json.contains("perSecond") && json.contains("latencyHistory"), "\(json)")
        #expect(try JSONDecoder().decode(TaskSnapshot.self, from: Data(json.utf8)).perSecond == nil)
    }

    @Test func eachWholeMinuteHoldsItsMeanRate() throws {
        let (engine, clock) = started(batches: 1_000)
        // Two minutes and a half, a tick a second: one batch of ten a second in the first minute, two in
        // the second, then a quiet ticker that sleeps through 30 s.
        for second in 0..<120 {
            for _ in 0..<(second < 60 ? 1 : 2) { engine.step(); engine.step() }
            clock.advance(by: 1_000_000_000)
            engine.tick()
        }
        var perMinute = try #require(engine.tick().throughputPerMinute)
        #expect(perMinute == [10, 20], "\(perMinute)")
        clock.advance(by: 150_000_000_000)
        perMinute = try #require(engine.tick().throughputPerMinute)
        #expect(perMinute == [10, 20, 0, 0], "minutes slept through are counted, at the rate they had: \(perMinute)")
        #expect(engine.tick().tasks.first { $0.name == "a" }?.perMinute == [10, 20, 0, 0])
    }
}
