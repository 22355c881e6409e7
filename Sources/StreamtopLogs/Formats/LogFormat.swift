#if canImport(Glibc)
    import Glibc
#endif

/// What a field of a log format holds.
public enum FieldKind: String, Equatable, Sendable, CaseIterable {
    case client, ident, user
    case timeCLF, timeISO, timeEpoch
    case request, method, uri
    case status, size
    case referer, userAgent, vhost
    case requestTimeSeconds, requestTimeMillis, requestTimeMicros, requestTimeNanos
    case ignore
}

/// One piece of a compiled format: text that must appear as is, or a field.
public enum FormatToken: Equatable, Sendable {
    /// Bytes that must appear exactly.
    case literal([UInt8])
    /// A field of a kind, with the name the user wrote (`$remote_addr`, `%h`) for messages.
    case field(FieldKind, String)
}

/// A log format: the contract's combined/common parser, a compiled custom format, or JSON lines.
/// Immutable and thread-safe; `parse` allocates nothing.
public enum LogFormat: Sendable {
    /// Apache/nginx combined and common, with optional trailing fields (the report contract's grammar).
    case combined
    /// A format compiled from an nginx `log_format` or Apache `LogFormat` string.
    case compiled(CompiledFormat)
    /// One JSON object per line, fields found by name.
    case jsonLines(JSONFieldMap)

    /// Whether the format logs the time to serve a request: false for combined and common, and for a
    /// compiled format without `$request_time` or `%D`/`%T`; nil for JSON lines (it depends on the lines).
    public var logsServedTime: Bool? {
        switch self {
        case .combined: return false
        case .compiled(let c):
            return c.tokens.contains { token in
                guard case .field(let kind, _) = token else { return false }
                return [.requestTimeSeconds, .requestTimeMillis, .requestTimeMicros, .requestTimeNanos].contains(kind)
            }
        case .jsonLines: return nil
        }
    }

    /// A short name for messages and the dashboard.
    public var name: String {
        switch self {
        case .combined: return "combined"
        case .compiled(let c): return c.name
        case .jsonLines: return "json"
        }
    }

    /// Parses the line `[start, start + count)` of `base`.
    @inlinable
    public func parse(_ base: UnsafePointer<UInt8>, start: Int, count: Int) -> CombinedLogParser.Outcome {
        var times = LogTime.CLFCache()
        return parse(base, start: start, count: count, times: &times)
    }

    /// `parse` in a loop over lines: `times` carries the last time read to the next line.
    @inlinable
    public func parse(_ base: UnsafePointer<UInt8>, start: Int, count: Int, times: inout LogTime.CLFCache) -> CombinedLogParser.Outcome {
        switch self {
        case .combined: return CombinedLogParser.parse(base, start: start, count: count, times: &times)
        case .compiled(let c): return c.parse(base, start: start, count: count, times: &times)
        case .jsonLines(let m): return JSONLineParser.parse(base, start: start, count: count, map: m)
        }
    }

    /// The event time of the line `[start, end)` (UTC seconds), or nil when it has none this format reads.
    /// For pacing replays and the recording's span: combined logs take the first `[...]` timestamp even
    /// when the rest of the line is malformed; other formats parse the line.
    public func eventTime(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        switch self {
        case .combined:
            guard end > start, let open = memchr(base + start, Int32(UInt8(ascii: "[")), end - start) else { return nil }
            let i = base.distance(to: open.assumingMemoryBound(to: UInt8.self)) + 1
            guard i + 27 <= end, base[i + 26] == UInt8(ascii: "]") else { return nil }
            return LogTime.parseCLF(base + i, count: 26)
        default:
            if case .record(let r) = parse(base, start: start, count: end - start) { return r.time }
            return nil
        }
    }

    /// Presets by name: `combined`, `common` (both the contract's parser), `vcombined` (virtual host
    /// first, as Apache's vhost_combined), `nginx-timed` (combined plus `$request_time` and upstream time,
    /// nginx's common extension), `json` (nginx escape=json, Caddy, Traefik field names).
    public static func preset(_ name: String) -> LogFormat? {
        switch name.lowercased() {
        case "combined", "common", "clf", "ncsa": return .combined
        case "vcombined", "vhost_combined", "vhost-combined": return compiledPresets.vcombined.map { .compiled($0) }
        case "vcommon", "vhost": return compiledPresets.vcommon.map { .compiled($0) }
        case "nginx-timed", "nginx_timed": return compiledPresets.nginxTimed.map { .compiled($0) }
        case "json", "jsonl", "ndjson": return .jsonLines(JSONFieldMap())
        default: return nil
        }
    }

    /// The presets written as format strings, compiled once. The strings are constants that the tests
    /// compile (`everyPresetNameResolves`); were one ever broken, its name would read as an unknown
    /// format (a clear error) rather than trap.
    private static let compiledPresets = (
        vcombined: try? CompiledFormat.apache(#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#, name: "vcombined"),
        vcommon: try? CompiledFormat.apache(#"%v %h %l %u %t "%r" %>s %b"#, name: "vcommon"),
        nginxTimed: try? CompiledFormat.nginx(#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_time"#, name: "nginx-timed")
    )

    /// The names `preset` accepts, for help and errors.
    public static let presetNames = ["combined", "common", "vcombined", "vcommon", "nginx-timed", "json"]

    /// What `--format auto` tries, most specific first, so that a line several formats accept is
    /// credited to the one that reads the most from it.
    public static var detectionCandidates: [LogFormat] {
        ["nginx-timed", "vcombined", "vcommon", "combined", "json"].compactMap { preset($0) }
    }
}
