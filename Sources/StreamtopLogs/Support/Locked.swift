import Foundation

/// A value behind a lock, for state shared between threads off the hot path.
///
/// Used instead of the standard library's `Mutex`: on Linux that one locks with raw futex calls, which
/// ThreadSanitizer cannot see, so every correctly locked access showed up as a race and real races would
/// drown among them. This one locks a pthread mutex (`NSLock`), which ThreadSanitizer understands.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    /// Wraps `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, holding the lock.
    @inlinable
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lockForAccess()
        defer { unlockAfterAccess() }
        return try body(&storage)
    }

    @usableFromInline var storage: Value {
        get { value }
        _modify { yield &value }
    }

    @usableFromInline func lockForAccess() { lock.lock() }
    @usableFromInline func unlockAfterAccess() { lock.unlock() }
}
