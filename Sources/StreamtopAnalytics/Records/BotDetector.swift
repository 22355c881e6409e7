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
        return table.matches(p, n)
    }

    /// The markers indexed by their first two bytes: each position of the agent costs one lookup in a
    /// 64 KiB bitmap, and only positions where some marker could start are compared (ignoring case).
    @usableFromInline
    final class MarkerTable: @unchecked Sendable {
        let markers: [[UInt8]]
        /// Per lower-case byte pair, 1 + the index of the first marker starting with it (0: none), and per
        /// marker the next one with the same first two bytes.
        let first: UnsafeMutablePointer<UInt8>
        let next: [Int]

        init(_ list: [String]) {
            markers = list.map { Array($0.utf8) }
            first = .allocate(capacity: 65536)
            first.initialize(repeating: 0, count: 65536)
            var chain = [Int](repeating: -1, count: markers.count)
            for (i, m) in markers.enumerated().reversed() {
                let pair = Int(m[0]) << 8 | Int(m[1])
                if first[pair] != 0 { chain[i] = Int(first[pair]) - 1 }
                first[pair] = UInt8(i + 1)
            }
            next = chain
        }

        deinit { first.deallocate() }

        @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b &- 65 < 26 ? b | 0x20 : b }

        @usableFromInline
        func matches(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
            guard n >= 2 else { return false }
            var pair = Int(Self.lower(p[0]))
            for i in 0..<(n - 1) {
                pair = (pair << 8 | Int(Self.lower(p[i + 1]))) & 0xFFFF
                var index = Int(first[pair]) - 1
                while index >= 0 {
                    let m = markers[index]
                    if m.count <= n - i {
                        var k = 2
                        while k < m.count && Self.lower(p[i + k]) == m[k] { k += 1 }
                        if k == m.count { return true }
                    }
                    index = next[index]
                }
            }
            return false
        }
    }
}
