import Testing
@testable import StreamtopAnalytics
import StreamtopEngine

/// GoAccess's panels in the report's aggregates (console issue: "what to add"): hours of the day, bytes
/// per minute, the paths answered 404, distinct clients per day; merged across slots and kept in checkpoints.
@Suite struct PanelTests {
    func line(_ client: String, _ day: Int, _ time: String, _ path: String, _ status: Int, _ size: Int) -> String {
        #"\#(client) - - [\#(day)/Nov/2024:\#(time) +0000] "GET \#(path) HTTP/1.1" \#(status) \#(size)"#
    }

    func aggregate() -> AccessAggregate {
        var a = AccessAggregate()
        let lines = [
            line("1.1.1.1", 25, "09:00:01", "/", 200, 100), line("1.1.1.1", 25, "09:00:30", "/a", 404, 10),
            line("2.2.2.2", 25, "09:01:00", "/a", 404, 10), line("3.3.3.3", 25, "14:10:00", "/b", 404, 10),
            line("1.1.1.1", 26, "14:20:00", "/", 200, 1000),
        ]
        a.add(SummaryCacheTests().block(lines).payload(as: ParsedBlock.self))
        return a
    }

    @Test func hoursBytesNotFoundAndVisitors() {
        let s = aggregate().summary()
        #expect(s.hours.count == 24 && s.hours[9] == 3 && s.hours[14] == 2 && s.hours.reduce(0, +) == 5)
        #expect(s.bytesPerMinute.map(\.count) == [110, 10, 10, 1000], "\(s.bytesPerMinute)")
        #expect(s.topNotFound == [KeyCount(key: "/a", count: 2), KeyCount(key: "/b", count: 1)])
        #expect(s.visitorsPerDay.map(\.count) == [3, 1], "three clients on the 25th, one on the 26th: \(s.visitorsPerDay)")
    }

    @Test func panelsSurviveACheckpointAndOldCheckpointsStillRestore() throws {
        let a = aggregate()
        var w = StateWriter()
        a.saveState(&w)
        var r = StateReader(w.bytes)
        var b = AccessAggregate()
        try b.restoreState(&r)
        #expect(r.isAtEnd)
        let (sa, sb) = (a.summary(), b.summary())
        #expect(sa.hours == sb.hours && sa.bytesPerMinute == sb.bytesPerMinute && sa.topNotFound == sb.topNotFound && sa.visitorsPerDay == sb.visitorsPerDay)
        // A checkpoint written before the panels existed ends after the served-time histogram: it restores
        // with empty panels (everything else as it was).
        var old = StateWriter()
        var bare = a
        bare.saveState(&old)
        let cut = old.bytes.count - (w.bytes.count - panelsStart(a))
        var oldReader = StateReader(Array(old.bytes.prefix(cut)))
        var c = AccessAggregate()
        try c.restoreState(&oldReader)
        #expect(c.summary().records == 5 && c.summary().hours.reduce(0, +) == 0)
    }

    /// Where the panels begin in a checkpoint of `a`: its bytes without them.
    func panelsStart(_ a: AccessAggregate) -> Int {
        var w = StateWriter()
        for v in [a.lines, a.records, a.malformed, a.filtered, a.keyLimit, a.pathsUndercount, a.clientsUndercount] { w.int(v) }
        w.i64(a.bytes)
        w.i64(a.firstEvent)
        w.i64(a.lastEvent)
        w.numbers(a.status.map { Int64($0) })
        a.methods.saveState(&w)
        a.paths.saveState(&w)
        a.clients.saveState(&w)
        a.clientSketch.saveState(&w)
        a.pathSketch.saveState(&w)
        w.counts(a.minutes)
        w.histogram(a.requestTime)
        return w.bytes.count
    }

    @Test func slotsMergeTheirPanels() {
        var a = aggregate()
        a.merge(aggregate())
        let s = a.summary()
        #expect(s.hours[9] == 6 && s.topNotFound.first == KeyCount(key: "/a", count: 4) && s.visitorsPerDay.map(\.count) == [3, 1])
    }

    func combined(_ client: String, _ time: String, referer: String, agent: String, vhost: String? = nil) -> String {
        (vhost.map { $0 + " " } ?? "") + #"\#(client) - - [25/Nov/2024:\#(time) +0000] "GET / HTTP/1.1" 200 10 "\#(referer)" "\#(agent)""#
    }

    static let chromeOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
    static let safariOnIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
    static let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

    func agentsAggregate() -> AccessAggregate {
        var a = AccessAggregate()
        let lines = [
            combined("1.1.1.1", "09:00:01", referer: "https://www.google.com/search?q=streamtop", agent: Self.chromeOnWindows),
            combined("1.1.1.1", "09:00:02", referer: "https://www.google.com/", agent: Self.chromeOnWindows),
            // The same address with another browser: a second visitor (GoAccess: client + agent per day).
            combined("1.1.1.1", "09:00:03", referer: "-", agent: Self.safariOnIPhone),
            combined("2.2.2.2", "09:00:04", referer: "android-app://com.slack", agent: Self.googlebot),
            combined("3.3.3.3", "09:00:05", referer: "https://news.ycombinator.com", agent: "-"),
        ]
        a.add(SummaryCacheTests().block(lines).payload(as: ParsedBlock.self))
        return a
    }

    @Test func browsersSystemsReferringSitesAndVisitorsByAgent() {
        let s = agentsAggregate().summary()
        // The `-` agent is no browser: it is in neither list (shares are of the records with an agent).
        #expect(s.browsers == [KeyCount(key: "Chrome", count: 2), KeyCount(key: "Bots & tools", count: 1), KeyCount(key: "Safari", count: 1)], "\(s.browsers)")
        #expect(s.systems == [KeyCount(key: "Windows", count: 2), KeyCount(key: "Unknown", count: 1), KeyCount(key: "iOS", count: 1)], "\(s.systems)")
        #expect(s.topReferrers == [KeyCount(key: "www.google.com", count: 2), KeyCount(key: "com.slack", count: 1), KeyCount(key: "news.ycombinator.com", count: 1)], "\(s.topReferrers)")
        #expect(s.topVhosts.isEmpty)
        #expect(s.visitorsPerDay.map(\.count) == [4], "three clients, one with two browsers: \(s.visitorsPerDay)")
    }

    @Test func aBurstOfOneBrowsersRequestsCountsAsLineByLine() {
        // Repeats of the previous record's agent and referrer take a shortcut; one block of a burst must
        // count exactly what the same lines count one block each (where there is no previous record).
        let lines = [
            combined("1.1.1.1", "09:00:01", referer: "https://a.example/x", agent: Self.chromeOnWindows),
            combined("1.1.1.1", "09:00:01", referer: "https://a.example/x", agent: Self.chromeOnWindows),
            combined("2.2.2.2", "09:00:02", referer: "https://a.example/y", agent: Self.chromeOnWindows),
            combined("2.2.2.2", "09:00:02", referer: "https://a.example/y", agent: Self.safariOnIPhone),
            combined("1.1.1.1", "09:00:03", referer: "https://a.example/x", agent: Self.chromeOnWindows),
            combined("3.3.3.3", "09:00:04", referer: "-", agent: Self.googlebot),
            combined("3.3.3.3", "09:00:04", referer: "-", agent: Self.googlebot),
        ]
        var burst = AccessAggregate()
        burst.add(SummaryCacheTests().block(lines).payload(as: ParsedBlock.self))
        var single = AccessAggregate()
        for l in lines { single.add(SummaryCacheTests().block([l]).payload(as: ParsedBlock.self)) }
        let (a, b) = (burst.summary(), single.summary())
        #expect(a.browsers == b.browsers && a.systems == b.systems && a.topReferrers == b.topReferrers && a.visitorsPerDay == b.visitorsPerDay)
        #expect(a.topReferrers == [KeyCount(key: "a.example", count: 5)] && a.browsers.first == KeyCount(key: "Chrome", count: 4))
        #expect(burst.agents.top(5) == single.agents.top(5))
    }

    @Test func referringSitesAreHostsWithoutCredentials() {
        func site(_ referer: String) -> String? {
            let bytes = Array(referer.utf8)
            return bytes.withUnsafeBufferPointer { b in
                AccessAggregate.site(b.baseAddress!, b.count).map { String(decoding: UnsafeBufferPointer(start: $0.0, count: $0.1), as: UTF8.self) }
            }
        }
        #expect(site("https://www.google.com/search?q=x") == "www.google.com")
        #expect(site("http://user:secret@host.example:8080/p") == "host.example:8080", "a password never reaches the screen")
        #expect(site("//cdn.example/x") == "cdn.example")
        #expect(site("http://") == nil && site("https:///x") == nil, "a URL without a host is no site")
        #expect(site("android-app://com.slack") == "com.slack")
        #expect(site("not a url") == "not a url")
    }

    @Test func agentsAreClassifiedByFamily() {
        let cases: [(String, String, String)] = [
            (Self.chromeOnWindows, "Chrome", "Windows"),
            (Self.safariOnIPhone, "Safari", "iOS"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge", "Windows"),
            ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "Linux"),
            ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet", "Android"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Opera", "macOS"),
            ("Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)", "Internet Explorer", "Windows"),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", "ChromeOS"),
            ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome", "iOS"),
            (Self.googlebot, "Bots & tools", "Unknown"),
            ("curl/8.4.0", "Bots & tools", "Unknown"),
            ("Tiny Tiny RSS/1.11 (http://tt-rss.org/)", "Feed readers", "Unknown"),
            ("UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/", "Feed readers", "Unknown"),
            ("-", "Bots & tools", "Unknown"),
            ("Lynx/2.8.9rel.1 libwww-FM/2.14", "Bots & tools", "Unknown"),
            ("SomethingNew/1.0 (FreeBSD amd64)", "Other", "BSD"),
        ]
        for (agent, browser, os) in cases {
            let f = UserAgentFamily.classify(agent)
            #expect(f.browser == browser && f.os == os, "\(agent): \(f)")
        }
    }

    @Test func newPanelsMergeAcrossSlotsAndSurviveACheckpoint() throws {
        var a = agentsAggregate()
        a.merge(agentsAggregate())
        let s = a.summary()
        #expect(s.browsers.first == KeyCount(key: "Chrome", count: 4) && s.topReferrers.first == KeyCount(key: "www.google.com", count: 4))
        // Merging into an empty slot carries the families over without classifying again.
        var empty = AccessAggregate()
        empty.merge(a)
        #expect(empty.summary().browsers == s.browsers && empty.agentFamilies == a.agentFamilies)

        var w = StateWriter()
        a.saveState(&w)
        var r = StateReader(w.bytes)
        var b = AccessAggregate()
        try b.restoreState(&r)
        #expect(r.isAtEnd)
        let restored = b.summary()
        #expect(restored.browsers == s.browsers && restored.systems == s.systems && restored.topReferrers == s.topReferrers)
        // The restored table classifies the agents it brought: a later record of a known agent counts.
        b.add(SummaryCacheTests().block([combined("9.9.9.9", "10:00:00", referer: "-", agent: Self.safariOnIPhone)]).payload(as: ParsedBlock.self))
        #expect(b.summary().browsers.first { $0.key == "Safari" }?.count == 3)

        // A checkpoint from before these panels (it ends after the visitors) restores them empty.
        var before = StateWriter()
        a.saveState(&before)
        var tail = StateWriter()
        a.agents.saveState(&tail)
        tail.numbers(a.browsers.map { Int64($0) })
        tail.numbers(a.systems.map { Int64($0) })
        a.referrers.saveState(&tail)
        tail.int(a.referrersUndercount)
        a.vhosts.saveState(&tail)
        tail.int(a.vhostsUndercount)
        var oldReader = StateReader(Array(before.bytes.dropLast(tail.bytes.count)))
        var c = AccessAggregate()
        try c.restoreState(&oldReader)
        #expect(c.summary().records == 10 && c.summary().browsers.isEmpty && c.summary().visitorsPerDay == s.visitorsPerDay)
    }

    @Test func manyAgentsAndReferrersStayBoundedAndFamiliesStayExact() {
        var a = AccessAggregate()
        // Strangers can send any agent: past the bound the table drops its least counted, but every record
        // is still counted by family.
        for chunk in 0..<3 {
            let lines = (0..<5_000).map { i in
                combined("10.0.\(i % 250).\(chunk)", "09:00:00", referer: "https://site\(chunk * 5_000 + i).example/", agent: "Mozilla/5.0 (Windows NT 10.0) Firefox/\(chunk * 5_000 + i).0")
            }
            a.add(SummaryCacheTests().block(lines).payload(as: ParsedBlock.self))
        }
        #expect(a.agents.count <= AccessAggregate.notFoundLimit && a.referrers.count <= AccessAggregate.notFoundLimit)
        #expect(a.agentFamilies.count == a.agents.count)
        let s = a.summary()
        #expect(s.browsers == [KeyCount(key: "Firefox", count: 15_000)] && s.systems == [KeyCount(key: "Windows", count: 15_000)])
        #expect(s.referrersUndercount >= 1, "the dropped referrers are owned up to")
    }
}
