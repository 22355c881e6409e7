import Foundation

/// The engine's threads: the source thread, the workers and the ticker, and how they sleep and wake.
extension Engine {
    // MARK: - Threads

    func runSource() {
        let src = tasks[0]
        cond.lock()
        while true {
            if checkpointDueLocked() { takeCheckpointLocked() }
            var waitStart: UInt64 = 0
            // Once it has had to wait for room, the source waits for a quarter of its outputs' capacity
            // and then reads that many blocks in a row: woken for each single free place, it slept and
            // woke once a block (~10,000 context switches in the analytics benchmark's 2,049 blocks).
            var waited = false
            while !stopping && !sourceDone && (src.paused || !src.outputsHaveRoom || (waited && !src.outputsHaveRefillRoom)) && !checkpointDueLocked() {
                waited = true
                if !src.paused && waitStart == 0 { waitStart = clock.nanos() }
                sourceWaiting = true
                waitLocked(until: checkpointSettings == nil ? nil : nextCheckpointAt)
                sourceWaiting = false
            }
            if checkpointDueLocked() {
                if waitStart != 0 { src.backpressuredNanos &+= clock.nanos() &- waitStart }
                continue
            }
            if waitStart != 0 { src.backpressuredNanos &+= clock.nanos() &- waitStart }
            if stopping || sourceDone { break }
            for e in src.outputs { e.reserved += 1 }
            src.running = 1
            cond.unlock()
            let t0 = clock.nanos()
            let result = Result { try source.next() }
            let t1 = clock.nanos()
            cond.lock()
            for e in src.outputs { e.reserved -= 1 }
            src.running = 0
            src.busyNanos &+= t1 &- t0
            switch result {
            case .success(let batch?) where batch.records == 0 && batch.bytes == 0:
                break  // an idle source's heartbeat: nothing to hand on, but a chance to take a due checkpoint
            case .success(let batch?):
                acceptFromSource(batch, duration: t1 &- t0, now: t1)
            case .success(nil):
                if !sourceDone { logLocked(.engine, .inputEnded, src.name, "input ended", "the source has no more lines") }
                sourceDone = true
            case .failure(let error):
                failure = error
                sourceDone = true
                logLocked(.engine, .inputFailed, src.name, "input failed", "\(error)")
            }
            wakeLocked()
        }
        src.finished = true
        checkFinishedLocked()
        cond.unlock()
    }

    func acceptFromSource(_ batch: Batch, duration: UInt64, now: UInt64) {
        let src = tasks[0]
        batch.sequence = src.quanta
        for e in src.outputs { e.push(batch) }
        src.recordsIn += batch.records
        src.recordsOut += batch.records
        src.bytesIn += batch.bytes
        src.bytesOut += batch.bytes
        src.quanta += 1
        src.latency.record(duration, records: batch.records, now: now)
    }

    func runWorker(slot: Int) {
        cond.lock()
        while true {
            applyMailboxLocked()
            if stopping || finished { break }
            if let (task, batch) = pickLocked() {
                // A rehearsal's extra cost is part of the quantum: the scheduler sees a slower task.
                let extra = task.injectedNanosPerRecord &* UInt64(batch.records)
                let io = task.injectedIO
                cond.unlock()
                let t0 = clock.nanos()
                let output = task.op!.process(batch, slot: slot)
                if extra > 0 { Injection.spend(extra, io: io, clock: clock) }
                let t1 = clock.nanos()
                cond.lock()
                completeLocked(task, batch, output, duration: t1 &- t0, now: t1)
                wakeAfterQuantumLocked()
            } else if checkFinishedLocked() {
                break
            } else {
                // A stalled task goes on by itself: wake for the end of the earliest stall.
                idleWorkers += 1
                waitLocked(until: nextStallEndLocked())
                idleWorkers -= 1
            }
        }
        threadExitedLocked()
        cond.unlock()
    }

    func runTicker() {
        // Ticks that saw nothing move: after `quietTicks` of them (time enough for the rates to fall to
        // zero) the ticker sleeps on the engine's condition for up to `quietTickNanos` instead of one tick,
        // woken at once by input, a command or a stop; the histories are filled in for the ticks it slept
        // through (see `publish`). Ten snapshots a second of an idle pipeline were most of its CPU.
        var quiet = 0
        var lastActivity = -1
        var skipped = 0
        while true {
            cond.lock()
            let done = stopping || finished
            let activity = activityLocked()
            cond.unlock()
            if !done { refreshResults() }
            _ = publish(tick: true, skippedTicks: skipped)
            skipped = 0
            if done {
                cond.lock()
                threadExitedLocked()
                cond.unlock()
                return
            }
            quiet = activity == lastActivity ? quiet + 1 : 0
            lastActivity = activity
            if quiet >= Self.quietTicks {
                cond.lock()
                let start = clock.nanos()
                if !stopping && !finished && activityLocked() == activity {
                    waitLocked(until: start &+ max(config.tickNanos, Self.quietTickNanos))
                }
                skipped = max(0, Int((clock.nanos() &- start) / max(1, config.tickNanos)) - 1)
                cond.unlock()
            } else {
                // On the end's condition, not in usleep: the end of the run wakes it at once. Asleep, it
                // held up the final snapshot, and so every run's end, by up to a tick (0–100 ms, a fifth
                // of a half-second benchmark run).
                cond.lock()
                if !stopping && !finished { cond.waitForEnd(seconds: Double(config.tickNanos) / 1e9) }
                cond.unlock()
            }
        }
    }

    /// Ticks without change before the ticker slows down, and its pace then.
    static let quietTicks = 20
    static let quietTickNanos: UInt64 = 1_000_000_000

    /// A number that moves whenever something a snapshot shows may have changed: batches taken or
    /// completed by any task, decisions logged (commands, pauses, checkpoints), queued commands.
    func activityLocked() -> Int {
        var n = decisionSequence &+ mailbox.count &* 7919
        for t in tasks { n = n &* 31 &+ t.quanta &+ t.inputCount &+ t.running }
        return n
    }

    func waitLocked() {
        waiters += 1
        cond.wait()
        waiters -= 1
    }

    /// Waits until woken or, with a deadline (engine clock, ns), until it passes.
    func waitLocked(until deadline: UInt64?) {
        guard let deadline else { return waitLocked() }
        let now = clock.nanos()
        guard deadline > now else { return }
        waiters += 1
        cond.wait(seconds: Double(deadline - now) / 1e9)
        waiters -= 1
    }

    func wakeLocked() {
        if waiters > 0 { cond.broadcast() }
    }

    /// After a worker's quantum: wakes the sleepers only when one of them has something to do — a second
    /// queued batch while a worker sleeps (the worker takes one itself as it loops), or room for a
    /// source waiting on its outputs (a quarter of their capacity, see `runSource`). Waking every sleeper
    /// after every quantum cost an inter-processor interrupt and a futex call per batch: about a tenth
    /// of a 2-core pipeline's time; waking the waiting source for queued batches no worker was asleep
    /// for cost 10,000 of the analytics benchmark's 31,000 context switches. A sleeper that finds nothing goes back
    /// to sleep, so waking too often is only slower; and since the worker stays awake and picks whatever
    /// is pickable, waking too rarely cannot strand a batch.
    func wakeAfterQuantumLocked() {
        guard waiters > 0 else { return }
        if checkpointWaiting { return cond.broadcast() }
        if sourceWaiting && tasks[0].outputsHaveRefillRoom { return cond.broadcast() }
        guard idleWorkers > 0 else { return }
        var queued = 0
        for t in tasks where t.queuedBatches > 0 {
            queued += t.queuedBatches
            if queued > 1 { return cond.broadcast() }
        }
    }
}
