import Foundation
import Synchronization
import Testing
@testable import StreamtopEngine

/// A source that hands out `batches` batches of `perBatch` values and can resume at a batch.
final class ResumableCountingSource: CheckpointableSource, @unchecked Sendable {
    let batches: Int
    let perBatch: Int
    /// Batches handed out (only the engine's source thread touches it, or a test before the start).
    var handed = 0
    init(batches: Int, perBatch: Int) {
        self.batches = batches
        self.perBatch = perBatch
    }
    func next() throws -> Batch? {
        guard handed < batches else { return nil }
        let values = (0..<perBatch).map { handed * perBatch + $0 }
        handed += 1
        return Batch(payload: Box(values), records: perBatch, bytes: perBatch * 8, ingestNanos: MonotonicClock().nanos())
    }
    func stop() {}
    var isResumable: Bool { true }
    func savePosition(_ w: inout StateWriter) { w.int(handed) }
    func restorePosition(_ r: inout StateReader) throws -> String {
        handed = try r.count(max: batches)
        return "batch \(handed)"
    }
    var positionSummary: String { "batch \(handed)" }
}

/// Sums the values it sees, per worker slot (so several workers never share a lock on the hot path).
final class SummingOperator: CheckpointableOperator, @unchecked Sendable {
    private let slots = (0..<8).map { _ in TestLocked<(sum: Int, count: Int)>((0, 0)) }
    var maxParallelism: Int { 8 }
    var stateShape: String { "sum" }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let values = batch.payload(as: Box.self).values
        slots[slot].withLock { s in
            s.sum += values.reduce(0, +)
            s.count += values.count
        }
        return OperatorOutput(batch: batch)
    }
    var total: (sum: Int, count: Int) {
        slots.reduce((0, 0)) { acc, s in s.withLock { (acc.0 + $0.sum, acc.1 + $0.count) } }
    }
    func saveState(_ w: inout StateWriter) {
        let t = total
        w.int(t.sum)
        w.int(t.count)
    }
    func restoreState(_ r: inout StateReader) throws {
        let sum = try r.int(), count = try r.int()
        for (i, s) in slots.enumerated() { s.withLock { $0 = i == 0 ? (sum, count) : (0, 0) } }
    }
}

/// Checkpoints are taken while the pipeline is quiet, so each holds exactly the blocks before its
/// position; a fresh engine set back to one and run on ends where an uninterrupted run ends.
/// Real monotonic time, set back by an hour once `jump` is called (a clock stepped backwards).
final class JumpingClock: EngineClock {
    private let back = Atomic<UInt64>(0)
    private let base = MonotonicClock()
    func nanos() -> UInt64 { base.nanos() &+ 10_000_000_000_000 &- back.load(ordering: .relaxed) }
    func jump() { back.store(3_600_000_000_000, ordering: .relaxed) }
}

/// A source that steps the clock back after `jumpAt` batches.
final class JumpingSource: CheckpointableSource, @unchecked Sendable {
    let inner: ResumableCountingSource
    let clock: JumpingClock
    let jumpAt: Int
    init(_ inner: ResumableCountingSource, clock: JumpingClock, jumpAt: Int) {
        self.inner = inner
        self.clock = clock
        self.jumpAt = jumpAt
    }
    func next() throws -> Batch? {
        if inner.handed == jumpAt { clock.jump() }
        if inner.handed > jumpAt { usleep(200) }  // slow enough for several checkpoints after the jump
        return try inner.next()
    }
    func stop() {}
    var isResumable: Bool { true }
    func savePosition(_ w: inout StateWriter) { inner.savePosition(&w) }
    func restorePosition(_ r: inout StateReader) throws -> String { try inner.restorePosition(&r) }
    var positionSummary: String { inner.positionSummary }
}

@Suite struct CheckpointEngineTests {
    static func makeEngine(_ source: ResumableCountingSource, _ sum: SummingOperator, workers: Int) -> Engine {
        Engine(
            source: source,
            tasks: [
                TaskSpec(name: "pass", op: PassOperator("pass", drop: { $0 % 3 == 0 }), queueCapacity: 4),
                TaskSpec(name: "sum", op: sum, queueCapacity: 4),
            ],
            config: EngineConfig(workers: workers))
    }

    /// Runs threaded with a checkpoint every millisecond and keeps the images.
    static func runCollecting(_ engine: Engine) -> [CheckpointImage] {
        let images = TestLocked<[CheckpointImage]>([])
        engine.enableCheckpoints(CheckpointSettings(intervalNanos: 1_000_000) { image in
            images.withLock { $0.append(image) }
            return .success(image.encoded().count)
        })
        engine.start()
        engine.waitUntilFinished()
        return images.withLock { $0 }
    }

    /// Expected (sum, count) of the values the pass task keeps from the first `blocks` batches.
    static func expected(blocks: Int, perBatch: Int) -> (Int, Int) {
        let kept = (0..<(blocks * perBatch)).filter { $0 % 3 != 0 }
        return (kept.reduce(0, +), kept.count)
    }

    @Test(arguments: [1, 2, 4])
    func everyCheckpointHoldsExactlyTheBlocksBeforeIt(workers: Int) throws {
        let source = ResumableCountingSource(batches: 600, perBatch: 50)
        let sum = SummingOperator()
        let images = Self.runCollecting(Self.makeEngine(source, sum, workers: workers))
        #expect(images.count >= 2)
        #expect(images.last?.final == true)
        for image in images {
            let state = try #require(image.tasks.first { $0.name == "sum" }).state
            var r = StateReader(state)
            let got = (try r.int(), try r.int())
            let want = Self.expected(blocks: image.blocks, perBatch: 50)
            #expect(got == want, "checkpoint \(image.number) at block \(image.blocks)")
            var p = StateReader(image.source)
            #expect(try p.int() == image.blocks)
            // The per-task counters agree with the state.
            let counters = try #require(image.tasks.first { $0.name == "sum" }).counters
            #expect(counters[0] == want.1)
        }
        #expect(images.map(\.number) == Array(1...images.count))
    }

    @Test(arguments: [1, 2])
    func aRestoredEngineEndsWhereAnUninterruptedOneEnds(workers: Int) throws {
        let whole = SummingOperator()
        let images = Self.runCollecting(Self.makeEngine(ResumableCountingSource(batches: 400, perBatch: 40), whole, workers: workers))
        let middle = try #require(images.first { !$0.final && $0.blocks > 0 && $0.blocks < 400 })
        // The image survives its own encoding (as the store writes it).
        let image = try CheckpointImage(decoding: middle.encoded())
        let resumed = SummingOperator()
        let source = ResumableCountingSource(batches: 400, perBatch: 40)
        let engine = Self.makeEngine(source, resumed, workers: workers)
        let message = try engine.restore(image)
        #expect(message.contains("restored checkpoint \(image.number)"))
        #expect(source.handed == image.blocks)
        engine.start()
        let snap = engine.waitUntilFinished()
        #expect(resumed.total == whole.total)
        #expect(resumed.total == Self.expected(blocks: 400, perBatch: 40))
        // Counters carry on: the task counts every record once across the restart.
        #expect(snap.tasks.first { $0.name == "sum" }?.recordsIn == whole.total.count)
        #expect(snap.tasks.first { $0.name == "source" }?.recordsOut == 400 * 40)
        #expect(snap.decisions.contains { $0.kind == .restored })
    }

    @Test func checkpointsGoOnWhenTheClockStepsBackwards() throws {
        let clock = JumpingClock()
        let source = JumpingSource(ResumableCountingSource(batches: 800, perBatch: 10), clock: clock, jumpAt: 200)
        let engine = Engine(source: source, tasks: [TaskSpec(name: "sum", op: SummingOperator(), queueCapacity: 4)], config: EngineConfig(workers: 2), clock: clock)
        let images = Self.runCollecting(engine)
        // Checkpoints every millisecond before the jump, and still after it (not an hour later).
        #expect(images.filter { !$0.final && $0.blocks > 250 }.count >= 3, "\(images.map(\.blocks))")
    }

    @Test func aCheckpointOfAnotherPipelineIsRefusedNamingTheDifference() throws {
        let images = Self.runCollecting(Self.makeEngine(ResumableCountingSource(batches: 20, perBatch: 10), SummingOperator(), workers: 1))
        var image = try #require(images.last)
        image.tasks[2].shape = "sum by host"
        let engine = Self.makeEngine(ResumableCountingSource(batches: 20, perBatch: 10), SummingOperator(), workers: 1)
        #expect {
            try engine.restore(image)
        } throws: { error in
            "\(error)".contains("taken by another pipeline") && "\(error)".contains("'sum: sum'") && "\(error)".contains("'sum: sum by host'")
        }
    }

    @Test func aDamagedImageFailsToDecodeAtEveryCutAndNeverCrashes() throws {
        let images = Self.runCollecting(Self.makeEngine(ResumableCountingSource(batches: 10, perBatch: 10), SummingOperator(), workers: 1))
        let bytes = try #require(images.last).encoded()
        for cut in 0..<bytes.count {
            #expect(throws: (any Error).self) { try CheckpointImage(decoding: Array(bytes.prefix(cut))) }
        }
        // Lengths that claim more than there is are refused, not allocated.
        var huge = bytes
        for i in 24..<32 { huge[i] = 0x7F }
        #expect(throws: (any Error).self) { try CheckpointImage(decoding: huge) }
    }

    @Test func aFailedWriteIsLoggedAndTheNextAttemptRetries() throws {
        let attempts = Atomic<Int>(0)
        let engine = Self.makeEngine(ResumableCountingSource(batches: 300, perBatch: 50), SummingOperator(), workers: 2)
        engine.enableCheckpoints(CheckpointSettings(intervalNanos: 1_000_000) { image in
            attempts.add(1, ordering: .relaxed).newValue == 1 ? .failure(CheckpointFailure("No space left on device")) : .success(10)
        })
        engine.start()
        let snap = engine.waitUntilFinished()
        #expect(attempts.load(ordering: .relaxed) >= 2)
        #expect(snap.decisions.contains { $0.kind == .checkpointFailed && $0.reason.contains("No space left on device") })
        #expect(snap.checkpoint?.failures == 1)
        #expect(snap.checkpoint?.failure == nil)
        // Numbers stay gap-free: the failed attempt's number is taken by the next one.
        let numbers = snap.decisions.filter { $0.kind == .checkpoint }.compactMap { $0.numbers["checkpoint"] }
        #expect(numbers == (1...numbers.count).map(Double.init))
    }
}

/// Publishes a fresh array with every batch, as the analytics tasks do.
final class PublishingOperator: StreamOperator, @unchecked Sendable {
    var maxParallelism: Int { 4 }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let values = batch.payload(as: Box.self).values
        return OperatorOutput(batch: batch, published: values.map { "\($0)" })
    }
}

/// The ticker reads every task's published result while workers replace them, many times a millisecond
/// (run under ThreadSanitizer in CI). The read once happened after the engine's lock was released: a race
/// on the result's retain count, behind a rare crash ("_ContiguousArrayStorage deallocated with non-zero
/// retain count") that the kill tests hit about once in 60 restarts. With that read reverted, this test
/// did not make ThreadSanitizer report it in a short run: it is a smoke test of the path, not a proof.
@Suite struct PublishingTests {
    @Test func resultsPublishedByWorkersAreReadSafelyByTheTicker() throws {
        var config = EngineConfig(workers: 2)
        config.tickNanos = 200_000
        let engine = Engine(
            source: ResumableCountingSource(batches: 3000, perBatch: 8),
            tasks: [TaskSpec(name: "publish", op: PublishingOperator(), queueCapacity: 4)], config: config)
        engine.start()
        let snap = engine.waitUntilFinished()
        let last = try #require(snap.published["publish"] as? [String])
        #expect(last.count == 8)
    }
}
