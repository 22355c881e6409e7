#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// The engine's lock and conditions: `NSCondition`'s interface over a pthread mutex, with deadlines on
/// the monotonic clock (a wall-clock step neither stretches nor cuts a wait), and a second condition on
/// the same lock, `ended`, for those who wait for the run to end (a headless run's main thread). On the
/// one condition they were woken by every batch's broadcast only to find the run still going: about
/// 6,000 of the analytics benchmark's 12,600 voluntary context switches.
final class EngineCondition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let ended: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        ended = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var conditionAttributes = pthread_condattr_t()
        pthread_condattr_init(&conditionAttributes)
        pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &conditionAttributes)
        pthread_cond_init(ended, &conditionAttributes)
        pthread_condattr_destroy(&conditionAttributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_cond_destroy(ended)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        ended.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }

    func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits for a broadcast (or a spurious wake-up); the lock must be held.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for at most `seconds`; false when the time ran out.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        pthread_cond_timedwait(condition, mutex, [Self.deadline(seconds)]) != ETIMEDOUT
    }

    /// Waits for `broadcastEnded` (or a spurious wake-up); the lock must be held.
    func waitForEnd() { pthread_cond_wait(ended, mutex) }

    /// Waits for `broadcastEnded` until `date` at the latest; false when the time ran out.
    @discardableResult
    func waitForEnd(until date: Date) -> Bool {
        pthread_cond_timedwait(ended, mutex, [Self.deadline(date.timeIntervalSinceNow)]) != ETIMEDOUT
    }

    /// Waits for `broadcastEnded` for at most `seconds`; false when the time ran out.
    @discardableResult
    func waitForEnd(seconds: Double) -> Bool {
        pthread_cond_timedwait(ended, mutex, [Self.deadline(seconds)]) != ETIMEDOUT
    }

    /// Wakes those waiting for the end: the run finished or stopped, or a thread left.
    func broadcastEnded() { pthread_cond_broadcast(ended) }

    /// The monotonic time `seconds` from now (at most a year).
    private static func deadline(_ seconds: Double) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanos = Int(now.tv_nsec) + Int(max(0, min(seconds, 86_400 * 365)) * 1e9)
        return timespec(tv_sec: now.tv_sec + nanos / 1_000_000_000, tv_nsec: nanos % 1_000_000_000)
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}
