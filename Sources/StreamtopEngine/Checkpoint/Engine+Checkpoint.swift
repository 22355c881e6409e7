import Foundation

/// Checkpoints: the engine's state at one block boundary, taken while the pipeline is quiet, and a
/// restarted engine set back to it.
///
/// Why quiet rather than Flink's aligned barriers flowing past running tasks: here every task of a
/// pipeline lives in one process and the queues hold a few blocks, so letting them drain costs
/// milliseconds (measured in the README), and a drained pipeline has no in-flight state at all — no
/// barrier alignment per union, no buffered slices in partitioned tasks, no windows pending a merge. The
/// source thread stops reading, waits until every queue is empty and no worker is inside an operator,
/// captures each operator's state and its own position, lets the workers go on, and writes the image
/// while they drain what comes next.
extension Engine {
    /// Takes a checkpoint every `settings.intervalNanos` and one more when the input ends cleanly. Call
    /// before `start`.
    public func enableCheckpoints(_ settings: CheckpointSettings) {
        cond.lock()
        checkpointSettings = settings
        checkpointNumber = settings.nextNumber - 1
        // A fresh run takes its first checkpoint before it reads anything: it records where the outputs
        // stood (a rejects file keeps earlier runs' lines), so a run killed before its next checkpoint is
        // cut back to that instead of starting over on top of what it had written.
        nextCheckpointAt = settings.nextNumber == 1 ? 0 : clock.nanos() &+ settings.intervalNanos
        checkpointStatus.number = max(checkpointStatus.number, settings.nextNumber - 1)
        cond.unlock()
    }

    /// Sets the engine back to a checkpoint: every task's counters and state, and the source's position.
    /// Call before `start`. Throws, changing nothing the caller keeps, when the checkpoint was taken by a
    /// pipeline of another shape (another task list, window, key…) or its state does not decode.
    @discardableResult
    public func restore(_ image: CheckpointImage, readNanos: UInt64 = 0) throws -> String {
        let t0 = clock.nanos()
        let here = checkpointShape()
        guard here == image.shape else {
            let diff = zip(here, image.shape).first { $0 != $1 }
            let what = diff.map { "the pipeline has '\($0.0)' where the checkpoint has '\($0.1)'" }
                ?? "the pipeline has \(here.count) tasks, the checkpoint \(image.shape.count)"
            throw CheckpointFailure("checkpoint \(image.number) was taken by another pipeline: \(what)")
        }
        // Inputs first, then every state; outputs are cut back only once all of it was accepted, so a
        // refused restart leaves every file as it found it.
        var resumed = "the input (not resumable)"
        if let s = source as? CheckpointableSource {
            var r = StateReader(image.source)
            do {
                resumed = try s.restorePosition(&r)
            } catch let damaged as StateReader.Damaged {
                throw CheckpointFailure("checkpoint \(image.number) is damaged: the input positions do not decode (\(damaged))")
            }
        }
        var restored: [CheckpointableOperator] = []
        for (t, saved) in zip(tasks, image.tasks) {
            guard let op = t.op as? CheckpointableOperator else { continue }
            var r = StateReader(saved.state)
            do {
                try op.restoreState(&r)
                try r.check(r.isAtEnd, "bytes left over")
            } catch let damaged as StateReader.Damaged {
                throw CheckpointFailure("checkpoint \(image.number) is damaged: the state of task '\(t.name)' does not decode (\(damaged))")
            }
            restored.append(op)
        }
        for op in restored { try op.commitRestore() }
        cond.lock()
        for (t, saved) in zip(tasks, image.tasks) where saved.counters.count == 6 {
            let c = saved.counters
            (t.recordsIn, t.recordsOut, t.filtered, t.bytesIn, t.bytesOut, t.quanta) = (c[0], c[1], c[2], c[3], c[4], c[5])
        }
        tasks[0].quanta = image.blocks
        checkpointNumber = max(checkpointNumber, image.number)
        checkpointStatus.number = image.number
        checkpointStatus.restored = image.number
        let when = Self.clockTime(image.wallTime)
        let lines = tasks[0].recordsOut
        let took = clock.nanos() &- t0
        let message = "restored checkpoint \(image.number) from \(when): \(lines.formatted()) lines, resuming \(resumed) (read in \(Self.milliseconds(readNanos)), restored in \(Self.milliseconds(took)))"
        logLocked(
            .engine, .restored, config.sourceName, "restored checkpoint \(image.number)", message,
            numbers: ["checkpoint": Double(image.number), "lines": Double(lines), "read_ms": Double(readNanos) / 1e6, "restore_ms": Double(took) / 1e6])
        cond.unlock()
        publish(tick: false)
        return message
    }

    /// One line per task: its name and state shape (what a checkpoint must match).
    func checkpointShape() -> [String] {
        tasks.map { t in
            let shape = (t.op as? CheckpointableOperator)?.stateShape ?? ""
            return "\(t.name): \(shape.isEmpty ? "-" : shape)"
        }
    }

    /// Whether a periodic checkpoint is due (lock held).
    func checkpointDueLocked() -> Bool {
        guard let settings = checkpointSettings, !stopping, !sourceDone else { return false }
        let now = clock.nanos()
        // A clock that went back (a test clock; the monotonic one cannot) must not stop checkpoints.
        if nextCheckpointAt > now &+ settings.intervalNanos { nextCheckpointAt = now &+ settings.intervalNanos }
        return now >= nextCheckpointAt
    }

    /// Every queue drained and no worker inside an operator (lock held).
    func quietLocked() -> Bool {
        for t in tasks.dropFirst() where t.running > 0 || t.queuedBatches > 0 { return false }
        return true
    }

    /// The source thread's periodic checkpoint (lock held; released while capturing and writing). Waits
    /// for the pipeline to drain; when a paused task holds blocks it cannot, so the checkpoint waits for
    /// a later attempt and says so once.
    func takeCheckpointLocked() {
        guard let settings = checkpointSettings else { return }
        let t0 = clock.nanos()
        checkpointWaiting = true
        while !stopping && !quietLocked() {
            if let held = tasks.dropFirst().first(where: { $0.paused && $0.hasInput }) {
                checkpointWaiting = false
                nextCheckpointAt = clock.nanos() &+ 1_000_000_000
                if !checkpointDeferred {
                    checkpointDeferred = true
                    logLocked(.engine, .checkpointDeferred, held.name, "checkpoint deferred", "task \(held.name) is paused with \(held.inputCount) blocks queued; the checkpoint waits until it runs again")
                }
                return
            }
            // Timed: a pause applied meanwhile wakes nobody.
            waitLocked(until: clock.nanos() &+ 100_000_000)
        }
        checkpointWaiting = false
        guard !stopping else { return }
        checkpointDeferred = false
        captureAndWriteLocked(settings, final: false, drained: clock.nanos() &- t0)
        nextCheckpointAt = clock.nanos() &+ settings.intervalNanos
    }

    /// The final checkpoint, when the input ended cleanly and every queue drained (lock held; released
    /// while writing). Taken before the operators finish, so a restarted run that reads more input
    /// carries on with the windows still open, and one that reads nothing emits them as this run does.
    func takeFinalCheckpointLocked() {
        guard let settings = checkpointSettings, !finalCheckpointTaken, failure == nil else { return }
        finalCheckpointTaken = true
        captureAndWriteLocked(settings, final: true, drained: 0)
    }

    /// Captures an image (lock held), writes it with the lock released, and logs the outcome. `drained` is
    /// how long the source waited for the queues to empty (workers were busy meanwhile); the capture is the
    /// true pause, when no worker can run.
    private func captureAndWriteLocked(_ settings: CheckpointSettings, final: Bool, drained: UInt64) {
        let t0 = clock.nanos()
        checkpointNumber += 1
        let number = checkpointNumber, blocks = tasks[0].quanta
        let counters = tasks.map { [$0.recordsIn, $0.recordsOut, $0.filtered, $0.bytesIn, $0.bytesOut, $0.quanta] }
        let capture = { self.capture(number: number, blocks: blocks, counters: counters, final: final) }
        let image: CheckpointImage
        if final {
            // The end of the run: workers arriving at the end meanwhile would finish the operators, so
            // the lock stays held.
            image = capture()
        } else {
            // Captured without the lock, so the ticker keeps publishing and commands keep arriving while a
            // large state is copied. Nothing can touch an operator meanwhile: every queue is empty and
            // only this thread feeds them; `shutdown` waits for `capturing` before it finishes them.
            capturing = true
            cond.unlock()
            image = capture()
            cond.lock()
            capturing = false
            cond.broadcast()
        }
        let t1 = clock.nanos()
        cond.unlock()
        let written = settings.write(image)
        let t2 = clock.nanos()
        cond.lock()
        recordCheckpointLocked(image, written, drain: drained, capture: t1 &- t0, write: t2 &- t1)
    }

    /// Captures the image (pipeline quiet: nothing runs an operator meanwhile; the ticker only reads
    /// results, which the operators guard); the counters were read under the lock.
    private func capture(number: Int, blocks: Int, counters: [[Int]], final: Bool) -> CheckpointImage {
        var position = StateWriter()
        let src = source as? CheckpointableSource
        src?.savePosition(&position)
        let list = zip(tasks, counters).map { t, c -> CheckpointImage.Task in
            var w = StateWriter()
            let op = t.op as? CheckpointableOperator
            op?.saveState(&w)
            return CheckpointImage.Task(name: t.name, shape: op?.stateShape ?? "", counters: c, state: w.bytes)
        }
        return CheckpointImage(
            number: number, wallTime: Date().timeIntervalSince1970, blocks: blocks, source: position.bytes,
            sourceSummary: src?.positionSummary ?? "the input", tasks: list, final: final)
    }

    private func recordCheckpointLocked(_ image: CheckpointImage, _ written: Result<Int, CheckpointFailure>, drain: UInt64, capture: UInt64, write: UInt64) {
        let lines = tasks[0].recordsOut
        switch written {
        case .success(let bytes):
            checkpointStatus.number = image.number
            checkpointStatus.time = Double(clock.nanos() &- startNanos) / 1e9
            checkpointStatus.drainNanos = drain
            checkpointStatus.pauseNanos = capture
            checkpointStatus.writeNanos = write
            checkpointStatus.bytes = bytes
            checkpointStatus.failure = nil
            logLocked(
                .engine, .checkpoint, config.sourceName, "checkpoint \(image.number)",
                "\(lines.formatted()) lines, \(image.sourceSummary); drained in \(Self.milliseconds(drain)), captured in \(Self.milliseconds(capture)) (the pause), written in \(Self.milliseconds(write)), \(bytes.formatted()) bytes\(image.final ? " (final)" : "")",
                numbers: ["checkpoint": Double(image.number), "drain_ms": Double(drain) / 1e6, "pause_ms": Double(capture) / 1e6, "write_ms": Double(write) / 1e6, "bytes": Double(bytes), "lines": Double(lines)])
        case .failure(let f):
            checkpointNumber -= 1
            checkpointStatus.failure = f.description
            checkpointStatus.failures += 1
            logLocked(.engine, .checkpointFailed, config.sourceName, "checkpoint failed", "\(f.description); the run goes on and the next checkpoint tries again")
        }
    }

    static func milliseconds(_ ns: UInt64) -> String {
        let ms = Double(ns) / 1e6
        return ms < 10 ? String(format: "%.1f ms", ms) : "\(Int(ms.rounded())) ms"
    }

    /// Local wall-clock time of day, `14:03:10` (the decision log's, the dashboard's and attach's).
    public static func clockTime(_ unix: Double) -> String {
        var t = time_t(unix)
        var parts = tm()
        localtime_r(&t, &parts)
        // Without `String(format:)`: the decisions panel formats a time per row per frame, and through
        // Foundation that was a tenth of a frame.
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
