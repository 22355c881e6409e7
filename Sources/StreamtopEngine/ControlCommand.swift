/// An operator's request to the engine. Commands go through the engine's mailbox and are applied between
/// quanta, ahead of data; each applied command is written to the decision log.
public enum ControlCommand: Sendable, Equatable {
    /// Stop processing the task; its input queue fills and upstream blocks. Nothing is dropped.
    case pause(TaskID)
    /// Resume a paused task.
    case resume(TaskID)
    /// Pause a running task, resume a paused one.
    case togglePause(TaskID)
    /// Set the task's priority (higher runs first).
    case setPriority(TaskID, Int)
    /// Change the task's priority by a step.
    case adjustPriority(TaskID, Int)
    /// Set how many workers may run the task at once.
    case setWorkers(TaskID, Int)
    /// Change the task's worker allocation by a step.
    case adjustWorkers(TaskID, Int)
    /// Keep the task's allocation as it is: the adaptive policy will not move its workers.
    case pin(TaskID)
    /// Let the adaptive policy move the task's workers again.
    case unpin(TaskID)
    /// Pin a task that is not pinned, unpin one that is.
    case togglePin(TaskID)
    /// Switch the scheduling policy.
    case setPolicy(SchedulingPolicy)
}

/// The range of task priorities, so that priority arithmetic never overflows.
public enum TaskPriority {
    /// Priorities run from `-limit` to `limit`.
    public static let limit = 1000

    /// `p` kept within the range.
    public static func clamped(_ p: Int) -> Int { max(-limit, min(limit, p)) }
}
