import Foundation
import StreamtopEngine
import StreamtopLogs

/// Adapts a line source (file, stdin, follow, replay) to the engine's source protocol.
public final class LineBlockSource: StreamSource {
    /// The underlying line source.
    public let lines: LineSource
    private let clock: EngineClock
    private let format: FormatChoice?
    /// Creates the adapter; with a format choice in auto mode, the first block decides the format.
    public init(_ lines: LineSource, clock: EngineClock = MonotonicClock(), format: FormatChoice? = nil) {
        self.lines = lines
        self.clock = clock
        self.format = format
    }
    public var gives: (any BatchPayload.Type)? { LineBlock.self }

    public func next() throws -> Batch? {
        guard let block = try lines.nextBlock() else { return nil }
        format?.detectIfNeeded(block)
        return Batch(payload: block, records: block.lineCount, bytes: block.count, ingestNanos: clock.nanos())
    }
    public func stop() { lines.stop() }

    /// Steers a paced replay; other inputs refuse. Runs while the engine applies its mailbox.
    public func control(_ command: TransportCommand) -> TransportOutcome {
        guard let pacer = lines as? ReplayPacer else {
            return TransportOutcome(applied: false, action: "transport unchanged", reason: "the input is not a paced replay")
        }
        switch command {
        case .speed(let v):
            let old = pacer.speed
            let new = v ?? .infinity
            pacer.speed = new
            return TransportOutcome(applied: true, action: "replay speed \(Quantity.speedLabel(old)) → \(Quantity.speedLabel(new))", reason: "operator request", numbers: ["from": old.isFinite ? old : -1, "to": new.isFinite ? new : -1])
        case .pause(let request):
            let pause = request ?? !pacer.isPaused
            guard pacer.isPaused != pause else {
                return TransportOutcome(applied: false, action: pause ? "replay stays paused" : "replay stays playing", reason: "it already is")
            }
            pause ? pacer.pause() : pacer.resume()
            return TransportOutcome(applied: true, action: pause ? "replay paused" : "replay resumed",
                                    reason: pause ? "operator request; the replay clock stops (the pipeline drains what it has)" : "operator request; the replay clock goes on from where it stopped")
        case .step(let seconds):
            guard pacer.isPaused else { return TransportOutcome(applied: false, action: "step ignored", reason: "step works while the replay is paused") }
            pacer.step(seconds: seconds)
            return TransportOutcome(applied: true, action: "replay step \(seconds) s", reason: "operator request")
        case .seekAbsolute, .seekAhead, .seekTimeOfDay:
            let now = pacer.position.load(ordering: .relaxed)
            let epoch = LineBlockSource.seekTarget(command, from: now)
            guard pacer.seek(to: epoch) else {
                return TransportOutcome(applied: false, action: "seek ignored", reason: "seek goes forward only: \(LogTime.iso8601(epoch)) is not after \(LogTime.iso8601(now))")
            }
            return TransportOutcome(applied: true, action: "replay seek to \(LogTime.iso8601(epoch))", reason: "operator request; lines before it are processed at once, nothing is skipped")
        }
    }

    /// The event time a seek command aims at, from the current replay position.
    public static func seekTarget(_ command: TransportCommand, from now: Int64) -> Int64 {
        switch command {
        case .seekAbsolute(let t): return t
        case .seekAhead(let s): return now + s
        case .seekTimeOfDay(let s): return now - ((now % 86_400) + 86_400) % 86_400 + s
        default: return now
        }
    }
}
