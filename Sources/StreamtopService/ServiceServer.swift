import FlyingFox
import FlyingSocks
import Foundation
import StreamtopEngine
import StreamtopLogs

/// The HTTP endpoint of a running instance (`--listen HOST:PORT`): `GET /metrics` (Prometheus text) and
/// `GET /healthz`. Every answer is built from the engine's latest published snapshot, never from a live
/// operator, so a scrape never slows the pipeline down.
///
/// FlyingFox serves it (non-blocking sockets, one task per connection, no other dependency): it adds about
/// 14 s to a clean debug build on 2 cores, where the swift-nio-based servers add minutes.
public final class ServiceServer: @unchecked Sendable {
    /// What a request reads: the latest snapshot and the malformed-line counts.
    public typealias View = @Sendable () -> (EngineSnapshot, [MalformedReason: Int])

    private let server: HTTPServer
    private let host: String
    private let requestedPort: UInt16
    private var task: Task<Void, Error>?

    /// A server on `host:port` (port 0: any free one) answering from `view`.
    public init(host: String, port: UInt16, view: @escaping View) throws {
        self.host = host
        requestedPort = port
        let address: sockaddr_in
        do {
            address = try .inet(ip4: host, port: port)
        } catch {
            throw SourceError("cannot listen on \(host):\(port): not an IPv4 address")
        }
        server = HTTPServer(address: address, timeout: 15, logger: .disabled)
        let ready = DispatchSemaphore(value: 0)
        let server = self.server
        Task {
            await server.appendRoute("GET /metrics") { _ in
                let (snap, malformed) = view()
                let text = PrometheusText.render(snap, malformed: malformed)
                return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: Data(text.utf8))
            }
            await server.appendRoute("GET /healthz") { _ in
                let (snap, _) = view()
                let body = snap.finished ? "finished\n" : "ok\n"
                return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: Data(body.utf8))
            }
            ready.signal()
        }
        ready.wait()
    }

    /// Starts listening; returns once the socket listens, or throws one line (address in use…).
    public func start(timeout: Double = 5) throws {
        let server = self.server
        let failure = LockedBox<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        task = Task {
            do {
                try await server.run()
            } catch {
                failure.set("\(error)")
                done.signal()
                throw error
            }
        }
        Task {
            try? await server.waitUntilListening(timeout: timeout)
            done.signal()
        }
        _ = done.wait(timeout: .now() + timeout + 1)
        if let reason = failure.get() {
            throw SourceError("cannot listen on \(host):\(requestedPort): \(Self.reason(reason))")
        }
        guard port != nil else { throw SourceError("cannot listen on \(host):\(requestedPort): the server did not start within \(Int(timeout)) s") }
    }

    /// The port it listens on (useful with port 0), or nil before it does.
    public var port: UInt16? {
        let box = LockedBox<UInt16?>(nil)
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        Task {
            if case .ip4(_, let port) = await server.listeningAddress { box.set(port) }
            done.signal()
        }
        done.wait()
        return box.get()
    }

    /// Stops listening and closes every connection.
    public func stop() {
        task?.cancel()
        task = nil
    }

    /// The system's reason in an error FlyingFox describes (`failed("bind", errno: 98, "Address already in use")`).
    static func reason(_ text: String) -> String {
        if text.contains("Address already in use") || text.contains("errno: 98") { return "Address already in use" }
        if text.contains("errno: 13") || text.contains("Permission denied") { return "Permission denied" }
        if text.contains("errno: 99") { return "Cannot assign requested address" }
        return text
    }
}

/// A value behind a lock, for handing results out of tasks.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ v: Value) { lock.lock(); value = v; lock.unlock() }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
}
