import FlyingFox
import FlyingSocks
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Requests from `streamtop attach` to an instance, over FlyingFox's HTTP client: the library that serves
/// them. URLSession (libcurl on Linux) was the first choice, but while an instance accepted connections
/// and never answered (a stopped or wedged process), its event loop spun: a third of a core per silent
/// instance for as long as the cluster view was open.
enum InstanceHTTP {
    /// Where an instance listens: a host name or address, and a port.
    struct Endpoint: Sendable, Hashable {
        var host: String
        var port: UInt16
    }

    /// Sends a request and waits up to `timeout` for the status and the whole body; a short reason otherwise.
    static func send(
        _ endpoint: Endpoint, _ method: HTTPMethod, path: String, query: [(String, String)] = [], headers: [HTTPHeader: String] = [:], body: Data = Data(),
        timeout: Double
    ) -> Result<(status: Int, body: Data), InstanceLink.LinkError> {
        let done = DispatchSemaphore(value: 0)
        let box = Box()
        var headers = headers
        headers[.host] = endpoint.port == 80 ? endpoint.host : "\(endpoint.host):\(endpoint.port)"
        headers[.connection] = "close"
        let request = HTTPRequest(
            method: method, version: .http11, path: path, query: query.map { HTTPRequest.QueryItem(name: $0.0, value: $0.1) }, headers: headers, body: body)
        let task = Task {
            do {
                box.set(.success(try await withTimeout(timeout) { try await exchange(request, with: endpoint) }))
            } catch SocketError.disconnected {
                // FlyingSocks reports a refused connect as a hang-up: ask the kernel which it was.
                box.set(.failure(connectError(endpoint) ?? "connection closed before the answer"))
            } catch {
                box.set(.failure(reason(error, timeout: timeout)))
            }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout + 1) == .success else {
            task.cancel()
            return .failure(InstanceLink.LinkError("no answer within \(Int(timeout)) s"))
        }
        return box.get() ?? .failure("no answer")
    }

    /// One connection: connect, send, read the response whole, close.
    private static func exchange(_ request: HTTPRequest, with endpoint: Endpoint) async throws -> (status: Int, body: Data) {
        var client = HTTPClient()
        let response: HTTPResponse
        switch try resolve(endpoint) {
        case .v4(let address): response = try await client.sendHTTPRequest(request, to: address)
        case .v6(let address): response = try await client.sendHTTPRequest(request, to: address)
        }
        return (Int(response.statusCode.code), try await response.bodyData)
    }

    /// Runs `operation`, or throws `TimedOut` after `seconds` (cancelling it: FlyingSocks' waits end on
    /// cancellation, and the client closes its socket).
    private static func withTimeout<T: Sendable>(_ seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                throw TimedOut()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private struct TimedOut: Error {}

    /// A resolved address.
    enum Address {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    /// The host's first address (IPv4 or IPv6) with the port.
    static func resolve(_ endpoint: Endpoint) throws -> Address {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(endpoint.host, nil, &hints, &list) == 0, let first = list else { throw UnknownHost() }
        defer { freeaddrinfo(list) }
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let i = info {
            if i.pointee.ai_family == AF_INET, let raw = i.pointee.ai_addr {
                var a = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                a.sin_port = endpoint.port.bigEndian
                return .v4(a)
            }
            if i.pointee.ai_family == AF_INET6, let raw = i.pointee.ai_addr {
                var a = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                a.sin6_port = endpoint.port.bigEndian
                return .v6(a)
            }
            info = i.pointee.ai_next
        }
        throw UnknownHost()
    }

    private struct UnknownHost: Error {}

    /// Why a connection to the endpoint fails (refused, unreachable), by trying one with a second's
    /// patience; nil when it connects.
    static func connectError(_ endpoint: Endpoint) -> InstanceLink.LinkError? {
        guard let address = try? resolve(endpoint) else { return "unknown host" }
        let family = { if case .v6 = address { return AF_INET6 } else { return AF_INET } }()
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var result: Int32
        switch address {
        case .v4(var a): result = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        case .v6(var a): result = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
        var code = result == 0 ? 0 : errno
        if code == EINPROGRESS {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, 1000) == 1 else { return nil }
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
        }
        switch code {
        case 0: return nil
        case ECONNREFUSED: return "connection refused"
        case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
        default: return InstanceLink.LinkError(String(cString: strerror(code)))
        }
    }

    /// The reason in a few words.
    static func reason(_ error: Error, timeout: Double) -> InstanceLink.LinkError {
        switch error {
        case is TimedOut, is CancellationError: return InstanceLink.LinkError("no answer within \(Int(timeout)) s")
        case is UnknownHost: return "unknown host"
        case let e as SocketError:
            switch e {
            case .failed(_, let code, _) where code == ECONNREFUSED: return "connection refused"
            case .failed(_, let code, _) where code == EHOSTUNREACH || code == ENETUNREACH: return "host unreachable"
            case .failed(_, _, let message): return InstanceLink.LinkError(message)
            case .disconnected: return "connection closed before the answer"
            case .timeout: return InstanceLink.LinkError("no answer within \(Int(timeout)) s")
            default: return InstanceLink.LinkError("\(e)")
            }
        default:
            return InstanceLink.LinkError("not an HTTP answer (\(String("\(error)".prefix(80))))")
        }
    }

    /// The result, handed from the request's task.
    private final class Box: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Result<(status: Int, body: Data), InstanceLink.LinkError>?
        func set(_ v: Result<(status: Int, body: Data), InstanceLink.LinkError>) { lock.lock(); value = v; lock.unlock() }
        func get() -> Result<(status: Int, body: Data), InstanceLink.LinkError>? { lock.lock(); defer { lock.unlock() }; return value }
    }
}
