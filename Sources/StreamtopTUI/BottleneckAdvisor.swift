import Foundation
import StreamtopEngine

/// One sentence naming what limits the pipeline now and the key that would help, derived from a snapshot.
public enum BottleneckAdvisor {
    /// The advice and how urgent it looks.
    public struct Advice: Equatable, Sendable {
        /// The sentence.
        public var text: String
        /// `warning` when something is stuck or saturated, `dim` when all is well.
        public var role: Role
    }

    /// Looks at the tasks in pipeline order and explains the constraint.
    public static func advise(_ snap: EngineSnapshot) -> Advice? {
        let tasks = snap.tasks
        guard tasks.count > 1 else { return nil }
        if snap.finished { return Advice(text: "input ended; every task has drained", role: .dim) }
        // A paused task that blocks the pipeline comes first: it is the operator's own doing.
        if let paused = tasks.dropFirst().first(where: { $0.state == .paused && $0.queueFill >= 0.99 }) {
            return Advice(text: "\(paused.name) is paused, queue full (\(paused.queueDepth)/\(paused.queueCapacity)): upstream waits — press p on it to resume", role: .warning)
        }
        // The saturated task furthest upstream whose input is backing up.
        let worker = tasks.dropFirst().filter { $0.state != .paused }
        if let hot = worker.filter({ $0.busyRatio >= 0.8 && $0.queueFill >= 0.5 }).max(by: { $0.busyRatio * $0.queueFill < $1.busyRatio * $1.queueFill }) {
            let numbers = "busy \(percent(hot.busyRatio)), input queue \(percent(hot.queueFill)) full"
            let limit = min(hot.maxParallelism, snap.workers)
            if hot.workers < limit {
                return Advice(text: "\(hot.name) is the bottleneck: \(numbers) — press ] to add a worker", role: .warning)
            }
            return Advice(text: "\(hot.name) is the bottleneck: \(numbers), at its limit of \(limit) workers — raise its priority with + or run with more --workers", role: .warning)
        }
        if let blocked = worker.first(where: { $0.backpressuredRatio >= 0.5 }) {
            return Advice(text: "\(blocked.name) is blocked by backpressure \(percent(blocked.backpressuredRatio)) of the time: the task after it cannot keep up", role: .warning)
        }
        let source = tasks[0]
        if source.state == .backpressured {
            return Advice(text: "the source waits for room: the pipeline is the limit (press P for the adaptive policy)", role: .warning)
        }
        let busiest = worker.max { $0.busyRatio < $1.busyRatio }
        let load = busiest.map { " (busiest: \($0.name) \(percent($0.busyRatio)))" } ?? ""
        return Advice(text: "keeping up with the input: no task is saturated\(load)", role: .dim)
    }

    static func percent(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }
}
