import Foundation
import Testing
@testable import StreamtopEngine

/// The engine runs a graph of tasks: one output may feed several tasks (fan-out, the same batch shared),
/// a task may read several inputs (union), every edge is a bounded queue, and nothing is lost or counted
/// twice on any branch, whatever the operator does.
@Suite struct GraphTests {
    /// source → parse → { evens → sink-a, all → sink-b }, and sink-c reading both sink-a and all.
    func makeGraph(batches: Int = 40, capacity: Int = 3, workers: Int = 2) -> (Engine, [String: PassOperator]) {
        let source = CountingSource(batches: batches, perBatch: 10)
        let ops = [
            "parse": PassOperator("parse"), "evens": PassOperator("evens", drop: { $0 % 2 == 1 }),
            "sink-a": PassOperator("sink-a"), "all": PassOperator("all"), "sink-c": PassOperator("sink-c"),
        ]
        let engine = Engine(
            source: source,
            tasks: [
                TaskSpec(name: "parse", op: ops["parse"]!, queueCapacity: capacity),
                TaskSpec(name: "evens", op: ops["evens"]!, queueCapacity: capacity),
                TaskSpec(name: "sink-a", op: ops["sink-a"]!, queueCapacity: capacity),
                TaskSpec(name: "all", op: ops["all"]!, queueCapacity: capacity, inputs: ["parse"]),
                TaskSpec(name: "sink-c", op: ops["sink-c"]!, queueCapacity: capacity, inputs: ["sink-a", "all"]),
            ],
            config: EngineConfig(workers: workers), clock: ManualClock())
        return (engine, ops)
    }

    @Test func fanOutAndUnionDeliverEveryRecordToEveryBranch() {
        let (engine, ops) = makeGraph()
        engine.start(threaded: false)
        var steps = 0
        while engine.step() {
            steps += 1
            let snap = engine.tick()
            #expect(checkConservation(snap) == nil, "step \(steps): \(checkConservation(snap) ?? "")")
            for e in snap.edges { #expect(e.depth <= e.capacity, "\(e.from)→\(e.to)") }
        }
        let snap = engine.tick()
        #expect(snap.finished)
        let all = Array(0..<400)
        #expect(ops["parse"]!.seen.withLock { $0 }.sorted() == all)
        #expect(ops["all"]!.seen.withLock { $0 }.sorted() == all)
        #expect(ops["sink-a"]!.seen.withLock { $0 }.sorted() == all.filter { $0 % 2 == 0 })
        // The union reads both inputs: the evens once from sink-a and everything from all.
        #expect(ops["sink-c"]!.seen.withLock { $0 }.sorted() == (all + all.filter { $0 % 2 == 0 }).sorted())
        #expect(snap.tasks.first { $0.name == "sink-c" }?.inputs == ["sink-a", "all"])
        #expect(Set(snap.edges.map { "\($0.from)→\($0.to)" }) == ["source→parse", "parse→evens", "evens→sink-a", "parse→all", "sink-a→sink-c", "all→sink-c"])
    }

    @Test func aPausedBranchHoldsBackItsUpstreamAndLosesNothing() {
        let (engine, ops) = makeGraph(capacity: 2)
        engine.start(threaded: false)
        engine.send(.pause(engine.taskID(named: "all")!))
        var n = 0
        while engine.step() && n < 10_000 { n += 1 }
        let held = engine.tick()
        #expect(!held.finished)
        #expect(held.tasks.first { $0.name == "all" }?.state == .paused)
        // parse cannot hand a batch to one branch and not the other: it waits for room on both.
        #expect(held.tasks.first { $0.name == "parse" }?.state == .backpressured || held.tasks.first { $0.name == "parse" }?.state == .idle)
        #expect(checkConservation(held) == nil)
        engine.send(.resume(engine.taskID(named: "all")!))
        while engine.step() {}
        let done = engine.tick()
        #expect(done.finished)
        #expect(ops["all"]!.seen.withLock { $0 }.count == 400)
        #expect(ops["sink-c"]!.seen.withLock { $0 }.count == 600)
    }

    @Test(arguments: [1, 2, 4])
    func threadedGraphsLoseNothingUnderPausesAndPolicySwitches(workers: Int) throws {
        let (engine, ops) = makeGraph(batches: 300, capacity: 2, workers: workers)
        engine.start()
        let names = ["parse", "evens", "sink-a", "all", "sink-c"]
        var rng = SystemRandomNumberGenerator()
        for k in 0..<30 {
            let task = engine.taskID(named: names[Int(rng.next() % 5)])!
            switch k % 4 {
            case 0: engine.send(.pause(task))
            case 1: engine.send(.resume(task))
            case 2: engine.send(.setPolicy([.strictPriority, .fairShare, .adaptive][k % 3]))
            default: engine.send(.setWorkers(task, Int(rng.next() % 3) + 1))
            }
            usleep(2_000)
            #expect(checkConservation(engine.snapshot()) == nil)
        }
        for n in names { engine.send(.resume(engine.taskID(named: n)!)) }
        let done = engine.waitUntilFinished()
        #expect(done.finished)
        #expect(checkConservation(done) == nil)
        #expect(ops["all"]!.seen.withLock { $0 }.count == 3000)
        #expect(ops["sink-a"]!.seen.withLock { $0 }.count == 1500)
        #expect(ops["sink-c"]!.seen.withLock { $0 }.count == 4500)
    }

    @Test func theAdaptivePlannerAddsUpTheRatesOfAUnionsInputs() {
        let m = { (name: String, sel: Double) in
            AdaptivePlanner.TaskMeasure(name: name, recordsIn: 1000, recordsOut: 1000 * sel, busySeconds: 1, allocation: 1, maxParallelism: 8, pinned: false)
        }
        // source → a (keeps half) → c; source → b → c: c must take 0.5 + 1 of the source's rate.
        let plan = AdaptivePlanner.plan(sourceRate: 2000, tasks: [m("a", 0.5), m("b", 1), m("c", 1)], workers: 8, inputs: [[-1], [-1], [0, 1]])!
        #expect(plan.targetRate == [2000, 2000, 3000])
        #expect(plan.need == [2, 2, 3])
    }
}

/// Stopping the input drains what was read: paused tasks resume and new pauses are refused, so a
/// stopped run always ends (a paused task once held a headless run forever).
@Suite struct DrainOnStopTests {
    @Test func stoppingResumesPausedTasksAndRefusesNewPauses() {
        let source = CountingSource(batches: 20, perBatch: 10)
        let a = PassOperator("a")
        let engine = Engine(source: source, tasks: [TaskSpec(name: "a", op: a, queueCapacity: 2)], config: EngineConfig(workers: 1), clock: ManualClock())
        engine.start(threaded: false)
        let id = engine.taskID(named: "a")!
        engine.send(.pause(id))
        var n = 0
        while engine.step() && n < 1000 { n += 1 }
        #expect(!engine.tick().finished)
        engine.stopInput(grace: 0.01)
        engine.send(.pause(id))
        usleep(50_000)
        while engine.step() {}
        let done = engine.tick()
        #expect(done.finished)
        #expect(a.seen.withLock { $0 }.count == done.tasks[0].recordsOut)
        #expect(done.decisions.contains { $0.task == "a" && $0.action == "resumed" && $0.reason.contains("the input is stopping") })
        #expect(done.decisions.contains { $0.task == "a" && $0.action == "stays running" })
    }
}

/// A task that declares the payload type it takes.
final class TypedOperator: StreamOperator, @unchecked Sendable {
    final class Other: BatchPayload, @unchecked Sendable {}
    let type: any BatchPayload.Type
    init(_ type: any BatchPayload.Type) { self.type = type }
    var maxParallelism: Int { 1 }
    var takes: (any BatchPayload.Type)? { type }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput { OperatorOutput(batch: batch) }
}

/// A source that says it gives `Box` batches.
final class TypedSource: StreamSource, @unchecked Sendable {
    var gives: (any BatchPayload.Type)? { Box.self }
    func next() throws -> Batch? { nil }
    func stop() {}
}

/// Edges are typed: a task reading batches of another type than it takes is refused when the graph is
/// built (naming both ends), not found by a failed cast in the middle of a run.
@Suite struct PayloadTypeTests {
    @Test func aGraphWhoseEdgeCarriesTheWrongPayloadIsRefusedWhenBuilt() async {
        await #expect(processExitsWith: .failure) {
            // source (Box) → pass (passes Box on) → typed (takes Other)
            _ = Engine(source: TypedSource(), tasks: [
                TaskSpec(name: "pass", op: PassOperator("pass"), queueCapacity: 2),
                TaskSpec(name: "typed", op: TypedOperator(TypedOperator.Other.self), queueCapacity: 2),
            ], config: EngineConfig(workers: 1))
        }
        // The right type behind the same pass-through is accepted.
        let engine = Engine(source: TypedSource(), tasks: [
            TaskSpec(name: "pass", op: PassOperator("pass"), queueCapacity: 2),
            TaskSpec(name: "typed", op: TypedOperator(Box.self), queueCapacity: 2),
        ], config: EngineConfig(workers: 1))
        #expect(engine.taskID(named: "typed") != nil)
    }
}

/// Records the sequence and values of each batch it gets.
final class SequenceRecorder: StreamOperator, @unchecked Sendable {
    let seen = TestLocked<[(Int, [Int])]>([])
    var maxParallelism: Int { 2 }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let values = batch.payload(as: Box.self).values
        seen.withLock { $0.append((batch.sequence, values)) }
        return OperatorOutput(batch: batch)
    }
}

/// A union renumbers what it reads, so an order-sensitive task after it can restore one order: block k
/// from input i arrives as k × inputs + i, each sequence exactly once.
@Suite struct UnionSequenceTests {
    @Test(arguments: [1, 2])
    func aUnionNumbersEachInputsShareOfABlockApart(workers: Int) {
        let source = CountingSource(batches: 30, perBatch: 10)
        let union = SequenceRecorder()
        let engine = Engine(source: source, tasks: [
            TaskSpec(name: "evens", op: PassOperator("evens", drop: { $0 % 2 == 1 }), queueCapacity: 2, inputs: ["source"]),
            TaskSpec(name: "all", op: PassOperator("all"), queueCapacity: 2, inputs: ["source"]),
            TaskSpec(name: "union", op: union, queueCapacity: 2, inputs: ["evens", "all"]),
        ], config: EngineConfig(workers: workers))
        engine.start()
        engine.waitUntilFinished()
        let got = union.seen.withLock { $0 }.sorted { $0.0 < $1.0 }
        #expect(got.map(\.0) == Array(0..<60))
        for (sequence, values) in got {
            let block = sequence / 2
            let expected = Array(block * 10..<block * 10 + 10).filter { sequence % 2 == 1 || $0 % 2 == 0 }
            #expect(values == expected, "sequence \(sequence)")
        }
    }
}
