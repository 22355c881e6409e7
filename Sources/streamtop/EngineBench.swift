import ArgumentParser
import Foundation
import StreamtopEngine

/// `streamtop bench engine`: the engine alone, no parsing: trivial tasks passing blocks along.
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Push blocks through a pipeline of trivial tasks and report records/s and time per quantum.",
        discussion: "Each task touches its batch and passes it on; what is measured is the engine's hand-off and scheduling.")

    @Option(help: "Tasks after the source.") var stages: Int = 4
    @Option(help: "Records per block.") var blockRecords: Int = 4096
    @Option(help: "Blocks produced by the source.") var blocks: Int = 200_000
    @Option(help: "Worker threads.") var workers: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Queue capacity per task, in blocks.") var queueCapacity: Int = 16
    @Flag(help: "Run the scheduler inline on one thread (step mode): the cost of a quantum without thread hand-offs.")
    var step = false

    func validate() throws {
        guard stages >= 1, blockRecords >= 1, blocks >= 1, workers >= 1, queueCapacity >= 1 else {
            throw ValidationError("every option must be at least 1")
        }
    }

    func run() throws {
        let source = BenchSource(blocks: blocks, records: blockRecords)
        let specs = (0..<stages).map { TaskSpec(name: "stage\($0 + 1)", op: TouchOperator(), queueCapacity: queueCapacity) }
        let engine = Engine(source: source, tasks: specs, config: EngineConfig(workers: workers))
        let t0 = DispatchTime.now().uptimeNanoseconds
        let snap: EngineSnapshot
        if step {
            engine.start(threaded: false)
            while engine.step() {}
            snap = engine.tick()
        } else {
            engine.start()
            snap = engine.waitUntilFinished()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let records = Double(snap.tasks.last!.recordsOut)
        let quanta = snap.tasks.dropFirst().reduce(0) { $0 + $1.quanta }
        print("engine: \(stages) stages, \(step ? "step mode (one thread)" : "\(workers) workers"), blocks of \(blockRecords) records, \(blocks) blocks")
        print(String(format: "records/s end to end: %.1f M", records / seconds / 1e6))
        if step {
            // Every step is one quantum of a task or one read of the source, all on this thread.
            let steps = quanta + snap.tasks[0].quanta
            print(String(format: "steps: %d in %.3f s = %.3f µs per quantum (pick, hand-off, metrics, lock; no threads)", steps, seconds, seconds * 1e6 / Double(steps)))
        } else {
            print(String(format: "quanta: %d in %.3f s = %.0f quanta/s; %.2f µs of wall time per quantum per worker", quanta, seconds, Double(quanta) / seconds, seconds * 1e6 * Double(workers) / Double(quanta)))
        }
    }
}

/// Produces the same block again and again (the payload is shared: the engine is what is measured).
final class BenchSource: StreamSource {
    let blocks: Int
    let records: Int
    var produced = 0
    let payload = BenchPayload()
    init(blocks: Int, records: Int) {
        self.blocks = blocks
        self.records = records
    }
    func next() throws -> Batch? {
        guard produced < blocks else { return nil }
        produced += 1
        return Batch(payload: payload, records: records, bytes: records * 8, ingestNanos: 0)
    }
    func stop() { produced = blocks }
}

final class BenchPayload: BatchPayload, @unchecked Sendable {}

/// A task that does nothing but hand its batch on.
final class TouchOperator: StreamOperator {
    var maxParallelism: Int { Int.max }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput { OperatorOutput(batch: batch) }
}
