import FlyingFox
import FlyingSocks
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// FlyingFox's socket pool with deadlines, because FlyingFox itself bounds only the time a handler runs:
/// a client that connects and sends nothing, or dribbles a request a byte at a time (slowloris), or stops
/// reading its stream, would hold its connection (a descriptor and a task) forever.
///
/// - A connection has `idleSeconds` from the end of its last response (or from its start) to the end of
///   its next request's head and body: the time it spends waiting to read is summed until it next writes,
///   so a byte every few seconds does not keep it alive either. Keep-alive clients that come back later
///   (a Prometheus scrape every 60 s) simply reconnect.
/// - A write that cannot proceed for `idleSeconds` (a client that never reads) ends the connection.
/// - The listening socket is never timed out.
struct GuardedSocketPool<Inner: AsyncSocketPool>: AsyncSocketPool {
    let inner: Inner
    let idleSeconds: Double
    /// Read-wait time (ns) summed per connection since its last write.
    private let waited = WaitLedger()

    init(_ inner: Inner, idleSeconds: Double) {
        self.inner = inner
        self.idleSeconds = idleSeconds
    }

    func prepare() async throws { try await inner.prepare() }
    func run() async throws { try await inner.run() }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        let fd = socket.file.rawValue
        if Self.isListening(fd) { return try await inner.suspendSocket(socket, untilReadyFor: events) }
        let reading = events.contains(.read)
        if !reading { waited.reset(fd) }
        let budget = reading ? idleSeconds - waited.seconds(fd) : idleSeconds
        guard budget > 0 else {
            waited.reset(fd)
            throw SocketError.timeout(message: "request not complete within \(idleSeconds) s")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { if reading { waited.add(fd, DispatchTime.now().uptimeNanoseconds - start) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await inner.suspendSocket(socket, untilReadyFor: events) }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(budget * 1e9))
                throw SocketError.timeout(message: "idle for \(idleSeconds) s")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Whether `fd` is a listening socket (SO_ACCEPTCONN).
    static func isListening(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &size) == 0 && value != 0
    }

    /// Per-connection sums, shared by the pool's concurrent suspensions. A connection is its descriptor
    /// and its socket's inode (a descriptor is reused by the next connection; the inode is not), and
    /// entries not touched for a while are dropped, so closed connections do not accumulate.
    final class WaitLedger: @unchecked Sendable {
        private struct Key: Hashable {
            var fd: Int32
            var inode: UInt64
        }
        private let lock = NSLock()
        private var entries: [Key: (nanos: UInt64, touched: UInt64)] = [:]

        private func key(_ fd: Int32) -> Key {
            var st = stat()
            return Key(fd: fd, inode: fstat(fd, &st) == 0 ? UInt64(st.st_ino) : 0)
        }

        func seconds(_ fd: Int32) -> Double {
            let k = key(fd)
            lock.lock()
            defer { lock.unlock() }
            return Double(entries[k]?.nanos ?? 0) / 1e9
        }

        func add(_ fd: Int32, _ ns: UInt64) {
            let k = key(fd)
            let now = DispatchTime.now().uptimeNanoseconds
            lock.lock()
            entries[k] = ((entries[k]?.nanos ?? 0) &+ ns, now)
            if entries.count > 4096 { entries = entries.filter { now &- $0.value.touched < 600_000_000_000 } }
            lock.unlock()
        }

        func reset(_ fd: Int32) {
            let k = key(fd)
            lock.lock()
            entries[k] = nil
            lock.unlock()
        }
    }
}
