import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// Carries out operator commands from any front end (keys, the `:` line, an action script) the same way.
struct CommandApplier {
    let pipeline: AccessPipeline
    let pacer: ReplayPacer?

    var taskNames: [String] { pipeline.engine.taskNames.map(\.1) }

    /// Parses a typed command against the live task list.
    func parse(_ text: String) throws -> OperatorCommand {
        try OperatorCommand.parse(text, task: { pipeline.engine.taskID(named: $0) }, taskNames: taskNames)
    }

    /// Applies a command and returns a short message for the operator.
    @discardableResult
    func apply(_ command: OperatorCommand) -> String {
        switch command {
        case .engine(let c):
            pipeline.engine.send(c)
            return "sent"
        case .speed(let v):
            guard let pacer else {
                pipeline.engine.log(.operator, kind: .rejected, task: "source", action: "speed unchanged", reason: "the input is not a paced replay")
                return "speed applies to paced replays only"
            }
            let old = pacer.speed
            let new = v ?? .infinity
            pacer.speed = new
            pipeline.engine.log(.operator, kind: .speedChanged, task: "source", action: "replay speed \(Self.speedLabel(old)) → \(Self.speedLabel(new))", reason: "operator request", numbers: ["from": old.isFinite ? old : -1, "to": new.isFinite ? new : -1])
            return "replay speed \(Self.speedLabel(new))"
        case .replayPause(let request):
            guard let pacer else { return rejected("replay pause") }
            let pause = request ?? !pacer.isPaused
            guard pacer.isPaused != pause else { return pause ? "replay already paused" : "replay already playing" }
            pause ? pacer.pause() : pacer.resume()
            pipeline.engine.log(.operator, kind: .speedChanged, task: "source", action: pause ? "replay paused" : "replay resumed",
                                reason: pause ? "operator request; the replay clock stops (the pipeline drains what it has)" : "operator request; the replay clock goes on from where it stopped")
            return pause ? "replay paused (s steps, z resumes)" : "replay playing"
        case .step(let seconds):
            guard let pacer else { return rejected("step") }
            guard pacer.isPaused else { return "step works while the replay is paused (z)" }
            pacer.step(seconds: seconds)
            pipeline.engine.log(.operator, kind: .speedChanged, task: "source", action: "replay step \(seconds) s", reason: "operator request")
            return "stepped \(seconds) s"
        case .seek(let target):
            guard let pacer else { return rejected("seek") }
            let now = pacer.position.load(ordering: .relaxed)
            let epoch: Int64
            switch target {
            case .absolute(let t): epoch = t
            case .ahead(let s): epoch = now + s
            case .timeOfDay(let s): epoch = now - ((now % 86_400) + 86_400) % 86_400 + s
            }
            guard pacer.seek(to: epoch) else {
                return "seek goes forward only: \(LogTime.iso8601(epoch)) is not after \(LogTime.iso8601(now))"
            }
            pipeline.engine.log(.operator, kind: .speedChanged, task: "source", action: "replay seek to \(LogTime.iso8601(epoch))",
                                reason: "operator request; lines before it are processed at once, nothing is skipped")
            return "seeking to \(LogTime.clock(epoch))"
        }
    }

    private func rejected(_ what: String) -> String {
        pipeline.engine.log(.operator, kind: .rejected, task: "source", action: "\(what) ignored", reason: "the input is not a paced replay")
        return "\(what) applies to paced replays only"
    }

    static func speedLabel(_ v: Double) -> String {
        if !v.isFinite { return "max" }
        return v >= 10 || v == v.rounded() ? "\(Int(v.rounded()))×" : String(format: "%.1f×", v)
    }
}

/// Plays an action script against a running pipeline on its own thread, each command at its time.
final class ActionPlayer {
    private let script: ActionScript
    private let applier: CommandApplier
    private let done = NSCondition()
    private var stopped = false
    private var next = 0

    init(script: ActionScript, applier: CommandApplier) {
        self.script = script
        self.applier = applier
    }

    func start() {
        let start = Date()
        Thread { [self] in
            for (i, entry) in script.entries.enumerated() {
                done.lock()
                while !stopped && Date().timeIntervalSince(start) < entry.at {
                    _ = done.wait(until: start.addingTimeInterval(entry.at))
                }
                let stop = stopped
                done.unlock()
                if stop { return }
                applier.apply(entry.command)
                done.lock()
                next = i + 1
                done.unlock()
            }
        }.start()
    }

    /// Stops playing; returns the entries that were never applied (the run ended first).
    func stop() -> [ActionScript.Entry] {
        done.lock()
        stopped = true
        done.broadcast()
        let rest = Array(script.entries[next...])
        done.unlock()
        return rest
    }
}
