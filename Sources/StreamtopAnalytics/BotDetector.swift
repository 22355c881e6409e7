#if canImport(Glibc)
    import Glibc
#endif
import StreamtopLogs

/// Tells crawlers, monitors and scripted clients from browsers by their user agent: a case-insensitive
/// search for the words they announce themselves with (`bot`, `crawl`, `spider`, `curl/`…). An empty agent
/// or `-` counts as a bot (browsers always send one); a format without agents has no bots.
public enum BotDetector {
    /// Lower-case markers, each a substring of a bot's user agent and of no common browser's.
    public static let markers = [
        "bot", "crawl", "spider", "slurp", "curl/", "wget/", "python-", "go-http-client", "java/", "libwww",
        "httpclient", "headless", "scrapy", "facebookexternalhit", "monitor", "pingdom", "uptime", "feedfetcher",
        "check_http", "nagios", "zgrab", "masscan", "nmap", "axios/", "node-fetch", "okhttp/", "ruby", "perl",
        "php/", "postman", "insomnia", "httpie", "lighthouse", "preview", "archiver", "fetcher", "scan",
    ]
    @usableFromInline static let table = MarkerTable(markers)

    /// Whether the record's agent is a bot's (uses the flag a map task set, if any).
    @inlinable
    public static func isBot(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> Bool {
        if r.flags & ParsedRecord.Flags.botChecked != 0 { return r.flags & ParsedRecord.Flags.bot != 0 }
        guard r.hasUserAgent else { return false }
        return isBot(base + Int(r.uaStart), Int(r.uaLength))
    }

    /// Whether a user agent is a bot's.
    @inlinable
    public static func isBot(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        if n == 0 || (n == 1 && p[0] == UInt8(ascii: "-")) { return true }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { lower in
            let l = lower.baseAddress!
            for i in 0..<n {
                let b = p[i]
                l[i] = b &- 65 < 26 ? b | 0x20 : b
            }
            return table.matches(l, n)
        }
    }

    /// The markers indexed by their first byte, so each position of the agent is tried against only the
    /// markers that can start there.
    @usableFromInline
    final class MarkerTable: @unchecked Sendable {
        let bytes: [[UInt8]]
        /// For each first byte, the indices of the markers starting with it.
        let byFirst: [[Int]]

        init(_ markers: [String]) {
            bytes = markers.map { Array($0.utf8) }
            var index = [[Int]](repeating: [], count: 256)
            for (i, m) in bytes.enumerated() { index[Int(m[0])].append(i) }
            byFirst = index
        }

        @usableFromInline
        func matches(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
            for i in 0..<n {
                for m in byFirst[Int(p[i])] {
                    let marker = bytes[m]
                    if marker.count <= n - i && marker.withUnsafeBufferPointer({ memcmp(p + i, $0.baseAddress!, marker.count) == 0 }) {
                        return true
                    }
                }
            }
            return false
        }
    }
}
