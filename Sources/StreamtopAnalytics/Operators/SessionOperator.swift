import Foundation
import Synchronization
import StreamtopEngine
import StreamtopLogs

/// Visits: a user (by default client and user agent) starts a visit with a request more than `gap`
/// (30 minutes by default) after their previous one. Per event-time window it reports requests, visits
/// started, distinct users and users active within `gap` of the window's end — or, with `perUser`, one row
/// per user with their requests and visits in the window instead. Live, it knows how many users are active now.
///
/// State is one entry per user active within the gap (expired as the watermark passes), plus the open
/// windows, so memory follows the active population, not the length of the run. Records later than the
/// allowed lateness are counted as late and change nothing.
public final class SessionOperator: OrderedOperator {
    /// What the task computes.
    public struct Spec: Sendable, Equatable {
        /// What identifies a user.
        public var user: RecordField = .user
        /// Inactivity that ends a visit, seconds.
        public var gap: Int64 = 1800
        /// Window length, seconds.
        public var every: Int64 = 300
        /// Allowed lateness, seconds.
        public var lateness: Int64 = 60
        /// Also write one row per user and window.
        public var perUser = false
        /// Users listed per window with `perUser` (the busiest first).
        public var limit = 100_000

        /// Defaults: visits by client and user agent, 30-minute gap, 5-minute windows.
        public init() {}
    }

    final class Window {
        var requests = 0
        var visits = 0
        var users = DistinctCounter()
        /// Per user (with `perUser`): requests in the counter, visits alongside.
        var perUser: ByteKeyCounter?
        var perUserVisits: [Int] = []

        /// Adds another partition's window (its users are not in this one: a user has one partition).
        static func merge(_ a: Window, _ b: Window) {
            a.requests += b.requests
            a.visits += b.visits
            a.users.merge(b.users)
            guard let theirs = b.perUser else { return }
            if a.perUser == nil { a.perUser = ByteKeyCounter(initialCapacity: 256) }
            a.perUser!.merge(theirs) { i, index in
                if index == a.perUserVisits.count { a.perUserVisits.append(0) }
                a.perUserVisits[index] += b.perUserVisits[i]
            }
        }
    }

    /// One partition's users: last request time per user hash, for users active within the gap.
    private final class Users {
        let lastSeen = HashTable64(capacity: 1024)
        var sweptAt = Int64.min
        /// Users held now, refreshed as state expires (read by the dashboard while the worker runs).
        let tracked = Atomic<Int>(0)
    }

    /// What this task computes.
    public let spec: Spec
    private var windows: PartitionedWindows<Window>!
    private let users: [Users]
    /// Users of the last windows emitted, to count users active within the gap of a window's end.
    private var recent: [(start: Int64, users: DistinctCounter, sketch: HyperLogLog)] = []
    private let visitsTotal = Atomic<Int>(0)

    /// Creates the task.
    /// With several `partitions`, users are split by their hash: each partition keeps its users' visits.
    public init(name: String = "visits", spec: Spec, sink: ResultSink? = nil, partitions: Int = 1) {
        self.spec = spec
        let perUser = spec.perUser
        let count = max(1, partitions)
        users = (0..<count).map { _ in Users() }
        super.init(name: name, sink: sink, partitions: partitions)
        windows = PartitionedWindows(partitions: count, size: spec.every, lateness: spec.lateness, merge: Window.merge, make: {
            let w = Window()
            if perUser { w.perUser = ByteKeyCounter(initialCapacity: 256) }
            return w
        }) { [unowned self] in self.emitWindow($0, $1, $2, $3) }
        // A request starts a visit or not by the user's requests within the gap before it: a reader
        // resuming at a Kafka group's offset must read those again (where the broker keeps the floors).
        windows.holdAfterEnd = spec.gap + spec.every
    }

    /// Users with a request within the gap of the newest event (refreshed as state expires).
    public var activeUsers: Int { users.reduce(0) { $0 + $1.tracked.load(ordering: .relaxed) } }

    public override func liveFigures() -> [AnalyticsResult.LiveFigure] {
        [.init(name: "active now", value: activeUsers), .init(name: "visits", value: visits)]
    }
    /// Visits started so far.
    public var visits: Int { visitsTotal.load(ordering: .relaxed) }
    /// Records that missed a closed window (read it once the run has ended).
    public var lateRecords: Int { windows.lateTotal }
    /// Users held in state now (bounded by the users active within the gap plus the lateness; read it once
    /// the run has ended).
    public var trackedUsers: Int { users.reduce(0) { $0 + $1.lastSeen.count } }

    public override func partitionHash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 { spec.user.hash(r, base) }

    public override func emittedThrough(sourcePartition: Int) -> Int64? { windows.emittedThrough(sourcePartition) }

    public override func consume(_ slice: PartitionSlice) {
        let base = slice.block.lines.base
        let gap = spec.gap
        let partitionWindows = self.windows.begin(slice, task: name)
        // Unretained in the closures (see `TopKOperator.consume`): the operator holds both for the batch.
        let windows = Unmanaged.passUnretained(partitionWindows)
        let lastSeen = Unmanaged.passUnretained(users[slice.partition].lastSeen)
        let user = spec.user
        var started = 0
        // The users' places in `lastSeen` are brought into the cache ahead of their records: waiting for
        // that table's misses was three quarters of this loop's own time.
        let table = lastSeen.takeUnretainedValue()
        forEachRecord(slice, far: { table.prefetchSlot($0) }, near: { table.prefetchEntry($0) }) { r, newest, h in
            let t = r.time
            // One lookup of the user for the read and the write (the windows never touch `lastSeen`).
            lastSeen._withUnsafeGuaranteedRef { lastSeen in
                lastSeen.update(h) { previous in
                    var isNew = true
                    if let p = previous, t - p <= gap, p - t <= gap { isNew = false }
                    let onTime = windows._withUnsafeGuaranteedRef { windows in
                        windows.add(t, newest: newest, at: r.clientStart) { w in
                            w.requests += 1
                            w.users.add(h)
                            if isNew { w.visits += 1 }
                            if let counter = w.perUser {
                                let index = user.withKey(r, base) { p, n in counter.slot(p, n) }
                                if index == w.perUserVisits.count { w.perUserVisits.append(0) }
                                if isNew { w.perUserVisits[index] += 1 }
                            }
                        }
                    }
                    guard onTime else { return nil }
                    if isNew { started += 1 }
                    return max(previous ?? t, t)
                }
            }
        }
        visitsTotal.add(started, ordering: .relaxed)
        partitionWindows.raise(slice.batchNewest)
        expire(slice.partition)
        self.windows.endBatch(slice)
    }

    /// Forgets users who can no longer continue a visit: a record still on time is at most one window
    /// behind the watermark, so a user whose last request is more than the gap plus a window behind it
    /// would start a new visit anyway. Forgetting them is then invisible in the results, whenever it
    /// happens (it runs at block ends, and blocks are cut differently at each replay speed). Swept when
    /// the watermark has moved half the gap, which bounds state to the users of about two gaps.
    private func expire(_ partition: Int) {
        let u = users[partition]
        let mark = windows.windows(partition).watermark
        guard mark != Int64.min, u.sweptAt == Int64.min || mark - u.sweptAt >= max(1, spec.gap / 2) else { return }
        u.sweptAt = mark
        let cutoff = mark - spec.gap - spec.every
        let recent = mark - spec.gap
        var active = 0
        u.lastSeen.filter { last in
            if last >= recent { active += 1 }
            return last >= cutoff
        }
        u.tracked.store(active, ordering: .relaxed)
    }

    public override func close() { windows.finish() }

    public override var stateShape: String { "sessions \(spec) \(windows.shape)" }

    public override func saveWindows(_ w: inout StateWriter) {
        windows.saveState(&w) { s, w in
            w.int(s.requests)
            w.int(s.visits)
            s.users.saveState(&w)
            w.bool(s.perUser != nil)
            s.perUser?.saveState(&w)
            w.numbers(s.perUserVisits.map { Int64($0) })
        }
        w.int(users.count)
        for u in users {
            u.lastSeen.saveState(&w)
            w.i64(u.sweptAt)
            w.int(u.tracked.load(ordering: .relaxed))
        }
        w.int(recent.count)
        for r in recent {
            w.i64(r.start)
            r.users.saveState(&w)
            r.sketch.saveState(&w)
        }
        w.int(visits)
    }

    public override func restoreWindows(_ r: inout StateReader) throws {
        try windows.restoreState(&r) { r in
            let s = Window()
            s.requests = try r.int()
            s.visits = try r.int()
            s.users = try DistinctCounter(restoring: &r)
            if try r.bool() {
                let counter = ByteKeyCounter(initialCapacity: 256)
                try counter.restoreState(&r)
                s.perUser = counter
            }
            s.perUserVisits = try r.numbers(Int64.self).map { Int($0) }
            try r.check(s.perUserVisits.count == (s.perUser?.count ?? 0), "per-user visits")
            return s
        }
        try r.check(try r.int() == users.count, "the partition count differs")
        for u in users {
            try u.lastSeen.restoreState(&r)
            u.sweptAt = try r.i64()
            u.tracked.store(try r.int(), ordering: .relaxed)
        }
        let n = try r.count(max: 1 << 20)
        recent = try (0..<n).map { _ in (try r.i64(), try DistinctCounter(restoring: &r), try HyperLogLog(restoring: &r)) }
        visitsTotal.store(try r.int(), ordering: .relaxed)
    }

    /// Users of the recent windows (the union of their sets), counted as a `DistinctCounter` of the union
    /// would: exact up to its limit, else the union's HyperLogLog estimate. The union's sketch is the
    /// registers' maximum over the windows' sketches (each built once), so a union far past the limit
    /// costs a few register passes instead of re-adding every user of every recent window; only a union
    /// that may fit the limit is merged value by value.
    private func activeUsersCount() -> (value: Int, estimated: Bool) {
        let limit = DistinctCounter.defaultExactLimit
        let sum = recent.reduce(0) { $0 + ($1.users.isEstimated ? limit + 1 : $1.users.count.value) }
        if sum > limit {
            var union = HyperLogLog()
            for r in recent { union.merge(r.sketch) }
            let estimate = union.estimate
            // Far enough past the limit that the exact union cannot fit it (HyperLogLog's error is 1.6%).
            if estimate > Double(limit) * 1.25 { return (Int(estimate.rounded()), true) }
        }
        var union = DistinctCounter()
        for r in recent { union.merge(r.users) }
        return union.count
    }

    private func emitWindow(_ start: Int64?, _ end: Int64?, _ w: Window, _ late: Int) {
        let start = start!, end = end!
        recent.append((start, w.users, w.users.sketchOfValues))
        recent.removeAll { $0.start + spec.every <= end - spec.gap }
        let activeUsers = activeUsersCount()
        var row = ResultRow()
        EventTimeWindows<Window>.bounds(start, end, into: &row)
        row.set("requests", .int(Int64(w.requests)))
        row.set("visits", .int(Int64(w.visits)))
        row.set("users", .int(Int64(w.users.count.value)))
        row.set("active_users", .int(Int64(activeUsers.value)))
        row.set("estimated", .bool(w.users.count.estimated || activeUsers.estimated))
        row.set("visits_per_user", .double(w.users.count.value > 0 ? Double(w.visits) / Double(w.users.count.value) : 0))
        row.set("late_records", .int(Int64(late)))
        publish([row], write: w.perUser == nil)
        if let counter = w.perUser {
            var order = Array(0..<counter.count)
            let keys = order.map { counter.key(at: $0) }
            order.sort { counter.count(at: $0) != counter.count(at: $1) ? counter.count(at: $0) > counter.count(at: $1) : keys[$0] < keys[$1] }
            let rows = order.prefix(spec.limit).map { i -> ResultRow in
                var u = ResultRow()
                EventTimeWindows<Window>.bounds(start, end, into: &u)
                u.set("user", .string(keys[i]))
                u.set("requests", .int(Int64(counter.count(at: i))))
                u.set("visits", .int(Int64(w.perUserVisits[i])))
                return u
            }
            sink?.write(rows)
        }
    }
}
