extension ControlCommand {
    /// The command that puts back what this one changes, given the state before it is applied (nil when
    /// it changes nothing that can be put back).
    public func inverse(before snap: EngineSnapshot) -> ControlCommand? {
        func task(_ id: TaskID) -> TaskSnapshot? { snap.tasks.first { $0.id == id } }
        switch self {
        case .pause(let id), .resume(let id), .togglePause(let id):
            guard let t = task(id) else { return nil }
            return t.state == .paused ? .pause(id) : .resume(id)
        case .setPriority(let id, _), .adjustPriority(let id, _):
            guard let t = task(id) else { return nil }
            return .setPriority(id, t.priority)
        case .setWorkers(let id, _), .adjustWorkers(let id, _):
            guard let t = task(id) else { return nil }
            return .setWorkers(id, t.workers)
        case .pin(let id), .unpin(let id), .togglePin(let id):
            guard let t = task(id) else { return nil }
            return t.pinned ? .pin(id) : .unpin(id)
        case .setPolicy:
            return SchedulingPolicy(rawValue: snap.policy).map { .setPolicy($0) }
        case .inject(let i):
            // Each injection is undone by ending it alone; `inject clear` (which ends them all) is not undone.
            switch i {
            case .slow(let id, _, let io): return .inject(.slow(id, nanosPerRecord: 0, io: io))
            case .stall(let id, _): return .inject(.stall(id, seconds: 0))
            case .burst: return .inject(.burst(factor: 1, seconds: 0))
            case .malformed: return .inject(.malformed(percent: 0))
            case .skew: return .inject(.skew(percent: 0))
            case .clear: return nil
            }
        case .request:
            // A drill-down changes what is shown, not how the pipeline runs: the front end closes it.
            return nil
        case .transport:
            // The source's transport is not in the snapshot; the front end remembers what it changed.
            return nil
        }
    }
}
