/// The browser and operating system a user agent names, as GoAccess's "browsers" and "operating systems"
/// panels group them: the family only (Chrome, not Chrome 120.0.6099), from the tokens agents announce.
///
/// Classifying costs a few substring searches, so the aggregate does it once per distinct agent (when the
/// agent first enters its table) and counts records by the result.
public enum UserAgentFamily {
    /// Browser families, in the order they are tested: agents name the engines they descend from too
    /// (Edge says "Chrome" and "Safari", Chrome says "Safari"), so the most specific comes first.
    public static let browsers = [
        "Bots & tools", "Feed readers", "Edge", "Opera", "Samsung Internet", "Firefox", "Chrome", "Safari", "Internet Explorer", "Other",
    ]
    /// Operating system families; the phones before the desktops whose names their agents repeat
    /// (Android agents say "Linux", iPhone agents say "like Mac OS X").
    public static let systems = ["Android", "iOS", "Windows", "macOS", "ChromeOS", "Linux", "BSD", "Unknown"]

    /// Rules as (family index, any of these tokens), tested in order; matching is case-sensitive, as the
    /// tokens are written by the browsers themselves.
    private static let browserRules: [(Int, [[UInt8]])] = [
        (2, ["Edg/", "Edge/", "EdgA/", "EdgiOS/"]),
        (3, ["OPR/", "Opera"]),
        (4, ["SamsungBrowser/"]),
        (5, ["Firefox/", "FxiOS/"]),
        (6, ["Chrome/", "CriOS/", "Chromium/"]),
        (7, ["Safari/"]),
        (8, ["MSIE ", "Trident/"]),
    ].map { ($0.0, $0.1.map { Array($0.utf8) }) }
    private static let feedRules: [(Int, [[UInt8]])] = [(1, ["Feed", "feed", "RSS", "LiveJournal.com"].map { Array($0.utf8) })]
    private static let systemRules: [(Int, [[UInt8]])] = [
        (0, ["Android"]),
        (1, ["iPhone", "iPad", "iPod", "iOS"]),
        (2, ["Windows"]),
        (3, ["Macintosh", "Mac OS X"]),
        (4, ["CrOS"]),
        (5, ["Linux", "X11"]),
        (6, ["BSD"]),
    ].map { ($0.0, $0.1.map { Array($0.utf8) }) }

    /// "Other" and "Unknown", packed.
    public static let unknown = UInt8((browsers.count - 1) << 4 | (systems.count - 1))

    /// The family indices (into `browsers` and `systems`) of an agent's bytes, packed as browser << 4 | os.
    /// Feed readers (which fetch on a timer: GoAccess counts them apart) come first; then crawlers,
    /// monitors and scripts (`BotDetector`) are one browser family whatever engine they claim.
    public static func classify(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt8 {
        let agent = UnsafeBufferPointer(start: p, count: n)
        func first(_ rules: [(Int, [[UInt8]])], otherwise: Int) -> Int {
            rules.first { $0.1.contains { contains(agent, $0) } }?.0 ?? otherwise
        }
        let browser = first(feedRules, otherwise: -1) >= 0 ? 1
            : BotDetector.isBot(p, n) ? 0 : first(browserRules, otherwise: browsers.count - 1)
        let os = first(systemRules, otherwise: systems.count - 1)
        return UInt8(browser << 4 | os)
    }

    /// The packed families of an agent given as a string (tests and tools).
    public static func classify(_ agent: String) -> (browser: String, os: String) {
        var bytes = Array(agent.utf8)
        if bytes.isEmpty { bytes = [UInt8(ascii: "-")] }
        let packed = bytes.withUnsafeBufferPointer { classify($0.baseAddress!, $0.count) }
        return (browsers[Int(packed >> 4)], systems[Int(packed & 15)])
    }

    /// Whether `needle` occurs in `haystack` (a plain scan: it runs once per distinct agent, and Glibc's
    /// `memmem` is a GNU extension Swift's Glibc module does not export).
    private static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let head = needle.first else { return false }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == head {
                var k = 1
                while k < needle.count && haystack[i + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
