/// One access-log record, as offsets into the block it was parsed from.
///
/// Nothing here owns bytes: the record is only meaningful together with its block's buffer. This keeps
/// parsing free of per-record allocation; only keys that survive into aggregates are ever copied.
public struct ParsedRecord: Sendable, Equatable {
    /// Offset of the client field (IP address or host name) from the start of the block.
    public var clientStart: Int32
    /// Length of the client field in bytes.
    public var clientLength: Int32
    /// Offset of the request method, or -1 when the request has no method and target (reported as `-`).
    public var methodStart: Int32
    /// Length of the request method.
    public var methodLength: Int32
    /// Offset of the path (request target up to its first `?`); unused when `methodStart` is -1.
    public var pathStart: Int32
    /// Length of the path; may be 0 (a target that starts with `?`).
    public var pathLength: Int32
    /// HTTP status, 0...999.
    public var status: UInt16
    /// Derived facts a map task has settled (see `Flags`), so later tasks need not recompute them.
    /// (Declared beside `status`: it fills that field's padding instead of adding 8 bytes at the end.)
    public var flags: UInt8 = 0
    /// Response size in bytes (`-` is 0).
    public var size: Int64
    /// Event time in UTC seconds since the epoch.
    public var time: Int64
    /// Time the server took to serve the request, in microseconds, or -1 when the format has none.
    public var requestMicros: Int64 = -1
    /// Offset of the user agent, or -1 when the line has none (common format, or a format without it).
    public var uaStart: Int32 = -1
    /// Length of the user agent.
    public var uaLength: Int32 = 0
    /// Offset of the referrer, or -1 when the line has none or it is `-` (a direct request).
    public var refererStart: Int32 = -1
    /// Length of the referrer.
    public var refererLength: Int32 = 0
    /// Offset of the virtual host, or -1 when the format logs none.
    public var vhostStart: Int32 = -1
    /// Length of the virtual host.
    public var vhostLength: Int32 = 0

    /// Creates a record from field offsets. (Inlinable: the parsers are inlined into other modules'
    /// loops, where a call per record was 0.7 % of the analytics pipeline.)
    @inlinable
    public init(
        clientStart: Int32, clientLength: Int32, methodStart: Int32, methodLength: Int32, pathStart: Int32,
        pathLength: Int32, status: UInt16, size: Int64, time: Int64
    ) {
        self.clientStart = clientStart
        self.clientLength = clientLength
        self.methodStart = methodStart
        self.methodLength = methodLength
        self.pathStart = pathStart
        self.pathLength = pathLength
        self.status = status
        self.size = size
        self.time = time
    }

    /// Bits of `flags`.
    public enum Flags {
        /// Bot detection has run on this record.
        public static let botChecked: UInt8 = 1
        /// The user agent is a bot's (valid when `botChecked` is set).
        public static let bot: UInt8 = 2
        /// The path was normalized by a map task (normalizing is idempotent: the endpoint is the path).
        public static let pathNormalized: UInt8 = 4
    }

    /// True when the record has a user agent.
    /// The record with every offset moved by `delta` (its block's bytes were copied `delta` bytes further
    /// into another buffer); absent fields (negative offsets) stay absent. Every offset field is here: a
    /// new one must be added too.
    public func rebased(by delta: Int32) -> ParsedRecord {
        var r = self
        if r.clientStart >= 0 { r.clientStart += delta }
        if r.methodStart >= 0 { r.methodStart += delta }
        if r.pathStart >= 0 { r.pathStart += delta }
        if r.uaStart >= 0 { r.uaStart += delta }
        if r.refererStart >= 0 { r.refererStart += delta }
        if r.vhostStart >= 0 { r.vhostStart += delta }
        return r
    }

    @inlinable public var hasUserAgent: Bool { uaStart >= 0 }

    /// True when the record has a referrer (not `-`).
    @inlinable public var hasReferer: Bool { refererStart >= 0 }

    /// True when the record has a virtual host.
    @inlinable public var hasVhost: Bool { vhostStart >= 0 }

    /// True when the record has a method (else it is reported as `-`).
    @inlinable public var hasRequestLine: Bool { methodStart >= 0 }
    /// True when the record has a path: with a method, or from a format that logs the path alone
    /// (`methodStart` is then -2).
    @inlinable public var hasPath: Bool { methodStart >= 0 || methodStart == -2 }
}
