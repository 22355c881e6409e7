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

    /// With checkpoints, a followed file that stays quiet hands the engine an empty batch this often (s),
    /// so a due checkpoint is taken even while no line arrives.
    public var heartbeatSeconds: Double?

    /// A rehearsed burst: until when (engine clock), the speed to go back to, and the burst's own speed.
    /// Set by `control` (while the engine applies its mailbox), ended by `next` (the source thread).
    private let burst = Locked<(until: UInt64, restore: Double, speed: Double)?>(nil)
    /// When the replay was paused during a burst: the burst's time stands still with the replay clock
    /// (30 s of burst are 30 s of replay, however long an operator pauses in between).
    private let burstPausedAt = Locked<UInt64?>(nil)

    public func next() throws -> Batch? {
        endBurstIfDue()
        if let beat = heartbeatSeconds, let follow = lines as? FollowSource {
            guard let block = try follow.nextBlockOrNil(within: beat) else {
                return follow.isStopped ? try lines.nextBlock().map(batch) : Batch(payload: LineBlock(copying: []), records: 0, bytes: 0, ingestNanos: clock.nanos())
            }
            return batch(block)
        }
        guard let block = try lines.nextBlock() else { return nil }
        return batch(block)
    }

    private func batch(_ block: LineBlock) -> Batch {
        format?.detectIfNeeded(block)
        return Batch(payload: block, records: block.lineCount, bytes: block.count, ingestNanos: clock.nanos())
    }
    public func stop() { lines.stop() }

    /// Whether a stop should drain what was read rather than drop it: a partitioned input (Kafka)
    /// commits offsets only for lines that were processed.
    public var drainsOnStop: Bool { partitioned != nil }

    /// A Kafka input's partitions and lag (nil for files).
    public var partitionStatus: PartitionStatus? { partitioned?.partitionStatus }

    private var partitioned: PartitionedSource? { lines.innermost as? PartitionedSource }

    /// Steers a paced replay; other inputs refuse. Runs while the engine applies its mailbox.
    public func control(_ command: TransportCommand) -> TransportOutcome {
        guard let pacer = lines as? ReplayPacer else {
            if case .burst = command {
                return TransportOutcome(applied: false, action: "inject burst refused", reason: "a burst speeds up a paced replay (replay FILE --speed X); this input is read as fast as it comes (a live input, or --speed max)")
            }
            return TransportOutcome(applied: false, action: "transport unchanged", reason: "the input is not a paced replay")
        }
        switch command {
        case .burst(let factor, let seconds):
            let old = burst.withLock { $0 }
            if seconds == 0 {
                // The end of a rehearsal: back to the speed before, unless the operator set another since.
                guard let b = old else { return TransportOutcome(applied: false, action: "no burst", reason: "none was running") }
                pacer.speed = Self.afterBurst(pacer.speed, b)
                burst.withLock { $0 = nil }
                return TransportOutcome(applied: true, action: "burst ended", reason: "replay speed \(Quantity.speedLabel(pacer.speed))")
            }
            let base = old?.restore ?? pacer.speed
            guard base.isFinite else {
                return TransportOutcome(applied: false, action: "inject burst refused", reason: "the replay already runs at max speed; set a speed first (speed 10)")
            }
            let fast = min(Quantity.speeds.upperBound, base * factor)
            pacer.speed = fast
            let now = clock.nanos()
            burst.withLock { $0 = (now &+ UInt64(seconds * 1e9), base, fast) }
            burstPausedAt.withLock { $0 = pacer.isPaused ? now : nil }
            let waits = pacer.isPaused ? "; its time starts when the replay resumes" : ""
            return TransportOutcome(
                applied: true, action: "inject burst \(Quantity.speedLabel(factor)) for \(Int(seconds.rounded())) s",
                reason: "rehearsal: replay speed \(Quantity.speedLabel(base)) → \(Quantity.speedLabel(fast)) (lines arrive \(Quantity.speedLabel(fast / base)) as fast), then back\(waits)",
                numbers: ["factor": factor, "seconds": seconds, "from": base, "to": fast, "paused": pacer.isPaused ? 1 : 0])
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
            // A burst's time stops with the replay clock and goes on with it.
            let now = clock.nanos()
            let bursting = burst.withLock { $0 != nil }
            if pause && bursting {
                burstPausedAt.withLock { $0 = now }
            } else if !pause, let at = burstPausedAt.withLock({ v -> UInt64? in defer { v = nil }; return v }) {
                burst.withLock { if $0 != nil { $0!.until &+= now &- at } }
            }
            let also = bursting ? ", and so does the burst's time" : ""
            return TransportOutcome(applied: true, action: pause ? "replay paused" : "replay resumed",
                                    reason: pause ? "operator request; the replay clock stops\(also) (the pipeline drains what it has)" : "operator request; the replay clock goes on from where it stopped\(also)",
                                    numbers: ["paused": pause ? 1 : 0])
        case .step(let seconds):
            guard pacer.isPaused else { return TransportOutcome(applied: false, action: "step ignored", reason: "step works while the replay is paused") }
            pacer.step(seconds: seconds)
            return TransportOutcome(applied: true, action: "replay step \(seconds) s", reason: "operator request")
        case .seekAbsolute, .seekAhead, .seekTimeOfDay:
            let now = pacer.position.load(ordering: .relaxed)
            let epoch = LineBlockSource.seekTarget(command, from: now)
            if let end = pacer.recordingEnd, epoch > end {
                return TransportOutcome(applied: false, action: "seek ignored", reason: "the recording ends at \(LogTime.iso8601(end)): \(LogTime.iso8601(epoch)) is beyond it")
            }
            guard pacer.seek(to: epoch) else {
                return TransportOutcome(applied: false, action: "seek ignored", reason: "seek goes forward only: \(LogTime.iso8601(epoch)) is not after \(LogTime.iso8601(now))")
            }
            return TransportOutcome(applied: true, action: "replay seek to \(LogTime.iso8601(epoch))", reason: "operator request; lines before it are processed at once, nothing is skipped")
        }
    }

    /// The speed once a burst ends: the one before it, or, when the operator changed the speed during the
    /// burst (say 50× → 100×), that change kept and the burst's factor taken off (20×); max stays max.
    static func afterBurst(_ now: Double, _ b: (until: UInt64, restore: Double, speed: Double)) -> Double {
        guard now.isFinite else { return now }
        if now == b.speed { return b.restore }
        return min(Quantity.speeds.upperBound, max(Quantity.speeds.lowerBound, now * b.restore / b.speed))
    }

    /// Ends a rehearsed burst whose time is up: the speed goes back (unless the operator set another).
    private func endBurstIfDue() {
        guard let pacer = lines as? ReplayPacer, !pacer.isPaused,
            let b = burst.withLock({ b -> (until: UInt64, restore: Double, speed: Double)? in
                guard let v = b, clock.nanos() >= v.until else { return nil }
                b = nil
                return v
            })
        else { return }
        pacer.speed = Self.afterBurst(pacer.speed, b)
        pacer.onEvent?("burst over: replay speed \(Quantity.speedLabel(pacer.speed))")
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

extension LineBlockSource: CheckpointableSource {
    public var isResumable: Bool { (lines as? ResumableLineSource)?.isResumable ?? false }

    public func savePosition(_ w: inout StateWriter) {
        let list = (lines as? ResumableLineSource)?.positions() ?? []
        w.int(list.count)
        for p in list {
            w.string(p.path)
            w.int(p.index)
            w.u64(p.device)
            w.u64(p.inode)
            w.i64(p.offset)
            w.int(p.lines)
            w.bool(p.skipping)
            w.u64(p.fingerprint)
            w.bool(p.rotated)
        }
    }

    public func restorePosition(_ r: inout StateReader) throws -> String {
        let n = try r.count(max: 1 << 20)
        var list: [FilePosition] = []
        for _ in 0..<n {
            list.append(FilePosition(
                path: try r.string(), index: try r.int(), device: try r.u64(), inode: try r.u64(), offset: try r.i64(),
                lines: try r.int(), skipping: try r.bool(), fingerprint: try r.u64(), rotated: try r.bool()))
        }
        guard let source = lines as? ResumableLineSource, source.isResumable else {
            return "standard input from where it stands (what it held while streamtop was down is not read again)"
        }
        return try source.resume(at: list)
    }

    public var positionSummary: String {
        guard let source = lines as? ResumableLineSource, source.isResumable else { return "standard input (not resumable)" }
        let list = source.positions().filter { $0.offset >= 0 }
        guard !list.isEmpty else { return "no file open yet" }
        return source.describe(list)
    }
}
