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
    /// Steer the source (a paced replay): applied by the source when the engine drains its mailbox.
    case transport(TransportCommand)
    /// Start a rehearsal (see `Injection`).
    case inject(Injection)
    /// A request for one task's operator (a drill-down: `focus path /login`), handed to it by the engine
    /// when it applies its mailbox, and logged with the operator's answer.
    case request(TaskID, OperatorRequest)
}

/// Words for one task's operator, e.g. `focus` with `["path", "/login"]`: the engine knows nothing of
/// their meaning and passes them to `StreamOperator.handle`, on its own thread.
public struct OperatorRequest: Sendable, Equatable {
    /// What is asked, e.g. `focus`.
    public var verb: String
    /// Its arguments, e.g. `["path", "/login"]`; empty for `focus` alone (close the drill-down).
    public var arguments: [String]

    /// Creates a request.
    public init(verb: String, arguments: [String] = []) {
        self.verb = verb
        self.arguments = arguments
    }
}

/// A request to the source's transport (replay speed, pause, step, seek). The engine hands it to
/// `StreamSource.control` when it applies its mailbox and logs the outcome.
public enum TransportCommand: Sendable, Equatable {
    /// Replay speed factor; nil: as fast as possible.
    case speed(Double?)
    /// Pause (true) or resume (false) the replay clock; nil toggles.
    case pause(Bool?)
    /// While paused, hand out the next stretch of the recording (seconds).
    case step(Int64)
    /// Go forward to an event time (UTC epoch seconds).
    case seekAbsolute(Int64)
    /// Go forward to a time of day (seconds after midnight UTC) on the day of the current position.
    case seekTimeOfDay(Int64)
    /// Go forward by some seconds.
    case seekAhead(Int64)
    /// Replay `factor` times faster for `seconds` (a rehearsed burst), then at the speed before.
    case burst(factor: Double, seconds: Double)
}

/// What a source did with a transport command, or an operator with a request, for the decision log.
public struct TransportOutcome: Sendable, Equatable {
    /// Whether it changed anything.
    public var applied: Bool
    /// What changed (or what was asked), e.g. `replay speed 10× → 20×`.
    public var action: String
    /// Why, or why not.
    public var reason: String
    /// Numbers behind it.
    public var numbers: [String: Double]

    /// Creates an outcome.
    public init(applied: Bool, action: String, reason: String, numbers: [String: Double] = [:]) {
        self.applied = applied
        self.action = action
        self.reason = reason
        self.numbers = numbers
    }
}

/// The range of task priorities, so that priority arithmetic never overflows.
public enum TaskPriority {
    /// Priorities run from `-limit` to `limit`.
    public static let limit = 1000

    /// `p` kept within the range.
    public static func clamped(_ p: Int) -> Int { max(-limit, min(limit, p)) }
}
