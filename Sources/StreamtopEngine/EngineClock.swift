#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// A source of monotonic time in nanoseconds. Tests use `ManualClock` for deterministic scenarios.
public protocol EngineClock: AnyObject, Sendable {
    /// Monotonic nanoseconds.
    func nanos() -> UInt64
}

/// The system's monotonic clock.
public final class MonotonicClock: EngineClock {
    /// Creates the clock.
    public init() {}
    public func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A clock that moves only when told to. Thread-safe.
public final class ManualClock: EngineClock {
    private let now = Atomic<UInt64>(0)
    /// Creates a clock at `start` ns.
    public init(start: UInt64 = 0) { now.store(start, ordering: .relaxed) }
    public func nanos() -> UInt64 { now.load(ordering: .relaxed) }
    /// Moves the clock forward.
    public func advance(by ns: UInt64) { now.add(ns, ordering: .relaxed) }
}
