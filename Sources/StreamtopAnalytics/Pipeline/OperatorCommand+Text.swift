import StreamtopEngine
import StreamtopLogs

extension OperatorCommand {
    /// The command as an operator would type it on the `:` line, with relative changes (toggles, steps
    /// of priority or workers) resolved against `snapshot`: what an attached dashboard sends to the
    /// instance's command endpoint, which speaks that language. Nil when it names a task the snapshot
    /// does not have.
    public func text(in snapshot: EngineSnapshot) -> String? {
        switch self {
        case .engine(let c): return Self.text(of: c, in: snapshot)
        case .speed(let v): return "speed " + (v.map { Self.number($0) } ?? "max")
        case .replayPause(let p): return p == nil ? "replay toggle" : p! ? "replay pause" : "replay resume"
        case .step(let s): return "step \(s)s"
        case .seek(.absolute(let t)): return "seek " + LogTime.iso8601(t)
        case .seek(.timeOfDay(let s)): return "seek " + Self.timeOfDay(s)
        case .seek(.ahead(let s)): return "seek +\(s)s"
        case .focus(let f): return f.map { "focus \($0.commandText)" } ?? "focus off"
        }
    }

    private static func text(of c: ControlCommand, in snapshot: EngineSnapshot) -> String? {
        func task(_ id: TaskID) -> TaskSnapshot? { snapshot.tasks.first { $0.id == id } }
        switch c {
        case .pause(let id): return task(id).map { "pause \($0.name)" }
        case .resume(let id): return task(id).map { "resume \($0.name)" }
        case .togglePause(let id): return task(id).map { ($0.state == .paused ? "resume " : "pause ") + $0.name }
        case .setPriority(let id, let n): return task(id).map { "priority \($0.name) \(n)" }
        case .adjustPriority(let id, let d): return task(id).map { "priority \($0.name) \(d >= 0 ? "+" : "")\(d)" }
        case .setWorkers(let id, let n): return task(id).map { "workers \($0.name) \(n)" }
        case .adjustWorkers(let id, let d): return task(id).map { "workers \($0.name) \(max(1, $0.workers + d))" }
        case .pin(let id): return task(id).map { "pin \($0.name)" }
        case .unpin(let id): return task(id).map { "unpin \($0.name)" }
        case .togglePin(let id): return task(id).map { ($0.pinned ? "unpin " : "pin ") + $0.name }
        case .setPolicy(let p): return "policy \(p.rawValue)"
        case .request(_, let r): return r.verb == "focus" && r.arguments.isEmpty ? "focus off" : ([r.verb] + r.arguments).joined(separator: " ")
        case .inject(let i):
            switch i {
            case .slow(let id, let ns, let io): return task(id).map { "inject slow \($0.name) \(ns)ns \(io ? "io" : "cpu")" }
            case .stall(let id, let s): return task(id).map { "inject stall \($0.name) \(Self.number(s))s" }
            case .burst(_, 0): return "inject burst end"
            case .burst(let f, let s): return "inject burst \(Self.number(f))x \(Self.number(s))s"
            case .malformed(let p): return "inject malformed \(Self.number(p))%"
            case .skew(let p): return "inject skew client \(Self.number(p))%"
            case .clear: return "inject clear"
            }
        case .transport(let t):
            switch t {
            case .speed(let v): return OperatorCommand.speed(v).text(in: snapshot)
            case .pause(let p): return OperatorCommand.replayPause(p).text(in: snapshot)
            case .step(let s): return OperatorCommand.step(s).text(in: snapshot)
            case .seekAbsolute(let e): return OperatorCommand.seek(.absolute(e)).text(in: snapshot)
            case .seekTimeOfDay(let s): return OperatorCommand.seek(.timeOfDay(s)).text(in: snapshot)
            case .seekAhead(let s): return OperatorCommand.seek(.ahead(s)).text(in: snapshot)
            case .burst(let f, let s): return "inject burst \(Self.number(f))x \(Self.number(s))s"
            }
        }
    }

    private static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    private static func timeOfDay(_ s: Int64) -> String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    }
}
