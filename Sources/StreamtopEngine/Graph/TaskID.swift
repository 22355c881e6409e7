/// Identifies a task of the running pipeline; its value is the task's position in the pipeline.
public struct TaskID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The position in the pipeline, 0 for the source.
    public let index: Int
    /// Creates an id.
    public init(_ index: Int) { self.index = index }
    public static func < (a: TaskID, b: TaskID) -> Bool { a.index < b.index }
    public var description: String { "#\(index)" }
}

/// What a task is currently doing, as shown to operators.
public enum TaskState: String, Sendable, Codable {
    /// Processing, or ready to.
    case running
    /// Stopped by the operator; its input queue fills and upstream blocks.
    case paused
    /// Stopped for a while by a rehearsal (`inject stall`); goes on by itself.
    case stalled
    /// Has input but its output queue is full.
    case backpressured
    /// Has nothing to do.
    case idle
    /// Its input has ended and it has processed everything.
    case finished
}
