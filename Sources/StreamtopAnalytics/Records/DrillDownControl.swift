import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// The drill-down an operator was asked for last (`focus …` requests), shared by the report's aggregate
/// and the analytics tasks. Only the engine's thread changes it (`handle`); workers read its number once a
/// block, without a lock, and take the setting up under their own slot's lock when it moved, so a request
/// never waits for a worker and a worker never waits for a request.
public final class DrillDownControl: Sendable {
    /// The task whose records it breaks down (nil: the report's aggregate), for messages and the focus.
    let task: String?
    private let setting = Locked<(generation: Int, focus: FocusKey?, since: Double, boundary: [Int: Int64])>((0, nil, 0, [:]))
    private let number = Atomic<Int>(0)
    /// Whether a drill-down is open: workers skip all of it while none is.
    private let open = Atomic<Bool>(false)

    /// Creates the control of `task`'s drill-downs (nil: the report's).
    public init(task: String?) { self.task = task }

    /// The number of the drill-down asked for last (each request, closing too, takes the next one).
    @inline(__always)
    public var generation: Int { number.load(ordering: .acquiring) }

    /// Whether one is open.
    @inline(__always)
    public var isOpen: Bool { open.load(ordering: .relaxed) }

    /// The setting asked for last.
    public var current: (generation: Int, focus: FocusKey?, since: Double, boundary: [Int: Int64]) { setting.withLock { $0 } }

    /// A fresh breakdown of the drill-down asked for last, or nil when it was closed.
    public func make() -> DrillDown? {
        let s = current
        return s.focus.map { DrillDown($0, generation: s.generation, since: s.since, boundary: s.boundary) }
    }

    /// Applies `focus …` (kind and key as arguments) or `focus` alone (close). The report's aggregate
    /// takes `path`, `client`, `status` and `where`; a task takes `where` only. `boundary` is asked, for a
    /// drill-down that opens, where the input stood per source index: blocks before it are left to a count
    /// of that earlier part (empty: every block counts).
    public func handle(_ request: OperatorRequest, boundary: (FocusKey) -> [Int: Int64] = { _ in [:] }) -> TransportOutcome {
        let who = task.map { "task \($0)" } ?? "the report's aggregate"
        guard request.verb == "focus" else {
            return TransportOutcome(applied: false, action: request.verb, reason: "\(who) takes drill-down (focus) requests only")
        }
        var focus: FocusKey?
        if !request.arguments.isEmpty {
            guard request.arguments.count == 2, let f = FocusKey.parse(kind: request.arguments[0], key: request.arguments[1], task: task) else {
                let takes = task == nil ? "a path, a client, a status code (100-999) or the records of a filter (where …)" : "the records of a filter (where …)"
                return TransportOutcome(applied: false, action: "focus " + request.arguments.joined(separator: " "), reason: "a drill-down on \(who) looks at \(takes)")
            }
            focus = f
        }
        let from = focus.map(boundary) ?? [:]
        let g = setting.withLock { s -> Int in
            s = (s.generation + 1, focus, Date().timeIntervalSince1970, from)
            return s.generation
        }
        number.store(g, ordering: .releasing)
        open.store(focus != nil, ordering: .relaxed)
        guard let focus else { return TransportOutcome(applied: true, action: "drill-down closed", reason: "operator request") }
        let counted = task == nil ? "its statuses, paths, clients and serving time are counted from now on (the report keeps no per-key breakdown)" : "the task's records it selects are counted from now on: statuses, paths, clients, serving time"
        return TransportOutcome(applied: true, action: "drill-down on \(focus)", reason: "operator request; \(counted)", numbers: ["drill_down": Double(g)])
    }
}
