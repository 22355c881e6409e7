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
public final class ReplayPacer: LineSource {
    private let upstream: LineSource
    private let speedBits = Atomic<UInt64>(1.0.bitPattern)
    private let stopped = Atomic<Bool>(false)
    /// The latest event time handed out (UTC seconds), readable from any thread; 0 before the first.
    public let position = Atomic<Int64>(0)
    /// Wall-clock seconds of silence in the recording beyond which the replay jumps ahead.
    public var maxGapSeconds: Double = 3
    /// Called (on the source thread) with a human-readable event, such as a skipped gap.
    public var onEvent: ((String) -> Void)?

    private var pending: LineBlock?
    private var pendingCursor = 0
    private var anchorEvent: Int64 = 0
    private var anchorWall: UInt64 = 0
    private var anchorSpeed: Double = 1
    private var anchored = false
    private var lastEvent: Int64 = 0
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

    /// Paces `upstream` at `speed` times the recording's own rate.
    public init(_ upstream: LineSource, speed: Double) {
        self.upstream = upstream
        speedBits.store(speed.bitPattern, ordering: .relaxed)
    }

    /// The replay speed factor; `.infinity` hands lines out as fast as they are taken.
    public var speed: Double {
        get { Double(bitPattern: speedBits.load(ordering: .relaxed)) }
        set { speedBits.store(max(0.01, newValue).bitPattern, ordering: .relaxed) }
    }

    public var label: String { upstream.label }

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
                if next.sourceOffset == 0 { restartClock = true }
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
                let due = dueWall(t)
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
                sourceOffset: block.sourceOffset + Int64(pendingCursor), firstLineNumber: block.firstLineNumber)
        }
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

    /// The event time of a line: the first `[...]` holding a valid timestamp, else nil (then it is due at once).
    private func eventTime(_ base: UnsafePointer<UInt8>, _ start: Int, _ stop: Int) -> Int64? {
        guard stop > start, let open = memchr(base + start, Int32(UInt8(ascii: "[")), stop - start) else { return nil }
        let i = base.distance(to: open.assumingMemoryBound(to: UInt8.self)) + 1
        guard i + 27 <= stop, base[i + 26] == UInt8(ascii: "]") else { return nil }
        return LogTime.parseCLF(base + i, count: 26)
    }
}
