#if canImport(Glibc)
    import Glibc
#endif

/// A rehearsal: trouble put into the pipeline on purpose, to see what the scheduler (or an operator) does
/// about it. Injections go through the mailbox like every command, are logged when applied, stay listed
/// in every snapshot while active (the dashboard shows a badge), and never lose a record: a slowed or
/// stalled task processes everything late, an injected malformed line is counted as malformed.
public enum Injection: Sendable, Equatable {
    /// Extra cost per record in a task: spinning a core (`io: false`, a CPU-bound stage) or waiting
    /// (`io: true`, an I/O-bound stage, which gains from more workers than cores).
    case slow(TaskID, nanosPerRecord: UInt64, io: Bool)
    /// The task takes no batch for a while (its queue fills, upstream blocks), then goes on by itself.
    case stall(TaskID, seconds: Double)
    /// The replay runs `factor` times faster for a while (a paced replay only).
    case burst(factor: Double, seconds: Double)
    /// Marks a share of the lines malformed, by line number (reason `injected`).
    case malformed(percent: Double)
    /// Makes a share of the records come from one client: a hot key for partitioned state.
    case skew(percent: Double)
    /// Ends every injection.
    case clear

    /// Spends `nanos` of injected cost on the calling worker: advances a manual clock (tests, step mode),
    /// else spins or sleeps.
    static func spend(_ nanos: UInt64, io: Bool, clock: EngineClock) {
        if let manual = clock as? ManualClock { return manual.advance(by: nanos) }
        if io {
            var want = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
            var left = timespec()
            while nanosleep(&want, &left) != 0 && errno == EINTR { want = left }
        } else {
            let end = clock.nanos() &+ nanos
            while clock.nanos() < end {}
        }
    }
}

/// An operator that takes part in rehearsals (the parse task: malformed lines, hot keys).
public protocol Rehearsable: AnyObject {
    /// Applies the injection if it concerns this operator (`clear` ends all of its own); returns what it
    /// does now in words, or nil when the injection is not for it.
    func rehearse(_ injection: Injection) -> String?
}
