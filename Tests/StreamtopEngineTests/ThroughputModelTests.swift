import Foundation
import Testing
@testable import StreamtopEngine

/// The planner's model, asked what one worker more would do, and the engine logging prediction and
/// measured effect of an operator's worker change.
@Suite struct ThroughputModelTests {
    @Test func theLeastCapacityLimitsAndAWorkerMovesTheLimit() {
        let stages = [
            ThroughputModel.Stage(name: "parse", nanosPerRecord: 2_000, reach: 1, workers: 1),
            ThroughputModel.Stage(name: "aggregate", nanosPerRecord: 1_000, reach: 1, workers: 1),
        ]
        let now = ThroughputModel.predict(sourceRate: 1e6, stages: stages, pool: 2)
        #expect(now == ThroughputModel.Prediction(rate: 500_000, limit: "parse"))
        var more = stages
        more[0].workers = 2
        // Parse could take 1 M/s with two workers, but two workers' time covers 3 µs per record: 666 k/s.
        let then = ThroughputModel.predict(sourceRate: 1e6, stages: more, pool: 2)
        #expect(then.limit == "the worker pool")
        #expect(abs(then.rate - 2e9 / 3_000) < 1)
        // A filter upstream halves what reaches aggregate: it can serve twice the source's rate.
        let filtered = [ThroughputModel.Stage(name: "aggregate", nanosPerRecord: 4_000, reach: 0.5, workers: 1)]
        #expect(ThroughputModel.predict(sourceRate: 1e6, stages: filtered, pool: 4).rate == 500_000)
        // A slow source limits everything.
        #expect(ThroughputModel.predict(sourceRate: 1_000, stages: stages, pool: 2) == ThroughputModel.Prediction(rate: 1_000, limit: "source"))
    }

    @Test func aWorkerChangeIsLoggedWithThePredictionThenTheMeasuredEffect() {
        let clock = ManualClock(start: 1)
        let engine = Engine(
            source: CountingSource(batches: 100_000, perBatch: 10),
            tasks: [TaskSpec(name: "a", op: PassOperator("a"), queueCapacity: 4), TaskSpec(name: "b", op: PassOperator("b"), queueCapacity: 4)],
            config: EngineConfig(workers: 2), clock: clock)
        engine.start(threaded: false)
        let a = engine.taskID(named: "a")!, b = engine.taskID(named: "b")!
        // Costs the model can measure: the manual clock moves by the injected time per record.
        engine.send(.inject(.slow(a, nanosPerRecord: 10_000, io: false)))
        engine.send(.inject(.slow(b, nanosPerRecord: 5_000, io: false)))
        engine.send(.setWorkers(a, 1))
        for i in 0..<400 {
            engine.step()
            if i % 20 == 0 { _ = engine.tick() }
        }
        let before = engine.tick()
        let guess = ThroughputModel.whatIf(before, task: "a", delta: 1)
        #expect(guess?.now.limit == "a")
        #expect(guess?.then.limit == "the worker pool")
        engine.send(.setWorkers(a, 2))
        for i in 0..<400 {
            engine.step()
            if i % 20 == 0 { _ = engine.tick() }
        }
        clock.advance(by: 3_000_000_000)
        let after = engine.tick()
        let change = after.decisions.last { $0.kind == .workersChanged && $0.action == "workers 1 → 2" }
        #expect(change?.reason.contains("lines/s (+33 %); the limit moves from a to the worker pool") == true, "\(change?.reason ?? "none")")
        let effect = after.decisions.last { $0.kind == .effectMeasured }
        #expect(effect?.action == "effect of workers 1 → 2")
        #expect(effect?.reason.hasPrefix("predicted +33 %, measured ") == true, "\(effect?.reason ?? "none")")
        #expect(effect?.numbers["predicted_change_pct"] == 33.3)
    }
}
