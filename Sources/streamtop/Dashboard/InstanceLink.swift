import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopTUI
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One running instance as `streamtop attach` sees it: a thread fetches the instance's dashboard model
/// (`GET /api/v1/dashboard`) a few times a second, and commands go to `POST /api/v1/commands` in the `:`
/// line's language with the bearer token. A failed fetch keeps the last model, marks the link unreachable
/// since when, and is retried with a growing pause (up to 5 s) until the instance answers again.
final class InstanceLink: @unchecked Sendable {
    /// The instance as the operator named it, and its base URL.
    let endpoint: String
    let base: URL
    private let token: String?
    private let interval: Double
    private let session: URLSession
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
        (endpoint, base) = try Self.parse(text)
        self.token = token
        self.interval = interval
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 2
        session = URLSession(configuration: config)
    }

    /// Fetches once, waiting up to `timeout`: the first model of a single attach, which must come, else
    /// one line says why.
    func connect(timeout: Double = 5) throws {
        switch Self.fetch(session, base, wanted, timeout: timeout) {
        case .success(let model): store(.success(model))
        case .failure(let reason): throw CLIError("cannot attach to \(endpoint): \(reason)")
        }
    }

    /// `host:port`, `http://host:port` or `https://…`, with or without a trailing slash.
    static func parse(_ text: String) throws -> (String, URL) {
        let full = text.contains("://") ? text : "http://" + text
        guard let url = URL(string: full.hasSuffix("/") ? String(full.dropLast()) : full), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw CLIError("attach wants an instance's address like 127.0.0.1:9464 or http://host:9464; got '\(text)'")
        }
        return (url.port.map { "\(host):\($0)" } ?? host, url)
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
                let result = Self.fetch(session, base, want, timeout: 2)
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
            endpoint: endpoint, age: latest == nil ? 0 : Date().timeIntervalSince(fetchedAt), lostSince: lostSince.map(Self.clock), reason: lostReason)
        return (latest, status, version)
    }

    /// What a key or command gets without a token.
    static let readOnly = "read-only: attach with --control-token-file to send commands"

    /// Whether the control token was given.
    var canControl: Bool { token != nil }

    /// Sends a command in the `:` line's language: the instance's answer, or why it was not taken.
    func send(_ text: String) -> String {
        guard let token else { return Self.readOnly }
        var request = URLRequest(url: base.appendingPathComponent("api/v1/commands"))
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("text/plain", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(text.utf8)
        switch Self.send(session, request, timeout: 3) {
        case .success(let (status, body)):
            let answer = body.trimmingCharacters(in: .whitespacesAndNewlines)
            // "sent" lets the loop keep its own message (`pausing parse`), as for the pipeline in this process.
            return status == 200 ? answer : "\(endpoint) refused '\(text)': \(answer)"
        case .failure(let reason):
            return "\(endpoint) did not take '\(text)': \(reason)"
        }
    }

    /// One GET of the dashboard model.
    static func fetch(_ session: URLSession, _ base: URL, _ query: Query, timeout: Double) -> Result<DashboardModel, LinkError> {
        guard var parts = URLComponents(url: base.appendingPathComponent("api/v1/dashboard"), resolvingAgainstBaseURL: false) else {
            return .failure("bad address")
        }
        parts.queryItems = [
            URLQueryItem(name: "top", value: "\(query.top)"), URLQueryItem(name: "rejects", value: query.rejects ? "1" : "0"),
            URLQueryItem(name: "share", value: query.share ? "1" : "0"),
        ]
        guard let url = parts.url else { return .failure("bad address") }
        switch send(session, URLRequest(url: url), timeout: timeout) {
        case .failure(let reason): return .failure(reason)
        case .success(let (status, body)):
            guard status == 200 else {
                return .failure(LinkError(status == 404 ? "no dashboard at this address (HTTP 404: is it a streamtop --listen address of this version?)" : "HTTP \(status)"))
            }
            do {
                return .success(try DashboardModel.decoder().decode(DashboardModel.self, from: Data(body.utf8)))
            } catch {
                return .failure(LinkError("the answer is not a streamtop dashboard model (\(error))"))
            }
        }
    }

    /// Sends a request and waits for the status and body (as text), or a short reason it failed.
    static func send(_ session: URLSession, _ request: URLRequest, timeout: Double) -> Result<(Int, String), LinkError> {
        var request = request
        request.timeoutInterval = timeout
        let done = DispatchSemaphore(value: 0)
        let box = LockedResult()
        session.dataTask(with: request) { data, response, error in
            if let error {
                box.set(.failure(Self.reason(error)))
            } else {
                box.set(.success(((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))))
            }
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + timeout + 1) == .success else { return .failure("no answer within \(Int(timeout)) s") }
        return box.get() ?? .failure("no answer")
    }

    /// The system's reason in a few words.
    static func reason(_ error: Error) -> LinkError {
        let e = error as NSError
        switch e.code {
        case NSURLErrorCannotConnectToHost: return "connection refused"
        case NSURLErrorTimedOut: return "timed out"
        case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: return "unknown host"
        case NSURLErrorNetworkConnectionLost: return "connection lost"
        default: return LinkError(e.localizedDescription)
        }
    }

    static func clock(_ d: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        return f.string(from: d)
    }

    /// Why a request failed, in a few words.
    struct LinkError: Error, CustomStringConvertible, ExpressibleByStringInterpolation {
        let description: String
        init(_ text: String) { description = text }
        init(stringLiteral text: String) { description = text }
    }

    /// The result of a request, handed from URLSession's thread.
    private final class LockedResult: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Result<(Int, String), LinkError>?
        func set(_ v: Result<(Int, String), LinkError>) { lock.lock(); value = v; lock.unlock() }
        func get() -> Result<(Int, String), LinkError>? { lock.lock(); defer { lock.unlock() }; return value }
    }
}
