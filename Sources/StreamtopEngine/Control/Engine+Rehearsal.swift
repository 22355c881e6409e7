import Foundation

/// Rehearsals (`inject …`): applied from the mailbox like every command, logged, and listed in snapshots
/// while active (lock held).
extension Engine {
    func applyInjectionLocked(_ injection: Injection) {
        let now = clock.nanos()
        switch injection {
        case .slow(let id, let ns, let io):
            guard let t = task(id) else { return }
            guard id.index > 0 else {
                return logLocked(.operator, .rejected, t.name, "inject slow refused", "the source reads on its own thread; slow one of the tasks")
            }
            t.injectedNanosPerRecord = ns
            t.injectedIO = io
            let key = "slow \(t.name)"
            if ns == 0 {
                guard rehearsals.removeValue(forKey: key) != nil else {
                    return logLocked(.operator, .rejected, t.name, "inject slow: nothing to end", "\(t.name) is not slowed")
                }
                return logLocked(.operator, .injectionEnded, t.name, "inject slow ended", "rehearsal: records cost what they cost again")
            }
            let cost = Engine.duration(ns)
            rehearsals[key] = Rehearsal(text: "slow \(t.name) +\(cost)\(io ? " io" : "")", until: nil)
            logLocked(.operator, .injected, t.name, "inject slow +\(cost)/record (\(io ? "io: waiting" : "cpu: spinning"))",
                      "rehearsal: each record \(t.name) processes costs \(cost) more\(io ? ", spent waiting: more workers than cores help" : ", spent on a core")",
                      numbers: ["nanos_per_record": Double(ns)])
        case .stall(let id, let seconds):
            guard let t = task(id) else { return }
            guard id.index > 0 else {
                return logLocked(.operator, .rejected, t.name, "inject stall refused", "pause the source instead: it reads on its own thread")
            }
            if seconds == 0 {
                // Undo: the stall ends now.
                guard t.stalledUntil != 0 else { return logLocked(.operator, .rejected, t.name, "inject stall: nothing to end", "\(t.name) is not stalled") }
                t.stalledUntil = 0
                rehearsals["stall \(t.name)"] = nil
                return logLocked(.operator, .injectionEnded, t.name, "stall ended", "operator request; \(t.name) takes batches again")
            }
            t.stalledUntil = now &+ UInt64(seconds * 1e9)
            rehearsals["stall \(t.name)"] = Rehearsal(text: "stall \(t.name)", until: t.stalledUntil)
            logLocked(.operator, .injected, t.name, "inject stall \(Engine.duration(UInt64(seconds * 1e9)))",
                      "rehearsal: \(t.name) takes no batch meanwhile; its input queue (\(t.inputCount)/\(t.inputCapacity)) fills and upstream blocks, then it goes on by itself",
                      numbers: ["seconds": seconds])
        case .burst(let factor, let seconds):
            let outcome = source.control(.burst(factor: factor, seconds: seconds))
            if seconds == 0 {
                rehearsals["burst"] = nil
            } else if outcome.applied {
                rehearsals["burst"] = Rehearsal(text: "burst \(Engine.factor(factor))", until: now &+ UInt64(seconds * 1e9))
                if outcome.numbers["paused"] == 1 { rehearsals["burst"]?.replay(paused: true, now: now) }
            }
            logLocked(.operator, outcome.applied ? .injected : .rejected, tasks[0].name, outcome.action, outcome.reason, numbers: outcome.numbers)
        case .malformed(let p), .skew(let p):
            let key = { if case .skew = injection { return "skew" } else { return "malformed" } }()
            var said: [(String, String)] = []
            for t in tasks { if let r = t.op as? Rehearsable, let what = r.rehearse(injection) { said.append((t.name, what)) } }
            guard let (name, what) = said.first else {
                return logLocked(.operator, .rejected, nil, "inject \(key) refused", "no task of this pipeline parses lines")
            }
            if p == 0 && rehearsals[key] == nil {
                return logLocked(.operator, .rejected, name, "inject \(key): nothing to end", "no \(key) injection is active")
            }
            // The badge's short form; the log says it in full.
            rehearsals[key] = p == 0 ? nil : Rehearsal(text: "\(key) \(p == p.rounded() ? "\(Int(p))" : String(format: "%.1f", p))%", until: nil)
            logLocked(.operator, p == 0 ? .injectionEnded : .injected, name, p == 0 ? "inject \(key) ended" : "inject \(what)",
                      "rehearsal: \(what)", numbers: ["percent": p])
        case .clear:
            let active = activeRehearsalsLocked(now: now)
            for t in tasks {
                t.injectedNanosPerRecord = 0
                t.stalledUntil = 0
                _ = (t.op as? Rehearsable)?.rehearse(.clear)
            }
            if rehearsals["burst"].map({ $0.until.map { $0 > now } ?? true }) == true {
                _ = source.control(.burst(factor: 1, seconds: 0))
            }
            rehearsals = [:]
            logLocked(.operator, .injectionEnded, nil, "rehearsal cleared",
                      active.isEmpty ? "nothing was injected" : "ended: \(active.joined(separator: "; "))")
        }
    }

    /// What is injected now, in words (stalls and bursts that ran out are dropped).
    func activeRehearsalsLocked(now: UInt64) -> [String] {
        rehearsals.filter { $0.value.until.map { $0 > now } ?? true }.keys.sorted().map { rehearsals[$0]!.text }
    }

    /// A stalled task whose time is up goes on (logged once); until then it is not runnable.
    func stallOverLocked(_ t: TaskRuntime) -> Bool {
        guard t.stalledUntil != 0 else { return true }
        guard clock.nanos() >= t.stalledUntil else { return false }
        t.stalledUntil = 0
        rehearsals["stall \(t.name)"] = nil
        logLocked(.operator, .injectionEnded, t.name, "stall over", "rehearsal: \(t.name) takes batches again; \(t.inputCount)/\(t.inputCapacity) queued")
        return true
    }

    /// The earliest end of a stall still to come, for workers that wait (nil: none). Stalls whose time is
    /// up end here, so that a waiting worker never gets a deadline already past (it would spin).
    func nextStallEndLocked() -> UInt64? {
        for t in tasks where t.stalledUntil != 0 { _ = stallOverLocked(t) }
        return tasks.lazy.map(\.stalledUntil).filter { $0 != 0 }.min()
    }

    /// `5×`, `1.5×`.
    static func factor(_ f: Double) -> String { f == f.rounded() ? "\(Int(f))×" : String(format: "%.1f×", f) }

    /// `200µs`, `5 s`.
    static func duration(_ ns: UInt64) -> String {
        if ns >= 1_000_000_000 { return String(format: "%g s", Double(ns) / 1e9) }
        if ns >= 1_000_000 { return String(format: "%gms", Double(ns) / 1e6) }
        if ns >= 1_000 { return String(format: "%gµs", Double(ns) / 1e3) }
        return "\(ns)ns"
    }
}

/// One active injection, as snapshots list it.
struct Rehearsal {
    var text: String
    /// Engine-clock time it ends by itself (nil: until cleared, or held).
    var until: UInt64?
    /// A burst's time left while the replay is paused (its time stands still with the replay clock).
    var held: UInt64?

    /// A burst's time stops while the replay is paused and goes on when it resumes.
    mutating func replay(paused: Bool, now: UInt64) {
        if paused, let u = until {
            held = u > now ? u - now : 0
            until = nil
        } else if !paused, let h = held {
            until = now &+ h
            held = nil
        }
    }
}
