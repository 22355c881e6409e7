/// One checkpoint as the engine captured it: the source's position, and each task's counters and state,
/// all as of the same block boundary. The store writes it to disk (`CheckpointStore`); a restarted engine
/// is set back to it (`Engine.restore`).
public struct CheckpointImage: Sendable {
    /// One task's part.
    public struct Task: Sendable, Equatable {
        /// The task's name.
        public var name: String
        /// The operator's `stateShape` (empty for a task without state).
        public var shape: String
        /// Records and bytes in and out, records filtered and quanta so far (so the report's per-task
        /// counts carry on across a restart).
        public var counters: [Int]
        /// The operator's saved state (empty for a task without state).
        public var state: [UInt8]
    }

    /// The checkpoint's number: 1, 2, 3… across restarts.
    public var number: Int
    /// Wall-clock time it was taken (UNIX seconds).
    public var wallTime: Double
    /// Blocks the source had handed out (the sequence number of the next one).
    public var blocks: Int
    /// The source's saved position.
    public var source: [UInt8]
    /// The position in words, for the decision log.
    public var sourceSummary: String
    /// Every task, source first, in pipeline order.
    public var tasks: [Task]
    /// Whether the input had ended (the run stopped cleanly after it).
    public var final: Bool

    /// The pipeline's shape as one line per task (`name: shape`), compared on restore.
    public var shape: [String] { tasks.map { "\($0.name): \($0.shape.isEmpty ? "-" : $0.shape)" } }

    /// The image as bytes (the store adds a header and a checksum around them).
    public func encoded() -> [UInt8] {
        var w = StateWriter()
        w.int(number)
        w.double(wallTime)
        w.int(blocks)
        w.bytes(source)
        w.string(sourceSummary)
        w.bool(final)
        w.int(tasks.count)
        for t in tasks {
            w.string(t.name)
            w.string(t.shape)
            w.numbers(t.counters.map { Int64($0) })
            w.bytes(t.state)
        }
        return w.bytes
    }

    /// Decodes `encoded()`.
    public init(decoding bytes: [UInt8]) throws {
        var r = StateReader(bytes)
        number = try r.int()
        wallTime = try r.double()
        blocks = try r.count(max: Int.max)
        source = try r.bytes()
        sourceSummary = try r.string()
        final = try r.bool()
        let n = try r.count(max: 100_000)
        tasks = []
        for _ in 0..<n {
            let name = try r.string()
            let shape = try r.string()
            let counters = try r.numbers(Int64.self).map { Int($0) }
            tasks.append(Task(name: name, shape: shape, counters: counters, state: try r.bytes()))
        }
        try r.check(r.isAtEnd, "bytes left after the last task")
    }

    /// Creates an image.
    public init(number: Int, wallTime: Double, blocks: Int, source: [UInt8], sourceSummary: String, tasks: [Task], final: Bool) {
        self.number = number
        self.wallTime = wallTime
        self.blocks = blocks
        self.source = source
        self.sourceSummary = sourceSummary
        self.tasks = tasks
        self.final = final
    }
}

/// How the engine takes checkpoints: how often, and who writes them down.
public struct CheckpointSettings: Sendable {
    /// Interval between checkpoints, ns.
    public var intervalNanos: UInt64
    /// Writes an image durably (called on the source thread, outside the engine's lock, while the workers
    /// go on); returns the bytes written, or the reason it failed.
    public var write: @Sendable (CheckpointImage) -> Result<Int, CheckpointFailure>
    /// The first checkpoint's number (one past the restored one).
    public var nextNumber: Int

    /// Creates settings.
    public init(intervalNanos: UInt64, nextNumber: Int = 1, write: @escaping @Sendable (CheckpointImage) -> Result<Int, CheckpointFailure>) {
        self.intervalNanos = max(1_000_000, intervalNanos)
        self.nextNumber = nextNumber
        self.write = write
    }
}

/// Why a checkpoint could not be written (disk full, permission denied…), in one line.
public struct CheckpointFailure: Error, CustomStringConvertible, Sendable {
    /// The reason.
    public let description: String
    /// Creates a failure.
    public init(_ description: String) { self.description = description }
}

/// The last checkpoint, as the snapshot shows it.
public struct CheckpointStatus: Sendable, Equatable, Codable {
    /// Number of the last complete checkpoint (0: none yet).
    public var number = 0
    /// Seconds since the engine started when it was taken.
    public var time: Double = 0
    /// How long the source waited for the queues to drain before it (the workers went on), ns.
    public var drainNanos: UInt64 = 0
    /// How long the pipeline stood still while the state was captured, ns.
    public var pauseNanos: UInt64 = 0
    /// How long writing it took (the workers went on meanwhile), ns.
    public var writeNanos: UInt64 = 0
    /// Its size on disk, bytes.
    public var bytes = 0
    /// The last failure, if the latest attempt failed.
    public var failure: String?
    /// Attempts that failed so far.
    public var failures = 0
    /// The checkpoint this run resumed from, if any.
    public var restored: Int?
}
