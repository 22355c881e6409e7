import FlyingFox
import FlyingSocks
import Foundation
import StreamtopEngine
import StreamtopLogs

/// The HTTP endpoint of a running instance (`--listen HOST:PORT`):
/// - `GET /metrics`: Prometheus text; `GET /healthz`: `ok` (or `finished`);
/// - `GET /api/v1/snapshot`: the engine's snapshot and the report as JSON;
/// - `GET /api/v1/dashboard?top=N&rejects=1&share=1`: the dashboard's model (what `streamtop attach` draws);
/// - `GET /api/v1/stream`: a `--snapshots` line per tick (newline-delimited JSON, chunked), until the run ends;
/// - `POST /api/v1/commands`: a command in the `:` line's language (`pause parse`, `workers aggregate 2`),
///   only with `Authorization: Bearer TOKEN` matching `--control-token-file` (compared in constant time);
///   without a token file, control is off and the endpoint says so.
///
/// Every answer is built from the engine's latest published snapshot, never from a live operator, and a
/// command goes through the engine's mailbox like a key press: a client never slows the pipeline down.
/// FlyingFox serves it (non-blocking sockets, one task per connection, no other dependency): it adds about
/// 14 s to a clean debug build on 2 cores, where the swift-nio-based servers add minutes.
public final class ServiceServer: @unchecked Sendable {
    /// What the endpoints read and do.
    public struct Endpoints: Sendable {
        /// The latest snapshot and the malformed-line counts (for /metrics).
        public var view: @Sendable () -> (EngineSnapshot, [MalformedReason: Int])
        /// The JSON document of /api/v1/snapshot.
        public var document: @Sendable () -> String
        /// Applies a command: what it did, or why it was refused.
        public var command: @Sendable (String) -> Result<String, CommandRefused>
        /// The bearer token that allows commands (nil: control is off).
        public var token: String?
        /// The next line of /api/v1/stream, from the newest decision already sent.
        public var streamLine: @Sendable (Int) -> (text: String, lastDecision: Int, finished: Bool) = { _ in ("{}", 0, true) }
        /// The dashboard's model as JSON (`GET /api/v1/dashboard?top=N&rejects=1&share=1`), for `streamtop
        /// attach`; `share` adds what a cluster view merges (sketches, histogram buckets).
        public var dashboard: @Sendable (_ top: Int, _ rejects: Bool, _ share: Bool) -> String = { _, _, _ in "null" }
        /// Bytes of the followed files not read yet (nil for other inputs): `streamtop_input_backlog_bytes`.
        public var backlog: @Sendable () -> Int64? = { nil }
        /// A Kafka input's partitions and consumer lag (nil for other inputs): `streamtop_kafka_consumer_lag`.
        public var partitions: @Sendable () -> PartitionStatus? = { nil }
        /// Interval between stream lines, ns.
        public var streamIntervalNanos: UInt64 = 100_000_000

        /// Creates the endpoints.
        public init(view: @escaping @Sendable () -> (EngineSnapshot, [MalformedReason: Int]), document: @escaping @Sendable () -> String, command: @escaping @Sendable (String) -> Result<String, CommandRefused>, token: String?) {
            self.view = view
            self.document = document
            self.command = command
            self.token = token
        }
    }

    /// A command that was not applied, with its one-line reason.
    public struct CommandRefused: Error {
        /// The reason.
        public var reason: String
        /// Whether the command was understood but the engine would not apply it (409 rather than 400).
        public var conflict: Bool
        /// Creates the refusal.
        public init(_ reason: String, conflict: Bool = false) {
            self.reason = reason
            self.conflict = conflict
        }
    }

    private let endpoints: Endpoints
    /// The server listening now (replaced when it has to be restarted).
    private let current = LockedBox<HTTPServer?>(nil)
    private let host: String
    private let requestedPort: UInt16
    private var task: Task<Void, Error>?
    /// Seconds a connection may take to send a request after its last response (or its start), and a
    /// blocked write may wait for the client to read.
    /// STREAMTOP_HTTP_IDLE_SECONDS changes it (the tests use a few seconds).
    static let idleSeconds: Double = ProcessInfo.processInfo.environment["STREAMTOP_HTTP_IDLE_SECONDS"].flatMap(Double.init).map { min(3600, max(0.5, $0)) } ?? 30
    /// The longest command body accepted.
    static let maxCommandBytes = 4096

    /// A server on `host:port` (port 0: any free one).
    public init(host: String, port: UInt16, endpoints: Endpoints) throws {
        self.host = host
        requestedPort = port
        self.endpoints = endpoints
        do {
            _ = try sockaddr_in.inet(ip4: host, port: port)
        } catch {
            throw SourceError("cannot listen on \(host):\(port): not an IPv4 address")
        }
    }

    /// An HTTP server with the routes, on `port`.
    static func makeServer(host: String, port: UInt16, endpoints: Endpoints) async throws -> HTTPServer {
        // Deadlines FlyingFox does not have: see GuardedSocketPool.
        let pool = GuardedSocketPool(HTTPServer.defaultPool(), idleSeconds: Self.idleSeconds)
        let server = HTTPServer(config: HTTPServer.Configuration(address: try .inet(ip4: host, port: port), timeout: 15, pool: pool, logger: .disabled))
        await server.appendRoute("GET /metrics") { _ in
            let (snap, malformed) = endpoints.view()
            return Self.text(.ok, PrometheusText.render(snap, malformed: malformed, backlog: endpoints.backlog(), partitions: endpoints.partitions()), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        await server.appendRoute("GET /healthz") { _ in
            Self.text(.ok, endpoints.view().0.finished ? "finished\n" : "ok\n")
        }
        await server.appendRoute("GET /api/v1/snapshot") { _ in
            Self.text(.ok, endpoints.document() + "\n", type: "application/json")
        }
        await server.appendRoute("GET /api/v1/dashboard") { request in
            // At most 500 entries per top list: what the analytics view shows.
            let top = min(500, max(1, request.query["top"].flatMap { Int($0) } ?? 10))
            return Self.text(.ok, endpoints.dashboard(top, request.query["rejects"] == "1", request.query["share"] == "1") + "\n", type: "application/json")
        }
        await server.appendRoute("GET /api/v1/stream") { _ in
            let stream = SnapshotStream(intervalNanos: endpoints.streamIntervalNanos, line: endpoints.streamLine)
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/x-ndjson"], body: HTTPBodySequence(from: stream))
        }
        await server.appendRoute("POST /api/v1/commands") { request in
            try await Self.command(request, endpoints)
        }
        return server
    }

    static func text(_ status: HTTPStatusCode, _ body: String, type: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: type], body: Data(body.utf8))
    }

    /// Checks the token, then applies the body's command (plain text, or JSON `{"command": "…"}`).
    static func command(_ request: HTTPRequest, _ endpoints: Endpoints) async throws -> HTTPResponse {
        guard let token = endpoints.token else {
            return text(.forbidden, "control is off: start streamtop with --control-token-file FILE to accept commands\n")
        }
        // The scheme is case-insensitive (RFC 9110); the token is not.
        let given = request.headers[.authorization].flatMap { $0.lowercased().hasPrefix("bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard Self.constantTimeEqual(given, token) else {
            return text(.unauthorized, "missing or wrong bearer token (Authorization: Bearer …)\n")
        }
        let body = try await request.bodyData
        guard body.count <= maxCommandBytes else { return text(.payloadTooLarge, "a command is at most \(maxCommandBytes) bytes\n") }
        var line = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("{") {
            guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let c = json["command"] as? String else {
                return text(.badRequest, "a JSON body needs {\"command\": \"…\"}\n")
            }
            line = c
        }
        guard !line.isEmpty, !line.contains("\n") else { return text(.badRequest, "send one command, e.g. pause parse\n") }
        switch endpoints.command(line) {
        case .success(let message): return text(.ok, message + "\n")
        case .failure(let refused): return text(refused.conflict ? .conflict : .badRequest, Escaped.message(refused.reason) + "\n")
        }
    }

    /// Compares two secrets in time that depends on their lengths only, not on where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }

    /// Called with a one-line account when the server stopped and is listening again.
    public var onRestart: (@Sendable (String) -> Void)?

    /// Starts listening; returns once the socket listens, or throws one line (address in use…).
    ///
    /// Afterwards a supervisor keeps it listening: FlyingFox's server ends when `accept` fails (out of
    /// descriptors under a flood of connections, EMFILE), closing every connection; the supervisor says
    /// so through `onRestart` and listens again on the same port a second later, so a flood takes the
    /// endpoint away for a moment, never for good. It also raises the open-file limit to the hard limit,
    /// so that it takes many more connections to get there.
    public func start(timeout: Double = 5) throws {
        Self.raiseOpenFileLimit()
        let (host, endpoints, current, restarted) = (self.host, self.endpoints, self.current, self.onRestart)
        let failure = LockedBox<String?>(nil)
        let listening = LockedBox<UInt16?>(nil)
        let done = DispatchSemaphore(value: 0)
        var port = requestedPort
        task = Task {
            while !Task.isCancelled {
                do {
                    let server = try await Self.makeServer(host: host, port: port, endpoints: endpoints)
                    current.set(server)
                    let watcher = Task {
                        try await server.waitUntilListening(timeout: timeout)
                        if case .ip4(_, let p) = await server.listeningAddress { listening.set(p) }
                        done.signal()
                    }
                    defer { watcher.cancel() }
                    try await server.run()
                } catch {
                    guard let p = listening.get() else {
                        // Never listened: the caller hears why (address in use…).
                        failure.set("\(error)")
                        done.signal()
                        return
                    }
                    if Task.isCancelled { return }
                    port = p
                    restarted?("the HTTP server stopped (\(Self.reason("\(error)"))); listening again on port \(p) in 1 s")
                }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        _ = done.wait(timeout: .now() + timeout + 1)
        if let reason = failure.get() {
            throw SourceError("cannot listen on \(host):\(requestedPort): \(Self.reason(reason))")
        }
        guard listening.get() != nil else { throw SourceError("cannot listen on \(host):\(requestedPort): the server did not start within \(Int(timeout)) s") }
    }

    /// Raises the soft limit on open files to the hard limit (each connection is a descriptor).
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The port it listens on (useful with port 0), or nil before it does.
    public var port: UInt16? {
        guard let server = current.get() else { return nil }
        let box = LockedBox<UInt16?>(nil)
        let done = DispatchSemaphore(value: 0)
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
        if text.contains("errno: 24") { return "out of file descriptors: too many connections at once" }
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
