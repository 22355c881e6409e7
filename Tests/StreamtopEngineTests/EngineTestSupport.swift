import Foundation
import Synchronization
@testable import StreamtopEngine

/// A source of `batches` batches of `perBatch` integer records each; counts how often it was read.
final class CountingSource: StreamSource, @unchecked Sendable {
    let batches: Int
    let perBatch: Int
    private let produced = Atomic<Int>(0)
    init(batches: Int, perBatch: Int) {
        self.batches = batches
        self.perBatch = perBatch
    }
    var reads: Int { produced.load(ordering: .relaxed) }
    func next() throws -> Batch? {
        let n = produced.add(1, ordering: .relaxed).newValue
        guard n <= batches else { return nil }
        let values = (0..<perBatch).map { (n - 1) * perBatch + $0 }
        return Batch(payload: Box(values), records: perBatch, bytes: perBatch * 8, ingestNanos: MonotonicClock().nanos())
    }
    func stop() {}
}

final class Box: BatchPayload, @unchecked Sendable {
    let values: [Int]
    init(_ v: [Int]) { values = v }
}

/// Passes batches on, dropping values for which `drop` is true (counted as filtered), and remembers
/// the order in which it saw batches.
final class PassOperator: StreamOperator, @unchecked Sendable {
    let name: String
    let parallelism: Int
    let drop: (Int) -> Bool
    let seen = TestLocked<[Int]>([])
    let journal: Journal?
    init(_ name: String, parallelism: Int = 8, journal: Journal? = nil, drop: @escaping (Int) -> Bool = { _ in false }) {
        self.name = name
        self.parallelism = parallelism
        self.journal = journal
        self.drop = drop
    }
    var maxParallelism: Int { parallelism }
    func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let box = batch.payload(as: Box.self)
        journal?.note(name)
        let kept = box.values.filter { !drop($0) }
        seen.withLock { $0.append(contentsOf: kept) }
        return OperatorOutput(batch: batch.derived(payload: Box(kept), records: kept.count), filtered: box.values.count - kept.count)
    }
}

/// Order in which operators ran.
final class Journal: @unchecked Sendable {
    let entries = TestLocked<[String]>([])
    func note(_ s: String) { entries.withLock { $0.append(s) } }
    var all: [String] { entries.withLock { $0 } }
}

/// The invariant of every task: what the tasks upstream put out = records in + queued + in flight, and
/// records in = out + filtered (on a graph: summed over the task's inputs).
func checkConservation(_ snap: EngineSnapshot) -> String? {
    for (i, t) in snap.tasks.enumerated() where i > 0 {
        let arrived = t.inputs.reduce(0) { sum, name in sum + (snap.tasks.first { $0.name == name }?.recordsOut ?? 0) }
        if arrived != t.recordsIn + t.queuedRecords + t.inFlightRecords {
            return "\(t.name): upstream out \(arrived) != in \(t.recordsIn) + queued \(t.queuedRecords) + in flight \(t.inFlightRecords)"
        }
        if t.recordsIn != t.recordsOut + t.recordsFiltered {
            return "\(t.name): in \(t.recordsIn) != out \(t.recordsOut) + filtered \(t.recordsFiltered)"
        }
    }
    return nil
}

/// A value behind a pthread lock (visible to ThreadSanitizer, unlike `Mutex`'s futex on Linux).
final class TestLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
