import Foundation
import Synchronization

/// When someone last looked at a headless instance through its service endpoint (a snapshot, the
/// dashboard's model for `streamtop attach`, or a line of the stream). A followed file is read in longer
/// batches while nobody looks (see `FollowSource.unwatched`).
final class LookClock: Sendable {
    private let last = Atomic<UInt64>(0)

    /// Someone looked now.
    func touch() { last.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }

    /// Whether someone looked within the last `seconds`.
    func lookedWithin(seconds: Double) -> Bool {
        let t = last.load(ordering: .relaxed)
        return t != 0 && DispatchTime.now().uptimeNanoseconds &- t <= UInt64(seconds * 1e9)
    }
}
