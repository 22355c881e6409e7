#if canImport(Glibc)
    import Glibc
#endif
import Histogram
import StreamtopEngine
import StreamtopLogs

/// The report's aggregates over some records: status codes, methods, paths, clients, bytes, event-time
/// range and per-minute counts. One instance per worker slot; merged when read.
/// Not thread-safe: the aggregate operator guards each slot.
public struct AccessAggregate {
    /// Non-empty lines seen.
    public var lines = 0
    /// Lines that parsed as records.
    public var records = 0
    /// Lines that did not.
    public var malformed = 0
    /// Records a filter removed (lines = records + malformed + filtered).
    public var filtered = 0
    /// Sum of response sizes.
    public var bytes: Int64 = 0
    /// Count per status code 0...999.
    public var status = [Int](repeating: 0, count: 1000)
    /// Counts per method.
    public let methods = ByteKeyCounter(initialCapacity: 16)
    /// Counts per path.
    public let paths = ByteKeyCounter(initialCapacity: 4096)
    /// Counts per client.
    public let clients = ByteKeyCounter(initialCapacity: 4096)
    /// Distinct paths and clients kept (each) before the least counted are dropped; 0 keeps all (exact).
    public var keyLimit = 0
    /// Distinct clients, estimated (kept only with a key limit, for when clients have been dropped).
    public var clientSketch = HyperLogLog()
    /// Distinct paths, estimated (kept only with a key limit, for when paths have been dropped).
    public var pathSketch = HyperLogLog()
    /// How far a path's or client's count may fall short since keys were dropped (0 while exact).
    public var pathsUndercount = 0
    public var clientsUndercount = 0
    /// Records per UTC minute (epoch seconds of the minute's start).
    public var minutes: [Int64: Int] = [:]
    /// Earliest event time, or Int64.max when there are no records.
    public var firstEvent = Int64.max
    /// Latest event time, or Int64.min when there are no records.
    public var lastEvent = Int64.min
    /// Time to serve requests (µs), for formats that log it ($request_time, %D…).
    public var requestTime = AccessAggregate.emptyRequestTime
    /// GoAccess's panels, in bounded memory: requests per UTC hour of day, bytes served per minute, the
    /// paths answered 404 (at most `notFoundLimit` kept, least counted dropped), and distinct clients per
    /// UTC day (HyperLogLog, 4 KiB a day).
    public var hours = [Int](repeating: 0, count: 24)
    public var bytesPerMinute: [Int64: Int] = [:]
    public let notFound = ByteKeyCounter(initialCapacity: 64)
    public var notFoundUndercount = 0
    public var visitorsPerDay: [Int64: HyperLogLog] = [:]
    static let notFoundLimit = 10_000
    /// Distinct user agents (bounded like the 404 list), each with its browser and OS family packed as
    /// `UserAgentFamily.classify` gives them, at the same index: an agent is classified once, when it
    /// enters the table, and every record then costs two increments.
    public let agents = ByteKeyCounter(initialCapacity: 256)
    var agentFamilies: [UInt8] = []
    /// Records per browser family and per OS family (indices into `UserAgentFamily`'s lists): exact,
    /// whatever agents the bound on `agents` dropped.
    public var browsers = [Int](repeating: 0, count: UserAgentFamily.browsers.count)
    public var systems = [Int](repeating: 0, count: UserAgentFamily.systems.count)
    /// Referring sites (the host of each referrer; `-` is a direct request and not counted) and virtual
    /// hosts, bounded like the 404 list.
    public let referrers = ByteKeyCounter(initialCapacity: 256)
    public var referrersUndercount = 0
    public let vhosts = ByteKeyCounter(initialCapacity: 16)
    public var vhostsUndercount = 0
    /// The last five minutes of event time, for the dashboard's health strip (not checkpointed).
    public var health = HealthWindow()
    /// The open drill-down's breakdown, if any, and the number of the drill-down request this slot last
    /// took up (see `AggregateOperator.handle`; neither is checkpointed).
    public var drillDown: DrillDown?
    /// Records warmed at a time: enough misses in flight to overlap, few enough that their slots stay in
    /// the first-level cache until counted.
    static let warmChunk = 32
    public var focusGeneration = 0
    /// The request-time histogram's layout: up to an hour in µs, two significant digits.
    static let emptyRequestTime = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)

    /// Creates empty aggregates.
    public init() {}

    /// Hashes the clients and paths of up to `warmChunk` records from `from` into `hashes` (client, path,
    /// client, …) and brings where their tables keep them into the cache, a stage at a time for all of
    /// them (see `ByteKeyCounter.prefetchSlot`).
    @inline(__always)
    private func warm(_ recs: UnsafeBufferPointer<ParsedRecord>, from: Int, _ base: UnsafePointer<UInt8>, into hashes: UnsafeMutablePointer<UInt64>) {
        let n = min(Self.warmChunk, recs.count - from)
        for i in 0..<n {
            let r = recs[from + i]
            let hc = ByteKeyCounter.hash(base + Int(r.clientStart), Int(r.clientLength))
            let hp = RecordField.path.withKey(r, base) { ByteKeyCounter.hash($0, $1) }
            hashes[2 * i] = hc
            hashes[2 * i + 1] = hp
            clients.prefetchSlot(hc)
            paths.prefetchSlot(hp)
        }
        for i in 0..<n {
            clients.prefetchEntry(hashes[2 * i])
            paths.prefetchEntry(hashes[2 * i + 1])
        }
        for i in 0..<n {
            clients.prefetchKey(hashes[2 * i])
            paths.prefetchKey(hashes[2 * i + 1])
        }
    }

    /// Adds every record of a parsed block.
    public mutating func add(_ block: ParsedBlock) {
        lines += block.lines.lineCount
        malformed += block.malformed
        filtered += block.filtered
        records += block.records.count
        let base = block.lines.base
        var minute = Int64.min
        var minuteCount = 0
        var minuteBytes = 0
        // The day's visitors sketch is kept in a local while the records stay in one day (all of a block,
        // usually): a dictionary lookup per record would cost more than the sketch.
        var day = Int64.min
        var dayVisitors = HyperLogLog()
        var first = firstEvent
        var last = lastEvent
        var sum: Int64 = 0
        var tally = HealthWindow.Tally(bucket: Int64.min)
        // A looping replay's passes repeat the same event times: each pass's buckets come after the last
        // pass's (2^40 buckets of ten seconds apart), so the health window follows the pass being played
        // instead of adding every pass into the recording's last five minutes.
        let passBuckets = Int64(block.lines.pass) << 40
        // The previous record's agent and referrer, with where they are counted: in real logs a browser's
        // requests come in bursts (a page and its assets), and ~60 % of records repeat the agent and the
        // referrer of the one before. Comparing with it (in the same block, in cache) spares hashing
        // ~100 bytes and probing a table. Indices stay valid through a block: tables prune after it.
        var lastAgent = (p: UnsafePointer<UInt8>(bitPattern: 1)!, n: -1, index: 0, hash: UInt64(0))
        var lastReferer = (p: UnsafePointer<UInt8>(bitPattern: 1)!, n: -1, index: 0)
        // A minute's figures go to their tables once the records move on to the next minute.
        func flushMinute() {
            guard minuteCount > 0 else { return }
            minutes[minute, default: 0] += minuteCount
            bytesPerMinute[minute, default: 0] += minuteBytes
            hours[Int(((minute % 86_400) + 86_400) % 86_400 / 3600)] += minuteCount
        }
        // The tables as locals, and the per-record arrays moved out of `self` for the loop (put back after
        // it): reached through `self` inside the closure, every use retained and released its table and
        // checked its array's uniqueness, ~2 % of a followed log's CPU.
        let (methods, paths, clients, notFound, agents, referrers, vhosts) = (self.methods, self.paths, self.clients, self.notFound, self.agents, self.referrers, self.vhosts)
        var status = self.status, browsers = self.browsers, systems = self.systems, requestTime = self.requestTime
        self.status = []; self.browsers = []; self.systems = []; self.requestTime = Self.emptyRequestTime
        defer { (self.status, self.browsers, self.systems, self.requestTime) = (status, browsers, systems, requestTime) }
        let keyLimit = self.keyLimit
        block.records.withUnsafeBufferPointer { recs in
            // A chunk of records at a time, before they are counted, has its clients and paths hashed and
            // the places their tables keep them read (`warm`): the cache misses of a chunk are then in
            // flight at once instead of each probe waiting for its own.
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * Self.warmChunk) { hashes in
                for (i, r) in recs.enumerated() {
                    if i % Self.warmChunk == 0 { warm(recs, from: i, base, into: hashes.baseAddress!) }
                    let h = hashes[2 * (i % Self.warmChunk)]
                    let pathHash = hashes[2 * (i % Self.warmChunk) + 1]
                    status[Int(r.status)] += 1
                    // Saturates: parsers keep each size below 10^18, but enough of them could still wrap.
                    let (added, overflow) = sum.addingReportingOverflow(r.size)
                    sum = overflow ? .max : added
                    // A record without a request line counts as method `-` and path `-`, as the contract says.
                    RecordField.method.withKey(r, base) { methods.add($0, $1) }
                    RecordField.path.withKey(r, base) { paths.addHashed($0, $1, pathHash, 1) }
                    if keyLimit > 0 { pathSketch.add(pathHash) }
                    clients.addHashed(base + Int(r.clientStart), Int(r.clientLength), h, 1)
                    if keyLimit > 0 { clientSketch.add(h) }
                    if r.status == 404 { RecordField.path.withKey(r, base) { notFound.add($0, $1) } }
                    // A visitor is a client with its user agent, per day (GoAccess's definition): two people
                    // behind one address with different browsers are two.
                    var visitor = h
                    // An agent of `-` (or none) is no browser: it counts towards neither family list.
                    if r.hasUserAgent && r.uaLength > 0 && !(r.uaLength == 1 && base[Int(r.uaStart)] == UInt8(ascii: "-")) {
                        let p = base + Int(r.uaStart)
                        let n = Int(r.uaLength)
                        if n == lastAgent.n && memcmp(p, lastAgent.p, n) == 0 {
                            agents.add(at: lastAgent.index)
                        } else {
                            let uh = ByteKeyCounter.hash(p, n)
                            let index = agents.addHashed(p, n, uh, 1)
                            if index == agentFamilies.count { agentFamilies.append(UserAgentFamily.classify(p, n)) }
                            lastAgent = (p, n, index, uh)
                        }
                        let family = agentFamilies[lastAgent.index]
                        browsers[Int(family >> 4)] += 1
                        systems[Int(family & 15)] += 1
                        visitor = h ^ (lastAgent.hash &* 0x9E37_79B9_7F4A_7C15)
                    }
                    if r.hasReferer {
                        let p = base + Int(r.refererStart)
                        let n = Int(r.refererLength)
                        if n == lastReferer.n && memcmp(p, lastReferer.p, n) == 0 {
                            referrers.add(at: lastReferer.index)
                        } else if let (site, length) = Self.site(p, n) {
                            lastReferer = (p, n, referrers.addHashed(site, length, ByteKeyCounter.hash(site, length), 1))
                        }
                    }
                    if r.hasVhost { vhosts.add(base + Int(r.vhostStart), Int(r.vhostLength)) }
                    let m = r.time - ((r.time % 60) + 60) % 60
                    if m != minute {
                        flushMinute()
                        minute = m
                        minuteCount = 0
                        minuteBytes = 0
                        let d = m - ((m % 86_400) + 86_400) % 86_400
                        if d != day {
                            if day != Int64.min { visitorsPerDay[day, default: HyperLogLog()].merge(dayVisitors) }
                            day = d
                            dayVisitors = HyperLogLog()
                        }
                    }
                    minuteCount += 1
                    minuteBytes &+= Int(clamping: max(0, r.size))
                    dayVisitors.add(visitor)
                    if r.time < first { first = r.time }
                    if r.time > last { last = r.time }
                    if r.requestMicros >= 0 { _ = requestTime.record(UInt64(min(r.requestMicros, 3_600_000_000))) }
                    // The health window's counts are summed here per ten seconds and handed over when the
                    // bucket changes (once or twice a block), not per record: it cost a fifth of this loop.
                    let bucket = HealthWindow.bucket(of: r.time) &+ passBuckets
                    if bucket != tally.bucket {
                        health.add(tally)
                        tally = HealthWindow.Tally(bucket: bucket)
                    }
                    tally.requests += 1
                    if r.status >= 400 && r.status < 600 { if r.status >= 500 { tally.server += 1 } else { tally.client += 1 } }
                    tally.bytes &+= r.size
                    if r.requestMicros >= 0 { health.recordServed(bucket: bucket, micros: r.requestMicros) }
                }
            }
        }
        flushMinute()
        if day != Int64.min { visitorsPerDay[day, default: HyperLogLog()].merge(dayVisitors) }
        health.add(tally)
        if notFound.count > Self.notFoundLimit { notFoundUndercount += notFound.pruneLeastCounted() }
        if referrers.count > Self.notFoundLimit { referrersUndercount += referrers.pruneLeastCounted() }
        if vhosts.count > Self.notFoundLimit { vhostsUndercount += vhosts.pruneLeastCounted() }
        if agents.count > Self.notFoundLimit {
            // The family counts are kept apart and stay exact; only the classification cache shrinks.
            agents.pruneLeastCounted()
            classifyAgents()
        }
        if keyLimit > 0 {
            // Lossy counting: past the limit, drop the least counted half and remember the most they had.
            if clients.count > keyLimit { clientsUndercount += clients.pruneLeastCounted() }
            if paths.count > keyLimit { pathsUndercount += paths.pruneLeastCounted() }
        }
        let (total, overflow) = bytes.addingReportingOverflow(sum)
        bytes = overflow ? .max : total
        firstEvent = first
        lastEvent = last
        drillDown?.add(block)
    }

    /// The referring site of a referrer: its host (`https://www.google.com/search?q=x` → `www.google.com`,
    /// `//cdn.example/x` → `cdn.example`), without credentials (`http://user:pass@host/` → `host`: a
    /// password in a referrer never reaches the screen); nil when a URL names no host (`http://`,
    /// `https:///x`). A referrer that is not a URL is counted as written.
    static func site(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UnsafePointer<UInt8>, Int)? {
        var start = 0
        if n >= 2 && p[0] == UInt8(ascii: "/") && p[1] == UInt8(ascii: "/") {
            start = 2
        } else {
            // The scheme: letters up to "://", within the first few bytes.
            var i = 0
            while i + 2 < n && i < 16 {
                if p[i] == UInt8(ascii: ":") {
                    if p[i + 1] == UInt8(ascii: "/") && p[i + 2] == UInt8(ascii: "/") { start = i + 3 }
                    break
                }
                i += 1
            }
            guard start > 0 else { return (p, n) }
        }
        var end = start
        while end < n && p[end] != UInt8(ascii: "/") && p[end] != UInt8(ascii: "?") && p[end] != UInt8(ascii: "#") {
            if p[end] == UInt8(ascii: "@") { start = end + 1 }
            end += 1
        }
        return end > start ? (p + start, end - start) : nil
    }

    /// Rebuilds the family of every agent in the table (after it was pruned or restored).
    mutating func classifyAgents() {
        var families: [UInt8] = []
        families.reserveCapacity(agents.count)
        agents.forEach { key, _ in
            families.append(key.isEmpty ? UserAgentFamily.unknown : UserAgentFamily.classify(key.baseAddress!, key.count))
        }
        agentFamilies = families
    }

    /// Writes every count, table and sketch (for a checkpoint).
    public func saveState(_ w: inout StateWriter) {
        for v in [lines, records, malformed, filtered, keyLimit, pathsUndercount, clientsUndercount] { w.int(v) }
        w.i64(bytes)
        w.i64(firstEvent)
        w.i64(lastEvent)
        w.numbers(status.map { Int64($0) })
        methods.saveState(&w)
        paths.saveState(&w)
        clients.saveState(&w)
        clientSketch.saveState(&w)
        pathSketch.saveState(&w)
        w.counts(minutes)
        w.histogram(requestTime)
        // The panels, appended: a checkpoint written before them restores without them.
        w.numbers(hours.map { Int64($0) })
        w.counts(bytesPerMinute)
        notFound.saveState(&w)
        w.int(notFoundUndercount)
        w.int(visitorsPerDay.count)
        for (d, sketch) in visitorsPerDay.sorted(by: { $0.key < $1.key }) {
            w.i64(d)
            sketch.saveState(&w)
        }
        // Browsers, systems, referrers and virtual hosts, appended in their turn.
        agents.saveState(&w)
        w.numbers(browsers.map { Int64($0) })
        w.numbers(systems.map { Int64($0) })
        referrers.saveState(&w)
        w.int(referrersUndercount)
        vhosts.saveState(&w)
        w.int(vhostsUndercount)
    }

    /// Replaces everything with saved aggregates.
    public mutating func restoreState(_ r: inout StateReader) throws {
        (lines, records, malformed, filtered) = (try r.int(), try r.int(), try r.int(), try r.int())
        (keyLimit, pathsUndercount, clientsUndercount) = (try r.int(), try r.int(), try r.int())
        bytes = try r.i64()
        firstEvent = try r.i64()
        lastEvent = try r.i64()
        let st = try r.numbers(Int64.self)
        try r.check(st.count == status.count, "status counts have \(st.count) entries")
        status = st.map { Int($0) }
        try methods.restoreState(&r)
        try paths.restoreState(&r)
        try clients.restoreState(&r)
        clientSketch = try HyperLogLog(restoring: &r)
        pathSketch = try HyperLogLog(restoring: &r)
        minutes = try r.counts()
        requestTime = try r.histogram(into: AccessAggregate.emptyRequestTime)
        guard !r.isAtEnd else { return }
        let h = try r.numbers(Int64.self)
        try r.check(h.count == 24, "hours have \(h.count) entries")
        hours = h.map { Int($0) }
        bytesPerMinute = try r.counts()
        try notFound.restoreState(&r)
        notFoundUndercount = try r.int()
        let days = try r.count(max: 100_000)
        visitorsPerDay = [:]
        for _ in 0..<days {
            let d = try r.i64()
            visitorsPerDay[d] = try HyperLogLog(restoring: &r)
        }
        guard !r.isAtEnd else { return }
        try agents.restoreState(&r)
        classifyAgents()
        let b = try r.numbers(Int64.self)
        try r.check(b.count == browsers.count, "browser counts have \(b.count) entries")
        browsers = b.map { Int($0) }
        let o = try r.numbers(Int64.self)
        try r.check(o.count == systems.count, "system counts have \(o.count) entries")
        systems = o.map { Int($0) }
        try referrers.restoreState(&r)
        referrersUndercount = try r.int()
        try vhosts.restoreState(&r)
        vhostsUndercount = try r.int()
    }

    /// Adds another slot's aggregates into these.
    public mutating func merge(_ other: AccessAggregate) {
        lines += other.lines
        records += other.records
        malformed += other.malformed
        filtered += other.filtered
        let (total, overflow) = bytes.addingReportingOverflow(other.bytes)
        bytes = overflow ? .max : total
        for i in 0..<1000 where other.status[i] != 0 { status[i] += other.status[i] }
        methods.merge(other.methods)
        paths.merge(other.paths)
        clients.merge(other.clients)
        clientSketch.merge(other.clientSketch)
        pathSketch.merge(other.pathSketch)
        pathsUndercount += other.pathsUndercount
        clientsUndercount += other.clientsUndercount
        keyLimit = max(keyLimit, other.keyLimit)
        for (k, v) in other.minutes { minutes[k, default: 0] += v }
        firstEvent = min(firstEvent, other.firstEvent)
        lastEvent = max(lastEvent, other.lastEvent)
        requestTime.add(other.requestTime)
        health.merge(other.health)
        for i in 0..<24 { hours[i] += other.hours[i] }
        for (k, v) in other.bytesPerMinute { bytesPerMinute[k, default: 0] += v }
        notFound.merge(other.notFound)
        notFoundUndercount += other.notFoundUndercount
        for (d, s) in other.visitorsPerDay { visitorsPerDay[d, default: HyperLogLog()].merge(s) }
        // An agent new here takes its family from the other table: nothing is classified twice.
        agents.merge(other.agents) { theirs, mine in
            if mine == agentFamilies.count { agentFamilies.append(other.agentFamilies[theirs]) }
        }
        for i in browsers.indices { browsers[i] += other.browsers[i] }
        for i in systems.indices { systems[i] += other.systems[i] }
        referrers.merge(other.referrers)
        referrersUndercount += other.referrersUndercount
        vhosts.merge(other.vhosts)
        vhostsUndercount += other.vhostsUndercount
        // Drill-downs: the same one adds up, a later one replaces an earlier one.
        if let o = other.drillDown {
            if let mine = drillDown, mine.generation == o.generation {
                mine.merge(o)
            } else if (drillDown?.generation ?? -1) < o.generation {
                let copy = o.emptied()
                copy.merge(o)
                drillDown = copy
            }
        }
    }

    /// The count of a drill-down's key over the whole run, from the report's tables (nil when a key limit
    /// dropped it).
    func wholeRun(_ focus: FocusKey) -> Int? {
        switch focus {
        case .status(let s): return (0..<1000).contains(s) ? status[s] : 0
        case .path(let k), .client(let k):
            let table = focus.kind == "path" ? paths : clients
            if k.unicodeScalars.contains("\u{FFFD}") {
                // Printed from invalid UTF-8: the drill-down matches every key printed the same way
                // (`DrillDown`), so the whole run is their sum. Rare, and only keys with non-ASCII bytes are
                // decoded.
                var sum = 0
                table.forEach { b, n in
                    if b.contains(where: { $0 >= 0x80 }), String(decoding: b, as: UTF8.self) == k { sum += n }
                }
                return sum > 0 || keyLimit == 0 ? sum : nil
            }
            let bytes = Array(k.utf8)
            let n = bytes.count
            return bytes.withUnsafeBufferPointer { b in
                guard let i = table.index(of: b.baseAddress!, n) else { return keyLimit > 0 ? nil : 0 }
                return table.count(at: i)
            }
        case .filter:
            // The report keeps no joint tables to answer an expression from.
            return nil
        }
    }

    /// The families with records, most first.
    static func families(_ counts: [Int], _ names: [String]) -> [KeyCount] {
        zip(names, counts).filter { $0.1 > 0 }.map { KeyCount(key: $0.0, count: $0.1) }.sorted { ($0.count, $1.key) > ($1.count, $0.key) }
    }

    /// A summary with the `top` most frequent paths and clients.
    public func summary(top: Int = 10) -> AccessSummary {
        var st: [String: Int] = [:]
        for i in 0..<1000 where status[i] != 0 {
            st[String(i / 100) + String(i / 10 % 10) + String(i % 10)] = status[i]
        }
        var m: [String: Int] = [:]
        methods.forEach { k, c in m[String(decoding: k, as: UTF8.self), default: 0] += c }
        return AccessSummary(
            lines: lines, records: records, malformed: malformed, filtered: filtered, bytes: bytes, status: st, methods: m,
            topPaths: paths.top(top), topClients: clients.top(top),
            uniqueClients: clientsUndercount > 0 ? Int(clientSketch.estimate.rounded()) : clients.count,
            uniquePaths: pathsUndercount > 0 ? Int(pathSketch.estimate.rounded()) : paths.count,
            firstEvent: records > 0 ? firstEvent : nil, lastEvent: records > 0 ? lastEvent : nil,
            perMinute: minutes.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: $0.value) },
            requestTime: requestTime.totalCount == 0 ? nil : LatencySummary(
                p50: requestTime.valueAtPercentile(50), p95: requestTime.valueAtPercentile(95),
                p99: requestTime.valueAtPercentile(99), max: requestTime.max, count: requestTime.totalCount),
            pathsUndercount: pathsUndercount, clientsUndercount: clientsUndercount,
            // With a key limit the sketches have seen every key, dropped ones too; without, the tables
            // hold every key's hash and a sketch is built from them (one pass, no key hashed again).
            hours: hours, bytesPerMinute: bytesPerMinute.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: $0.value) },
            topNotFound: notFound.top(top), notFoundUndercount: notFoundUndercount,
            visitorsPerDay: visitorsPerDay.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: Int($0.value.estimate.rounded())) },
            topReferrers: referrers.top(top), referrersUndercount: referrersUndercount,
            browsers: Self.families(browsers, UserAgentFamily.browsers), systems: Self.families(systems, UserAgentFamily.systems),
            topVhosts: vhosts.top(top), vhostsUndercount: vhostsUndercount,
            health: SiteHealth(minute: health.summary(seconds: 60), fiveMinutes: health.summary(seconds: 300)),
            drillDown: drillDown.map { $0.summary(top: min(top, 100), wholeRun: wholeRun($0.focus)) },
            share: ClusterShare(
                clients: keyLimit > 0 ? clientSketch : clients.sketch(), paths: keyLimit > 0 ? pathSketch : paths.sketch(),
                requestTime: ClusterShare.buckets(requestTime)))
    }

}

/// Records in one UTC minute.
public struct MinuteCount: Sendable, Equatable, Codable {
    /// Epoch seconds of the minute's start.
    public var minute: Int64
    /// Records in it.
    public var count: Int
}

/// An immutable summary of the aggregates, for the report and the dashboard.
public struct AccessSummary: Sendable, Codable {
    /// Non-empty lines read.
    public var lines: Int
    /// Lines that parsed as records.
    public var records: Int
    /// Lines that did not.
    public var malformed: Int
    /// Records a filter removed.
    public var filtered: Int
    /// Sum of response sizes.
    public var bytes: Int64
    /// Status code (three digits) → records.
    public var status: [String: Int]
    /// Method (as printed) → records.
    public var methods: [String: Int]
    /// Most frequent paths.
    public var topPaths: [KeyCount]
    /// Most frequent clients.
    public var topClients: [KeyCount]
    /// Distinct clients.
    public var uniqueClients: Int
    /// Distinct paths.
    public var uniquePaths: Int
    /// Earliest event (UTC epoch seconds).
    public var firstEvent: Int64?
    /// Latest event.
    public var lastEvent: Int64?
    /// Records per minute, ascending.
    public var perMinute: [MinuteCount]
    /// Time to serve requests in µs, when the format logs it.
    public var requestTime: LatencySummary? = nil
    /// With a key limit, once paths were dropped: how far a top path's count may fall short (else 0).
    public var pathsUndercount = 0
    /// The same for clients; `uniqueClients` is then a HyperLogLog estimate (±1.6%).
    public var clientsUndercount = 0
    /// GoAccess's panels: requests per UTC hour of day (24 entries), bytes per minute, the paths most
    /// answered 404 (with how far a count may fall short once some were dropped), distinct clients per UTC
    /// day (`minute` is the day's start; HyperLogLog estimates, ±1.6 %).
    public var hours: [Int] = []
    public var bytesPerMinute: [MinuteCount] = []
    public var topNotFound: [KeyCount] = []
    public var notFoundUndercount = 0
    public var visitorsPerDay: [MinuteCount] = []
    /// More of GoAccess's panels: the referring sites (hosts of the referrers; direct requests are not
    /// counted), the records per browser and per OS family (exact), and the virtual hosts when the format
    /// logs them — the lists bounded like the 404 list, with how far a count may fall short.
    public var topReferrers: [KeyCount] = []
    public var referrersUndercount = 0
    public var browsers: [KeyCount] = []
    public var systems: [KeyCount] = []
    public var topVhosts: [KeyCount] = []
    public var vhostsUndercount = 0
    /// The site over the last minute and five of event time (nil before the first record).
    public var health: SiteHealth? = nil
    /// The open drill-down (Enter on a path, client or status in the dashboard), nil when none is.
    public var drillDown: DrillDownSummary? = nil
    /// What a cluster view needs to merge this summary with other instances' (sketches and histogram);
    /// sent only when asked for (`GET /api/v1/dashboard?share=1`).
    public var share: ClusterShare? = nil
    /// Whether `uniqueClients` is an estimate.
    public var uniqueClientsEstimated: Bool { clientsUndercount > 0 }
    /// Whether `uniquePaths` is an estimate (HyperLogLog, ±1.6%, once paths were dropped).
    public var uniquePathsEstimated: Bool { pathsUndercount > 0 }

    /// The summary with its top lists cut to `top` entries (they are sorted, so this is what `top` would
    /// have given).
    public func limited(_ top: Int) -> AccessSummary {
        var s = self
        s.topPaths = Array(topPaths.prefix(top))
        s.topClients = Array(topClients.prefix(top))
        s.topNotFound = Array(topNotFound.prefix(top))
        s.topReferrers = Array(topReferrers.prefix(top))
        s.topVhosts = Array(topVhosts.prefix(top))
        return s
    }

    /// The published summary of the report's aggregate task in an engine snapshot (empty before the first).
    public static func published(in snapshot: EngineSnapshot, top: Int = 10) -> AccessSummary {
        (snapshot.published[AccessPipeline.aggregateTask] as? AccessSummary)?.limited(top) ?? .empty
    }

    /// An empty summary (its share fingerprinted with the seed in force: a resumed run adopts its
    /// checkpoint's seed after start).
    public static var empty: AccessSummary {
        var e = emptyWithoutSeed
        e.share?.seedFingerprint = ClusterShare.fingerprint(seed: KeyHashSeed.value)
        return e
    }
    private static let emptyWithoutSeed = AccessAggregate().summary()
}

extension AccessSummary {
    /// Decodes a summary; what an instance of an earlier version does not send (the panels added since)
    /// is taken as empty, so a newer dashboard or cluster view still attaches to it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func list<T: Decodable>(_ key: CodingKeys) throws -> [T] { try c.decodeIfPresent([T].self, forKey: key) ?? [] }
        func number(_ key: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        self.init(
            lines: try c.decode(Int.self, forKey: .lines), records: try c.decode(Int.self, forKey: .records),
            malformed: try c.decode(Int.self, forKey: .malformed), filtered: try c.decode(Int.self, forKey: .filtered),
            bytes: try c.decode(Int64.self, forKey: .bytes), status: try c.decode([String: Int].self, forKey: .status),
            methods: try c.decode([String: Int].self, forKey: .methods), topPaths: try list(.topPaths), topClients: try list(.topClients),
            uniqueClients: try c.decode(Int.self, forKey: .uniqueClients), uniquePaths: try c.decode(Int.self, forKey: .uniquePaths),
            firstEvent: try c.decodeIfPresent(Int64.self, forKey: .firstEvent), lastEvent: try c.decodeIfPresent(Int64.self, forKey: .lastEvent),
            perMinute: try list(.perMinute))
        requestTime = try c.decodeIfPresent(LatencySummary.self, forKey: .requestTime)
        pathsUndercount = try number(.pathsUndercount)
        clientsUndercount = try number(.clientsUndercount)
        hours = try list(.hours)
        bytesPerMinute = try list(.bytesPerMinute)
        topNotFound = try list(.topNotFound)
        notFoundUndercount = try number(.notFoundUndercount)
        visitorsPerDay = try list(.visitorsPerDay)
        topReferrers = try list(.topReferrers)
        referrersUndercount = try number(.referrersUndercount)
        browsers = try list(.browsers)
        systems = try list(.systems)
        topVhosts = try list(.topVhosts)
        vhostsUndercount = try number(.vhostsUndercount)
        health = try c.decodeIfPresent(SiteHealth.self, forKey: .health)
        drillDown = try c.decodeIfPresent(DrillDownSummary.self, forKey: .drillDown)
        share = try c.decodeIfPresent(ClusterShare.self, forKey: .share)
    }
}
