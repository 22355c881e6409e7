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
///   its next request's head and body, checked whenever it waits to read: a byte every few seconds does
///   not keep it alive, and a request whose head FlyingFox is slow to parse (its header reader takes time
///   that grows with the square of a line's length) is cut off at the next read instead of holding a
///   core for minutes. Keep-alive clients that come back later (a Prometheus scrape every 60 s) simply
///   reconnect.
/// - A write that cannot proceed for `idleSeconds` (a client that never reads) ends the connection.
/// - The listening socket is never timed out.
struct GuardedSocketPool<Inner: AsyncSocketPool>: AsyncSocketPool {
    let inner: Inner
    let idleSeconds: Double
    /// When each connection's current request began (its first wait to read since its last write).
    private let started = WaitLedger()

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
        if !reading { started.reset(fd) }
        let budget = reading ? idleSeconds - started.secondsSinceStart(fd) : idleSeconds
        guard budget > 0 else {
            started.reset(fd)
            throw SocketError.timeout(message: "request not complete within \(idleSeconds) s")
        }
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

    /// Per-connection start times, shared by the pool's concurrent suspensions. A connection is its
    /// descriptor and its socket's inode (a descriptor is reused by the next connection; the inode is
    /// not), and entries not touched for ten minutes are dropped, so closed connections do not accumulate.
    final class WaitLedger: @unchecked Sendable {
        private struct Key: Hashable {
            var fd: Int32
            var inode: UInt64
        }
        private let lock = NSLock()
        private var entries: [Key: UInt64] = [:]

        private func key(_ fd: Int32) -> Key {
            var st = stat()
            return Key(fd: fd, inode: fstat(fd, &st) == 0 ? UInt64(st.st_ino) : 0)
        }

        /// Seconds since the connection's current request began (0 for a new one, which begins now).
        func secondsSinceStart(_ fd: Int32) -> Double {
            let k = key(fd)
            let now = DispatchTime.now().uptimeNanoseconds
            lock.lock()
            defer { lock.unlock() }
            guard let start = entries[k] else {
                if entries.count > 4096 { entries = entries.filter { now &- $0.value < 600_000_000_000 } }
                entries[k] = now
                return 0
            }
            return Double(now &- start) / 1e9
        }

        /// The connection wrote: its next request begins at its next wait to read.
        func reset(_ fd: Int32) {
            let k = key(fd)
            lock.lock()
            entries[k] = nil
            lock.unlock()
        }
    }
}
