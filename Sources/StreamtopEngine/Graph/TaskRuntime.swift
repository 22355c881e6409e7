/// The engine's mutable record of one task. Only touched with the engine's lock held.
final class TaskRuntime {
    let id: TaskID
    let name: String
    let op: StreamOperator?  // nil for the source
    var priority: Int
    var allocation: Int
    var paused = false
    var finished = false
    /// Workers running the task now.
    var running = 0
    /// Records in batches that workers are processing now.
    var inFlightRecords = 0
    /// Input edges, one bounded queue each (none for the source). Several inputs are a union.
    var inputs: [Edge] = []
    /// Output edges: every output batch goes to each (fan-out shares the same immutable batch).
    var outputs: [Edge] = []
    /// The input edge to look at first next time (round-robin over a union).
    var nextInput = 0
    /// Capacity of each input edge, in batches.
    let queueCapacity: Int
    /// Batches waiting on all input edges, kept by the edges (so a pick need not walk them).
    var queuedBatches = 0
    /// The operator's latest published result (immutable), for the snapshot.
    var published: (any Sendable)?

    /// Rehearsal: extra cost per record (ns), spent waiting rather than spinning when `injectedIO`.
    var injectedNanosPerRecord: UInt64 = 0
    var injectedIO = false
    /// Rehearsal: the engine-clock time until which the task takes no batch (0: not stalled).
    var stalledUntil: UInt64 = 0

    /// Whether an operator pinned the allocation (the adaptive policy leaves it alone).
    var pinned = false
    /// Fair share: processing time so far divided by the task's weight (ns).
    var virtualTime: Double = 0
    /// Counters at the last adaptive plan, to measure the window since.
    var planMark: (rin: Int, rout: Int, busy: UInt64) = (0, 0, 0)

    // Metrics.
    var recordsIn = 0
    var recordsOut = 0
    var filtered = 0
    var bytesIn = 0
    var bytesOut = 0
    var quanta = 0
    var busyNanos: UInt64 = 0
    var backpressuredNanos: UInt64 = 0
    /// When the task last became backpressured (input ready, no room downstream), 0 if it is not.
    var backpressuredSince: UInt64 = 0
    var latency = LatencyWindow()
    /// Samples for rates over the last second: (time, in, out, busy, backpressured).
    var samples: [(t: UInt64, rin: Int, rout: Int, busy: UInt64, bp: UInt64, bin: Int, bout: Int)] = []
    /// Records out per second, one value per tick, for the selected task's sparkline.
    var history: [Double] = []
    /// Batch latency p99 (ns), one value per tick.
    var latencyHistory: [Double] = []
    /// Records out per second and the highest p99, per whole second and minute: the long graph spans.
    var longHistory = LongHistory()
    /// Last reported state, to log changes once.
    var lastState: TaskState = .idle
    var stateSince: UInt64 = 0

    init(id: TaskID, name: String, op: StreamOperator?, priority: Int, allocation: Int, queueCapacity: Int) {
        self.id = id
        self.name = name
        self.op = op
        self.priority = priority
        self.allocation = allocation
        self.queueCapacity = queueCapacity
    }

    var maxParallelism: Int { op?.maxParallelism ?? 1 }

    /// Batches waiting on every input edge.
    var inputCount: Int { inputs.reduce(0) { $0 + $1.queue.count } }
    /// Capacity of every input edge together.
    var inputCapacity: Int { inputs.reduce(0) { $0 + $1.queue.capacity } }
    /// Records waiting on every input edge.
    var inputRecords: Int { inputs.reduce(0) { $0 + $1.queue.records } }
    /// Whether some input edge holds a batch (a counter: this runs for every task on every pick).
    var hasInput: Bool { queuedBatches > 0 }
    /// Whether every output edge can take one more batch (true for a task with no outputs).
    var outputsHaveRoom: Bool {
        for e in outputs where e.queue.count + e.reserved >= e.queue.capacity { return false }
        return true
    }
    /// Whether every output edge has room for a quarter of its capacity: a source that had to wait for
    /// room waits for this much, then reads that many blocks in a row (see `Engine.runSource`).
    var outputsHaveRefillRoom: Bool {
        for e in outputs where e.queue.capacity - e.queue.count - e.reserved < max(1, e.queue.capacity / 4) { return false }
        return true
    }
    /// The first output edge that is full, if any.
    var blockedOutput: Edge? { outputs.first { !$0.hasRoom } }

    /// Takes the next batch from the inputs, round-robin, with the edge it came from.
    func popInput() -> (Batch, Edge)? {
        for k in 0..<inputs.count {
            let e = inputs[(nextInput + k) % inputs.count]
            if let b = e.pop() {
                nextInput = (nextInput + k + 1) % inputs.count
                return (b, e)
            }
        }
        return nil
    }
}

/// An edge of the task graph: a bounded queue of batches from one task to another. Only touched with the
/// engine's lock held.
final class Edge {
    /// Upstream and downstream task indices.
    let from: Int
    let to: Int
    /// The downstream task, whose count of queued batches the edge keeps.
    unowned let target: TaskRuntime
    private(set) var queue: BlockQueue
    /// Slots reserved by upstream workers that are processing a batch bound for this edge.
    var reserved = 0

    init(from: Int, to target: TaskRuntime, index: Int, capacity: Int) {
        self.from = from
        self.to = index
        self.target = target
        queue = BlockQueue(capacity: capacity)
    }

    func push(_ batch: Batch) {
        queue.push(batch)
        target.queuedBatches += 1
    }

    func pushFront(_ batch: Batch) {
        queue.pushFront(batch)
        target.queuedBatches += 1
    }

    func pop() -> Batch? {
        guard let b = queue.pop() else { return nil }
        target.queuedBatches -= 1
        return b
    }

    /// Whether the queue can take one more batch, counting reservations.
    var hasRoom: Bool { queue.count + reserved < queue.capacity }
}

/// A bounded FIFO of batches (a ring buffer). Only touched with the engine's lock held.
struct BlockQueue {
    private var items: [Batch?]
    private var head = 0
    private(set) var count = 0
    /// Records in the queued batches.
    private(set) var records = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        items = Array(repeating: nil, count: max(capacity, 1))
    }

    var isEmpty: Bool { count == 0 }

    mutating func push(_ batch: Batch) {
        precondition(count < capacity, "queue overflow: a bounded queue took more than its capacity")
        items[(head + count) % items.count] = batch
        count += 1
        records += batch.records
    }

    /// Puts a batch back at the head (undoing a pop).
    mutating func pushFront(_ batch: Batch) {
        precondition(count < capacity)
        head = (head - 1 + items.count) % items.count
        items[head] = batch
        count += 1
        records += batch.records
    }

    mutating func pop() -> Batch? {
        guard count > 0 else { return nil }
        let b = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        records -= b!.records
        return b
    }
}
