#if canImport(Glibc)
    import Glibc
#endif
import StreamtopLogs

/// A field of a record that operators filter, group, rank and count by: the stored fields and the ones
/// derived from them on the fly (status class, endpoint, network, agent class, user).
///
/// Keys are produced as bytes: stored fields point into the block, derived ones are written into a small
/// temporary buffer on the stack, so no field costs an allocation per record.
public enum RecordField: String, CaseIterable, Sendable {
    /// HTTP status, `404`.
    case status
    /// Status class, `4xx`.
    case statusClass = "status_class"
    /// Request method (`-` without a request line).
    case method
    /// Path without the query string.
    case path
    /// Path with ids folded: `/users/123` → `/users/:id`.
    case endpoint
    /// Client address or host name.
    case client
    /// Client network: IPv4 /24 (`10.1.2.0/24`), IPv6 /48; host names as they are.
    case network
    /// User agent (`-` when the format has none).
    case ua
    /// `bot` or `human`, by the user agent (see `BotDetector`).
    case agent
    /// The visitor: client and user agent, space-separated.
    case user

    /// Names for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Calls `body` with the field's bytes for a record of the block at `base`.
    @inlinable
    public func withKey<R>(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>, _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        switch self {
        case .method:
            return r.hasRequestLine ? body(base + Int(r.methodStart), Int(r.methodLength)) : body(RecordField.dash, 1)
        case .path:
            return r.hasPath ? body(base + Int(r.pathStart), Int(r.pathLength)) : body(RecordField.dash, 1)
        case .client:
            return body(base + Int(r.clientStart), Int(r.clientLength))
        case .ua:
            return r.hasUserAgent ? body(base + Int(r.uaStart), Int(r.uaLength)) : body(RecordField.dash, 1)
        case .agent:
            return BotDetector.isBot(r, base) ? body(RecordField.bot, 3) : body(RecordField.human, 5)
        case .status, .statusClass:
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 3) { out in
                let p = out.baseAddress!
                p[0] = UInt8(48 + r.status / 100 % 10)
                p[1] = self == .status ? UInt8(48 + r.status / 10 % 10) : UInt8(ascii: "x")
                p[2] = self == .status ? UInt8(48 + r.status % 10) : UInt8(ascii: "x")
                return body(p, 3)
            }
        case .endpoint:
            guard r.hasPath else { return body(RecordField.dash, 1) }
            if r.flags & ParsedRecord.Flags.pathNormalized != 0 { return body(base + Int(r.pathStart), Int(r.pathLength)) }
            let n = Int(r.pathLength)
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 3 * n + 3) { out in
                body(out.baseAddress!, PathNormalizer.normalize(base + Int(r.pathStart), n, into: out.baseAddress!))
            }
        case .network:
            let n = Int(r.clientLength)
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n + 8) { out in
                body(out.baseAddress!, RecordField.network(base + Int(r.clientStart), n, ipv4Bits: 24, ipv6Groups: 3, into: out.baseAddress!))
            }
        case .user:
            let c = Int(r.clientLength)
            let u = r.hasUserAgent ? Int(r.uaLength) : 1
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: c + 1 + u) { out in
                let p = out.baseAddress!
                p.update(from: base + Int(r.clientStart), count: c)
                p[c] = UInt8(ascii: " ")
                (p + c + 1).update(from: r.hasUserAgent ? base + Int(r.uaStart) : RecordField.dash, count: u)
                return body(p, c + 1 + u)
            }
        }
    }

    /// A 64-bit hash of the field (for distinct counts and session state).
    @inlinable
    public func hash(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> UInt64 {
        if self == .user {
            // Client and agent hashed apart and mixed: no copy of the ~150 bytes per record.
            let c = ByteKeyCounter.hash(base + Int(r.clientStart), Int(r.clientLength))
            let u = r.hasUserAgent ? ByteKeyCounter.hash(base + Int(r.uaStart), Int(r.uaLength)) : ByteKeyCounter.hash(RecordField.dash, 1)
            var h = c ^ (u &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019)
            h ^= h >> 31
            return h &* 0xBF58_476D_1CE4_E5B9
        }
        return withKey(r, base) { ByteKeyCounter.hash($0, $1) }
    }

    /// Writes the network of a client address into `out` (at least `n + 8` bytes) and returns its length:
    /// IPv4 masked to `ipv4Bits` (`10.1.2.0/24`), IPv6 cut after `ipv6Groups` groups (`2001:db8:1::/48`),
    /// anything else (host names) copied unchanged.
    @inlinable
    public static func network(_ p: UnsafePointer<UInt8>, _ n: Int, ipv4Bits: Int, ipv6Groups: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        if let a = FilterExpression.ipv4(p, n) {
            let bits = max(0, min(32, ipv4Bits))
            let masked = bits == 0 ? 0 : a & ~UInt32(0) << UInt32(32 - bits)
            var w = 0
            func put(_ v: UInt32) {
                if v >= 100 { out[w] = UInt8(48 + v / 100); w += 1 }
                if v >= 10 { out[w] = UInt8(48 + v / 10 % 10); w += 1 }
                out[w] = UInt8(48 + v % 10)
                w += 1
            }
            for shift in stride(from: 24, through: 0, by: -8) {
                put(masked >> UInt32(shift) & 0xFF)
                out[w] = shift == 0 ? UInt8(ascii: "/") : UInt8(ascii: ".")
                w += 1
            }
            put(UInt32(bits))
            return w
        }
        guard memchr(p, Int32(UInt8(ascii: ":")), n) != nil else {
            out.update(from: p, count: n)
            return n
        }
        // IPv6: keep the first groups as written, then `::/bits`.
        var groups = 0
        var i = 0
        while i < n && groups < ipv6Groups {
            if p[i] == UInt8(ascii: ":") {
                groups += 1
                if groups == ipv6Groups || (i + 1 < n && p[i + 1] == UInt8(ascii: ":")) { break }
            }
            i += 1
        }
        out.update(from: p, count: i)
        var w = i
        let suffix = "::/\(ipv6Groups * 16)"
        for b in suffix.utf8 {
            out[w] = b
            w += 1
        }
        return w
    }

    // Constant keys for records without the field: allocated once and never written, so sharing them
    // across threads is safe although a pointer is not `Sendable`.
    @usableFromInline nonisolated(unsafe) static let dash = constant("-")
    @usableFromInline nonisolated(unsafe) static let bot = constant("bot")
    @usableFromInline nonisolated(unsafe) static let human = constant("human")

    static func constant(_ s: String) -> UnsafePointer<UInt8> {
        let bytes = Array(s.utf8)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        p.initialize(from: bytes, count: bytes.count)
        return UnsafePointer(p)
    }
}

/// The numbers a group can aggregate.
public enum RecordMeasure: String, CaseIterable, Sendable {
    /// Response size in bytes.
    case bytes
    /// Time to serve the request, µs (only records whose format logs it).
    case requestTime = "request_time"

    /// The value for a record, or nil when it has none.
    @inlinable
    public func value(_ r: ParsedRecord) -> Int64? {
        switch self {
        case .bytes: return r.size
        case .requestTime: return r.requestMicros >= 0 ? r.requestMicros : nil
        }
    }
}
