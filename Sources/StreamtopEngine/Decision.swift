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
    /// Sequence number, from 1.
    public var sequence: Int
    /// Seconds since the engine started.
    public var time: Double
    /// Who decided.
    public var actor: Actor
    /// The task concerned, if any.
    public var task: String?
    /// What changed, e.g. `paused`, `priority 5 → 6`.
    public var action: String
    /// Why, with the numbers that triggered it.
    public var reason: String

    /// Creates a decision.
    public init(sequence: Int, time: Double, actor: Actor, task: String?, action: String, reason: String) {
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.task = task
        self.action = action
        self.reason = reason
    }
}
