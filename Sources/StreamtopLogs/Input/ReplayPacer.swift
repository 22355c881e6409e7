import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Replays recorded logs by their own timestamps, scaled by a speed factor.
///
/// Wraps another source and hands its lines out when the replay clock reaches their time. The speed can
/// be changed while running from any thread. Out-of-order timestamps (common in real logs, where lines
/// are written when requests end) are due at once rather than rewinding the clock. Long idle stretches
/// of the recording are skipped instead of waited out, and said so.
public final class ReplayPacer: WrappingLineSource {
    private let upstream: LineSource
    private let speedBits = Atomic<UInt64>(1.0.bitPattern)
    private let stopped = Atomic<Bool>(false)
    /// The latest event time handed out (UTC seconds), readable from any thread; 0 before the first.
    public let position = Atomic<Int64>(0)
    /// Wall-clock seconds of silence in the recording beyond which the replay jumps ahead.
    public var maxGapSeconds: Double = 3
    /// Called (on the source thread) with a human-readable event, such as a skipped gap.
    public var onEvent: ((String) -> Void)?
    /// The last event time of the recording, when known (set before the replay starts): a seek beyond it
    /// is refused, since it would never be reached (a looping replay would run at full speed forever).
    public var recordingEnd: Int64?
    /// What is paced (a `FileSource` for a replay of files).
    public var source: LineSource { upstream }

    private var pending: LineBlock?
    private var pendingCursor = 0
    /// 1-based number of the physical line at `pendingCursor`.
    private var pendingLine = 1

    /// Transport requests from other threads (dashboard, action script), read by the source thread.
    private struct Transport {
        var paused = false
        var stepSeconds: Int64 = 0
        var seekTarget: Int64?
    }
    private let transport = Locked(Transport())
    /// Source-thread state of the transport: whether it saw the pause, where the clock stood.
    private var sawPause = false
    private var frozenTime: Int64 = 0
    private var stepUntil: Int64?
    private var anchorEvent: Int64 = 0
    private var anchorWall: UInt64 = 0
    private var anchorSpeed: Double = 1
    private var anchored = false
    private var lastEvent: Int64 = 0
    /// The pass of a looping replay the pending block belongs to.
    private var lastPass = 1
    /// Largest block handed out while pacing, in lines.
    public var maxLinesPerBlock = 4096
    /// Set when a block starts a new input (or the same one again, when looping): the replay clock
    /// restarts at that input's first timestamp instead of treating it as out of order.
    private var restartClock = false
    private var skippedSeconds: Int64 = 0
    private var skippedGaps = 0
    private var lastSkipReport: UInt64 = 0
    /// Lines due within this many nanoseconds are handed out together, so slow replays still move
    /// blocks of lines rather than single lines.
    public var coalesceNanos: UInt64 = 30_000_000

    /// Reads a line's event time: `(base, start, end)` → UTC seconds, or nil (the line is then due at once).
    public typealias TimeReader = (UnsafePointer<UInt8>, Int, Int) -> Int64?
    private let timeOf: TimeReader

    /// Paces `upstream` at `speed` times the recording's own rate, reading each line's time with `timeOf`
    /// (the run's log format: JSON, ISO 8601, epoch and custom formats pace like combined logs).
    public init(_ upstream: LineSource, speed: Double, timeOf: TimeReader? = nil) {
        self.upstream = upstream
        self.timeOf = timeOf ?? LogFormat.combined.eventTime
        speedBits.store(speed.bitPattern, ordering: .relaxed)
    }

    /// The replay speed factor; `.infinity` hands lines out as fast as they are taken.
    public var speed: Double {
        get { Double(bitPattern: speedBits.load(ordering: .relaxed)) }
        set { speedBits.store(max(0.01, newValue).bitPattern, ordering: .relaxed) }
    }

    public var label: String { upstream.label }

    /// Pauses the replay clock: no lines are handed out until `resume` (or a `step`).
    public func pause() { transport.withLock { $0.paused = true } }

    /// Resumes from where the clock was paused (or stepped to), without a burst to catch up.
    public func resume() { transport.withLock { $0.paused = false } }

    /// Whether the replay is paused.
    public var isPaused: Bool { transport.withLock { $0.paused } }

    /// While paused, hands out the next `seconds` of the recording at once.
    public func step(seconds: Int64) { transport.withLock { $0.stepSeconds += max(1, seconds) } }

    /// Jumps ahead to an event time: lines before it are processed at once (nothing is skipped), then the
    /// replay goes on at its speed from there. Returns false for a time not ahead of the replay.
    @discardableResult
    public func seek(to epoch: Int64) -> Bool {
        guard epoch > position.load(ordering: .relaxed) else { return false }
        transport.withLock { $0.seekTarget = epoch }
        return true
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
        upstream.stop()
    }

    public func nextBlock() throws -> LineBlock? {
        while !stopped.load(ordering: .relaxed) {
            if pending == nil {
                guard let next = try upstream.nextBlock() else {
                    reportSkips(force: true)
                    return nil
                }
                pending = next
                pendingCursor = 0
                pendingLine = next.firstLineNumber
                if next.sourceOffset == 0 {
                    restartClock = true
                    // A looping replay started its files again: a seek still pending was beyond the
                    // recording, and would make every pass run at full speed.
                    let pass = (upstream as? FileSource)?.passes.load(ordering: .relaxed) ?? 1
                    if pass != lastPass, let target = transport.withLock({ $0.seekTarget }) {
                        transport.withLock { $0.seekTarget = nil }
                        onEvent?("seek to \(LogTime.iso8601(target)) cancelled: the recording ended before reaching it")
                    }
                    lastPass = pass
                }
            }
            if let out = takeDueLines() { return out }
        }
        return nil
    }

    /// Returns the lines of the pending block that are due now, waiting (in short slices, so speed changes
    /// and stops take effect) until at least one is.
    private func takeDueLines() -> LineBlock? {
        guard let block = pending else { return nil }
        let base = block.base
        var start = pendingCursor
        var taken = 0
        var takenEnd = pendingCursor
        while start < block.count {
            let stop = lineEnd(base, start, block.count)
            let t = eventTime(base, start, stop)
            if let t {
                let ctl = transport.withLock { c -> Transport in
                    let copy = c
                    c.stepSeconds = 0
                    return copy
                }
                if ctl.paused {
                    if !sawPause {
                        // Freeze the replay clock where it stands.
                        sawPause = true
                        frozenTime = anchored ? max(currentReplayTime(), lastEvent) : t
                    }
                    if ctl.stepSeconds > 0 { stepUntil = max(frozenTime, stepUntil ?? frozenTime) + ctl.stepSeconds }
                    if let until = stepUntil, t <= until {
                        // A step hands out the next stretch of the recording at once.
                    } else {
                        if let until = stepUntil {
                            frozenTime = until
                            stepUntil = nil
                        }
                        if taken > 0 { break }
                        usleep(20_000)
                        if stopped.load(ordering: .relaxed) { return nil }
                        continue
                    }
                } else if sawPause {
                    // Resume: the clock goes on from where it was frozen (or stepped to).
                    sawPause = false
                    stepUntil = nil
                    reanchor(event: frozenTime, wall: monotonicNanos())
                }
                // While seeking, everything before the target is processed at once (nothing is skipped).
                var pace = !ctl.paused
                if let target = ctl.seekTarget {
                    if t >= target {
                        transport.withLock { $0.seekTarget = nil }
                        onEvent?("replay reached \(LogTime.iso8601(target))")
                        reanchor(event: target, wall: monotonicNanos())
                        if sawPause { frozenTime = target }
                    } else {
                        pace = false
                    }
                }
                let due = pace ? dueWall(t) : 0
                let now = monotonicNanos()
                if due > now &+ coalesceNanos {
                    if taken > 0 { break }  // hand out what is due, wait for the rest next call
                    let wait = Double(due - now) / 1e9
                    if wait > maxGapSeconds {
                        skippedSeconds += t - lastEvent
                        skippedGaps += 1
                        reportSkips(force: false)
                        reanchor(event: t, wall: now)
                    } else {
                        usleep(UInt32(min(wait, 0.05) * 1e6))
                        if stopped.load(ordering: .relaxed) { return nil }
                        continue
                    }
                }
                if t > lastEvent { lastEvent = t }
                position.store(lastEvent, ordering: .relaxed)
            }
            taken += 1
            takenEnd = min(stop + 1, block.count)
            start = takenEnd
            if taken >= maxLinesPerBlock { break }
        }
        guard taken > 0 else {
            pending = nil
            return nil
        }
        let out: LineBlock
        if pendingCursor == 0 && takenEnd >= block.count {
            out = block
        } else {
            let n = takenEnd - pendingCursor
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 16)
            buffer.baseAddress!.copyMemory(from: block.bytes.baseAddress! + pendingCursor, byteCount: n)
            out = LineBlock(
                owning: buffer, count: n, sourceIndex: block.sourceIndex,
                sourceOffset: block.sourceOffset + Int64(pendingCursor), firstLineNumber: pendingLine)
            out.keepAlive = block.keepAlive
            out.partition = block.partition
            out.pass = block.pass
        }
        pendingLine += taken
        pendingCursor = takenEnd
        if pendingCursor >= block.count { pending = nil }
        return out
    }

    /// Reports skipped silences at once the first time, then at most every 30 s, so a recording full of
    /// gaps (sampled logs have one every hour) does not flood the decision log.
    private func reportSkips(force: Bool) {
        guard skippedGaps > 0 else { return }
        let now = monotonicNanos()
        guard force || lastSkipReport == 0 || now &- lastSkipReport > 30_000_000_000 else { return }
        let gaps = skippedGaps == 1 ? "" : " (\(skippedGaps) gaps)"
        onEvent?("replay skipped \(skippedSeconds) s of silence in the recording\(gaps)")
        skippedGaps = 0
        skippedSeconds = 0
        lastSkipReport = now
    }

    /// When, on the monotonic clock, a line with event time `t` is due.
    private func dueWall(_ t: Int64) -> UInt64 {
        let s = speed
        if !anchored || s != anchorSpeed {
            // Start, or a speed change: keep the replay position continuous from here.
            reanchor(event: anchored ? currentReplayTime() : t, wall: monotonicNanos())
            anchorSpeed = s
        }
        if restartClock {
            // A new input (or the same one again): its timeline starts here.
            restartClock = false
            reanchor(event: t, wall: monotonicNanos())
            lastEvent = t
        }
        if t < lastEvent { return 0 }  // out of order: due at once
        let delta = Double(t - anchorEvent) / anchorSpeed
        return anchorWall &+ UInt64(min(max(0, delta), 1e9) * 1e9)
    }

    private func currentReplayTime() -> Int64 {
        // At max speed (infinite factor) the replay is wherever the last line handed out was.
        guard anchorSpeed.isFinite else { return lastEvent }
        let elapsed = Double(monotonicNanos() - anchorWall) / 1e9
        return anchorEvent + Int64(min(elapsed * anchorSpeed, 1e15))
    }

    private func reanchor(event: Int64, wall: UInt64) {
        anchorEvent = event
        anchorWall = wall
        anchorSpeed = speed
        anchored = true
    }

    private func lineEnd(_ base: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int {
        if let nl = memchr(base + start, 0x0A, count - start) {
            return base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
        }
        return count
    }

    private func eventTime(_ base: UnsafePointer<UInt8>, _ start: Int, _ stop: Int) -> Int64? {
        stop > start ? timeOf(base, start, stop) : nil
    }
}

extension ReplayPacer: ResumableLineSource {
    public var isResumable: Bool { (upstream as? ResumableLineSource)?.isResumable ?? false }

    /// Where the lines handed out end: inside the block being paced out, or where the input stands.
    public func positions() -> [FilePosition] {
        if let block = pending, let files = upstream as? FileSource {
            return files.listed(current: files.position(index: block.sourceIndex, offset: block.sourceOffset + Int64(pendingCursor), lines: pendingLine - 1))
        }
        let inner = (upstream as? ResumableLineSource)?.positions() ?? []
        if let block = pending, let part = block.partition {
            // A partition's block being paced out: its position is the first message not handed out yet.
            let taken = pendingLine - block.firstLineNumber
            let at = taken >= 0 && taken < part.offsets.count ? part.offsets[taken] : part.from
            guard at >= 0 else { return inner }
            return inner.map { pos in
                guard pos.index == part.id else { return pos }
                var p = pos
                p.offset = min(p.offset, at)
                return p
            }
        }
        return inner
    }

    public func resume(at positions: [FilePosition]) throws -> String {
        guard let files = upstream as? ResumableLineSource else { return "from the start" }
        return try files.resume(at: positions)
    }
}
