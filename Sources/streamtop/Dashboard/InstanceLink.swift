import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopTUI

/// One running instance as `streamtop attach` sees it: a thread fetches the instance's dashboard model
/// (`GET /api/v1/dashboard`) a few times a second, and commands go to `POST /api/v1/commands` in the `:`
/// line's language with the bearer token. A failed fetch keeps the last model, marks the link unreachable
/// since when, and is retried with a growing pause (up to 5 s) until the instance answers again.
final class InstanceLink: @unchecked Sendable {
    /// The instance as shown (`host:port`), and where it listens.
    let endpoint: String
    let address: InstanceHTTP.Endpoint
    private let token: String?
    private let interval: Double
    private let lock = NSLock()
    // Under `lock`: the latest model and when it came, the link's state, what the readers want.
    private var latest: DashboardModel?
    private var fetchedAt = Date()
    private var lostSince: Date?
    private var lostReason: String?
    private var wanted = Query(top: 10, rejects: false, share: false)
    private var stopped = false
    private var started = false
    private var version = 0

    /// What a fetch asks for: entries per top list, the recent rejected lines, what a cluster view merges.
    struct Query: Equatable {
        var top: Int
        var rejects: Bool
        var share: Bool
    }

    /// A link to the instance at `text` (`host:port` or a URL); nothing is fetched yet.
    init(url text: String, token: String?, interval: Double) throws {
        address = try Self.parse(text)
        endpoint = address.host.contains(":") ? "[\(address.host)]:\(address.port)" : "\(address.host):\(address.port)"
        self.token = token
        self.interval = interval
    }

    /// Fetches once, waiting up to `timeout`: the first model of a single attach, which must come, else
    /// one line says why.
    func connect(timeout: Double = 5) throws {
        switch Self.fetch(address, wanted, timeout: timeout) {
        case .success(let model): store(.success(model))
        case .failure(let reason): throw CLIError("cannot attach to \(endpoint): \(reason)")
        }
    }

    /// The port an address without one means: the one the README and the systemd unit use.
    static let defaultPort: UInt16 = 9464

    /// `host`, `host:port`, `[v6]:port` or `http://host:port`, with or without a trailing slash. Anything
    /// else (another scheme, a path, a port out of range) is one clear line.
    static func parse(_ text: String) throws -> InstanceHTTP.Endpoint {
        func refuse(_ why: String) -> CLIError {
            CLIError("attach wants an instance's address like 127.0.0.1:9464 or http://host:9464; got '\(text)'\(why.isEmpty ? "" : " (\(why))")")
        }
        let full = text.contains("://") ? text : "http://" + text
        guard let parts = URLComponents(string: full), let scheme = parts.scheme?.lowercased() else { throw refuse("") }
        guard scheme == "http" else { throw refuse(scheme == "https" ? "streamtop serves plain HTTP; reach a remote instance through a TLS proxy or an SSH tunnel" : "") }
        guard let host = parts.host, !host.isEmpty else { throw refuse("") }
        guard parts.path.isEmpty || parts.path == "/" else { throw refuse("no path: the instance's address only") }
        guard parts.query == nil, parts.user == nil else { throw refuse("no query or user") }
        // URLComponents keeps an IPv6 literal's brackets; getaddrinfo wants them off.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let port = parts.port.map { UInt16(exactly: $0) ?? 0 } ?? defaultPort
        guard port > 0 else { throw refuse("the port must be 1…65535") }
        return InstanceHTTP.Endpoint(host: bare, port: port)
    }

    /// Starts fetching in the background (once).
    func start() {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { return }
        started = true
        Thread { [self] in
            var pause = interval
            while true {
                lock.lock()
                let (want, done) = (wanted, stopped)
                lock.unlock()
                if done { return }
                let result = Self.fetch(address, want, timeout: 2)
                store(result)
                pause = (try? result.get()) != nil ? interval : min(5, max(0.5, pause * 2))
                Thread.sleep(forTimeInterval: pause)
            }
        }.start()
    }

    private func store(_ result: Result<DashboardModel, LinkError>) {
        lock.lock()
        defer { lock.unlock() }
        switch result {
        case .success(let model):
            (latest, fetchedAt, lostSince, lostReason) = (model, Date(), nil, nil)
            version += 1
        case .failure(let reason):
            if lostSince == nil {
                lostSince = Date()
                version += 1
            }
            lostReason = reason.description
        }
    }

    /// Stops fetching.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    /// Sets what the next fetches ask for.
    func want(_ query: Query) {
        lock.lock()
        wanted = query
        lock.unlock()
    }

    /// The latest model (nil while the instance has never answered), the link's status, and a number that
    /// changes whenever either does (apart from the age).
    func current() -> (model: DashboardModel?, status: RemoteStatus, version: Int) {
        lock.lock()
        defer { lock.unlock() }
        let status = RemoteStatus(
            endpoint: endpoint, age: latest == nil ? 0 : Date().timeIntervalSince(fetchedAt), lostSince: lostSince.map { Engine.clockTime($0.timeIntervalSince1970) }, reason: lostReason)
        return (latest, status, version)
    }

    /// What a key or command gets without a token.
    static let readOnly = "read-only: attach with --control-token-file to send commands"

    /// Whether the control token was given.
    var canControl: Bool { token != nil }

    /// Sends a command in the `:` line's language: the instance's answer, or why it was not taken.
    func send(_ text: String) -> String {
        guard let token else { return Self.readOnly }
        let answer = InstanceHTTP.send(
            address, .POST, path: "/api/v1/commands", headers: [.authorization: "Bearer \(token)", .contentType: "text/plain"], body: Data(text.utf8), timeout: 3)
        switch answer {
        case .success(let (status, body)):
            let answer = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // "sent" lets the loop keep its own message (`pausing parse`), as for the pipeline in this process.
            return status == 200 ? answer : "\(endpoint) refused '\(text)': \(answer)"
        case .failure(let reason):
            return "\(endpoint) did not take '\(text)': \(reason)"
        }
    }

    /// One GET of the dashboard model.
    static func fetch(_ address: InstanceHTTP.Endpoint, _ query: Query, timeout: Double) -> Result<DashboardModel, LinkError> {
        let items = [("top", "\(query.top)"), ("rejects", query.rejects ? "1" : "0"), ("share", query.share ? "1" : "0")]
        switch InstanceHTTP.send(address, .GET, path: "/api/v1/dashboard", query: items, timeout: timeout) {
        case .failure(let reason): return .failure(reason)
        case .success(let (status, body)):
            guard status == 200 else {
                return .failure(LinkError(status == 404 ? "no dashboard at this address (HTTP 404: is it a streamtop --listen address of this version?)" : "HTTP \(status)"))
            }
            do {
                return .success(try DashboardModel.decoder().decode(DashboardModel.self, from: body))
            } catch {
                return .failure("the answer is not a streamtop dashboard model (is this a streamtop --listen address?)")
            }
        }
    }

    /// Why a request failed, in a few words.
    struct LinkError: Error, CustomStringConvertible, ExpressibleByStringInterpolation {
        let description: String
        init(_ text: String) { description = text }
        init(stringLiteral text: String) { description = text }
    }
}
