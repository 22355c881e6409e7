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
        // A paused task comes first: it is the operator's own doing, and upstream blocks once its queue fills.
        if tasks[0].state == .paused {
            return Advice(text: "\(tasks[0].name) is paused: no input is read — select it and press p", role: .warning)
        }
        if let paused = tasks.dropFirst().first(where: { $0.state == .paused }) {
            if paused.queueFill >= 0.99 {
                return Advice(text: "\(paused.name) is paused, queue full (\(paused.queueDepth)/\(paused.queueCapacity)): upstream waits — select it and press p", role: .warning)
            }
            return Advice(text: "\(paused.name) is paused: its queue fills (\(paused.queueDepth)/\(paused.queueCapacity)), then upstream waits — select it and press p", role: .warning)
        }
        if let stalled = tasks.dropFirst().first(where: { $0.state == .stalled }) {
            return Advice(text: "\(stalled.name) is stalled by a rehearsal: its queue fills (\(stalled.queueDepth)/\(stalled.queueCapacity)), then upstream waits — it goes on by itself (:inject clear ends it now)", role: .warning)
        }
        // Full queues: the task at their downstream end is the one that holds everything up.
        if let end = endOfFullQueues(snap) {
            return limit(end, snap, why: "input queue full (\(end.queueDepth)/\(end.queueCapacity))")
        }
        // The saturated task furthest upstream whose input is backing up.
        let worker = tasks.dropFirst().filter { $0.state != .paused && $0.state != .stalled }
        if let hot = worker.filter({ $0.busyRatio >= 0.8 && $0.queueFill >= 0.5 }).max(by: { $0.busyRatio * $0.queueFill < $1.busyRatio * $1.queueFill }) {
            return limit(hot, snap, why: "input queue \(percent(hot.queueFill)) full")
        }
        if let blocked = worker.first(where: { $0.backpressuredRatio >= 0.5 }) {
            let next = downstream(of: blocked, in: snap).map(\.name).joined(separator: ", ")
            return Advice(text: "\(blocked.name) is blocked by backpressure \(percent(blocked.backpressuredRatio)) of the time: \(next.isEmpty ? "the task after it" : next) cannot keep up", role: .warning)
        }
        let source = tasks[0]
        if source.state == .backpressured {
            return Advice(text: "the source waits for room: the pipeline is the limit (press P for the adaptive policy)", role: .warning)
        }
        let busiest = worker.max { $0.busyRatio < $1.busyRatio }
        let load = busiest.map { " (busiest: \($0.name) \(percent($0.busyRatio)))" } ?? ""
        return Advice(text: "keeping up with the input: no task is saturated\(load)", role: .dim)
    }

    /// What limits a task whose input backs up, and the key that helps: a busy one needs workers (or
    /// priority, at its limit); one that is not busy gets too little of the workers' time.
    static func limit(_ t: TaskSnapshot, _ snap: EngineSnapshot, why: String) -> Advice {
        let limit = min(t.maxParallelism, snap.workers)
        // Well under half busy: clearly starved (a task near 50 % would flip between the two sentences).
        if t.busyRatio < 0.3 {
            return Advice(text: "\(t.name) holds the pipeline up: \(why) but busy only \(percent(t.busyRatio)) — it gets too little worker time: raise its priority with + (or P for the adaptive policy)", role: .warning)
        }
        let numbers = "busy \(percent(t.busyRatio)), \(why)"
        if t.workers < limit {
            return Advice(text: "\(t.name) is the bottleneck: \(numbers) — press ] to add a worker", role: .warning)
        }
        return Advice(text: "\(t.name) is the bottleneck: \(numbers), at its limit of \(limit) workers — raise its priority with + or run with more --workers", role: .warning)
    }

    /// The tasks a task feeds: from the graph's edges, or the next task when the snapshot has none.
    static func downstream(of t: TaskSnapshot, in snap: EngineSnapshot) -> [TaskSnapshot] {
        if !snap.edges.isEmpty {
            let names = snap.edges.filter { $0.from == t.name }.map(\.to)
            return snap.tasks.filter { names.contains($0.name) }
        }
        guard let i = snap.tasks.firstIndex(where: { $0.name == t.name }), i + 1 < snap.tasks.count else { return [] }
        return [snap.tasks[i + 1]]
    }

    /// Starting at the first task (in pipeline order) whose input queue is full, follows full queues
    /// downstream; the last task reached has a full input and room after it: it is the constraint, not
    /// the tasks blocked behind it.
    static func endOfFullQueues(_ snap: EngineSnapshot) -> TaskSnapshot? {
        func full(_ t: TaskSnapshot) -> Bool { t.queueCapacity > 0 && t.queueFill >= 0.99 }
        guard var t = snap.tasks.dropFirst().first(where: full) else { return nil }
        var seen: Set<String> = [t.name]
        while let next = downstream(of: t, in: snap).first(where: full), !seen.contains(next.name) {
            seen.insert(next.name)
            t = next
        }
        return t
    }

    static func percent(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }
}
