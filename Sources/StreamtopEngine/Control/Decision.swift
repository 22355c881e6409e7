/// One entry of the decision log: something the scheduler, the engine or an operator decided, and why.
public struct Decision: Sendable, Codable, Equatable {
    /// Who decided.
    public enum Actor: String, Sendable, Codable {
        /// The scheduler, on its own.
        case scheduler
        /// An operator, through a key, the command line or an action script.
        case `operator`
        /// The engine itself (start, end of input, source events).
        case engine
    }
    /// What kind of change this is, for filtering and scripts.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case started, finished
        case inputEnded = "input_ended", inputStopped = "input_stopped", inputFailed = "input_failed"
        case sourceEvent = "source_event"
        case formatDetected = "format_detected"
        case paused, resumed
        case priorityChanged = "priority_changed"
        case workersChanged = "workers_changed"
        case workersMoved = "workers_moved"
        case pinned, unpinned
        case policyChanged = "policy_changed"
        case backpressured, unblocked
        case speedChanged = "speed_changed"
        case rejected
        case outputFailed = "output_failed"
        case checkpoint, restored
        case checkpointFailed = "checkpoint_failed", checkpointDeferred = "checkpoint_deferred"
        case injected, injectionEnded = "injection_ended"
        case effectMeasured = "effect_measured"
        case drillDown = "drill_down"
    }
    /// Sequence number, from 1.
    public var sequence: Int
    /// Seconds since the engine started.
    public var time: Double
    /// Who decided.
    public var actor: Actor
    /// The policy in force when the scheduler decided (nil for operator and engine entries).
    public var policy: String?
    /// What kind of change.
    public var kind: Kind
    /// The task concerned, if any.
    public var task: String?
    /// What changed, e.g. `paused`, `priority 5 → 6`.
    public var action: String
    /// Why, with the numbers that triggered it.
    public var reason: String
    /// The numbers behind the decision (queue fill, busy ratio, measured rates…), by name.
    public var numbers: [String: Double]

    /// Creates a decision.
    public init(sequence: Int, time: Double, actor: Actor, policy: String? = nil, kind: Kind, task: String?, action: String, reason: String, numbers: [String: Double] = [:]) {
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.policy = policy
        self.kind = kind
        self.task = task
        self.action = action
        self.reason = reason
        self.numbers = numbers
    }
}
