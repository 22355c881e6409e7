import Histogram
import StreamtopEngine

/// The analytics of several instances merged into one summary, and how far to trust each part: counts are
/// summed exactly, distinct counts are a HyperLogLog union (when the instances hash alike), top lists are
/// merged from each instance's published top entries with a bound on what they may miss, and served-time
/// percentiles come from the merged histogram.
public struct MergedSummary: Sendable {
    /// The merged figures, in the shape the dashboard draws.
    public var summary: AccessSummary
    /// How many instances' summaries went in.
    public var instances: Int
    /// How the distinct counts were merged.
    public var distinct: DistinctMerge
    /// The most a merged top entry's count may fall short of the truth (0: exact), for paths and clients:
    /// an instance that listed only its top entries may have counted a key it did not list.
    public var pathsBound: Int
    public var clientsBound: Int
    /// Whether the served-time percentiles come from every instance's histogram (false: some instance sent
    /// none, so they are left out).
    public var requestTimeMerged: Bool

    /// How distinct counts were merged.
    public enum DistinctMerge: Sendable, Equatable {
        /// A single instance: its own count, exact or not.
        case single
        /// The union of the instances' sketches: an estimate (standard error about 1.6%).
        case union
        /// No union is possible: the instances hash with different seeds (`seedsDiffer`), or one sent no
        /// sketches (an older version). The counts shown are the largest instance's (a lower bound) and
        /// the sum is the upper bound.
        case bounds(clientsUpTo: Int, pathsUpTo: Int, seedsDiffer: Bool)
    }

    /// Merges instances' summaries (none: an empty summary).
    public init(_ parts: [AccessSummary]) {
        instances = parts.count
        guard parts.count > 1 else {
            summary = parts.first ?? .empty
            distinct = .single
            (pathsBound, clientsBound) = (summary.pathsUndercount, summary.clientsUndercount)
            requestTimeMerged = true
            return
        }
        var s = AccessSummary.empty
        var minutes: [Int64: Int] = [:]
        for p in parts {
            s.lines += p.lines
            s.records += p.records
            s.malformed += p.malformed
            s.filtered += p.filtered
            let (total, overflow) = s.bytes.addingReportingOverflow(p.bytes)
            s.bytes = overflow ? .max : total
            for (k, v) in p.status { s.status[k, default: 0] += v }
            for (k, v) in p.methods { s.methods[k, default: 0] += v }
            for m in p.perMinute { minutes[m.minute, default: 0] += m.count }
            if let f = p.firstEvent { s.firstEvent = min(s.firstEvent ?? f, f) }
            if let l = p.lastEvent { s.lastEvent = max(s.lastEvent ?? l, l) }
        }
        s.perMinute = minutes.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: $0.value) }
        // As many entries as an instance publishes (the dashboard shows no more).
        let top = max(AggregateOperator.publishedTop, parts.map(\.topPaths.count).max() ?? 0)
        (s.topPaths, pathsBound) = Self.mergeTop(parts.map { ($0.topPaths, $0.topPaths.count < $0.uniquePaths, $0.pathsUndercount) }, limit: top)
        (s.topClients, clientsBound) = Self.mergeTop(parts.map { ($0.topClients, $0.topClients.count < $0.uniqueClients, $0.clientsUndercount) }, limit: top)
        s.pathsUndercount = pathsBound
        s.clientsUndercount = clientsBound
        // The panels: hours and bandwidth add; 404 lists merge like the top lists; visitors per day are
        // estimates that cannot be unioned from counts, so the largest instance's is a lower bound.
        s.hours = (0..<24).map { h in parts.reduce(0) { $0 + ($1.hours.count == 24 ? $1.hours[h] : 0) } }
        var bytes: [Int64: Int] = [:]
        var visitors: [Int64: Int] = [:]
        for p in parts {
            for b in p.bytesPerMinute { bytes[b.minute, default: 0] += b.count }
            for v in p.visitorsPerDay { visitors[v.minute] = max(visitors[v.minute] ?? 0, v.count) }
        }
        s.bytesPerMinute = bytes.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: $0.value) }
        s.visitorsPerDay = visitors.sorted { $0.key < $1.key }.map { MinuteCount(minute: $0.key, count: $0.value) }
        (s.topNotFound, s.notFoundUndercount) = Self.mergeTop(parts.map { ($0.topNotFound, false, $0.notFoundUndercount) }, limit: top)
        (s.topReferrers, s.referrersUndercount) = Self.mergeTop(parts.map { ($0.topReferrers, false, $0.referrersUndercount) }, limit: top)
        (s.topVhosts, s.vhostsUndercount) = Self.mergeTop(parts.map { ($0.topVhosts, false, $0.vhostsUndercount) }, limit: top)
        // Browser and OS families are whole lists: they add.
        (s.browsers, _) = Self.mergeTop(parts.map { ($0.browsers, false, 0) }, limit: UserAgentFamily.browsers.count)
        (s.systems, _) = Self.mergeTop(parts.map { ($0.systems, false, 0) }, limit: UserAgentFamily.systems.count)

        let shares = parts.compactMap(\.share)
        if shares.count == parts.count, Set(shares.map(\.seedFingerprint)).count == 1 {
            var clients = shares[0].clients
            var paths = shares[0].paths
            for sh in shares.dropFirst() {
                clients.merge(sh.clients)
                paths.merge(sh.paths)
            }
            s.uniqueClients = Int(clients.estimate.rounded())
            s.uniquePaths = Int(paths.estimate.rounded())
            distinct = .union
        } else {
            s.uniqueClients = parts.map(\.uniqueClients).max() ?? 0
            s.uniquePaths = parts.map(\.uniquePaths).max() ?? 0
            distinct = .bounds(
                clientsUpTo: parts.reduce(0) { $0 + $1.uniqueClients }, pathsUpTo: parts.reduce(0) { $0 + $1.uniquePaths },
                seedsDiffer: Set(shares.map(\.seedFingerprint)).count > 1)
        }

        // Percentiles from the merged buckets; an instance without a histogram (an older build) would
        // make them wrong, so then none are shown rather than a guess.
        let timed = parts.filter { $0.requestTime != nil }
        requestTimeMerged = timed.allSatisfy { $0.share != nil }
        if !timed.isEmpty && requestTimeMerged {
            var h = AccessAggregate.emptyRequestTime
            for p in timed {
                for b in p.share?.requestTime ?? [] where b.count == 2 { _ = h.record(b[0], count: b[1]) }
            }
            s.requestTime = h.totalCount == 0 ? nil : LatencySummary(
                p50: h.valueAtPercentile(50), p95: h.valueAtPercentile(95), p99: h.valueAtPercentile(99), max: h.max, count: h.totalCount)
        } else {
            s.requestTime = nil
        }
        s.share = nil
        let healths = parts.compactMap(\.health)
        s.health = healths.isEmpty ? nil : SiteHealth(minute: Self.merge(healths.compactMap(\.minute)), fiveMinutes: Self.merge(healths.compactMap(\.fiveMinutes)))
        summary = s
    }

    /// The instances' health over one window: counts, rates and bandwidth add, shares are weighted by
    /// requests, buckets add position by position (newest first). Percentiles do not add: with several
    /// instances none is given.
    static func merge(_ windows: [SiteHealth.Window]) -> SiteHealth.Window? {
        guard let first = windows.first else { return nil }
        guard windows.count > 1 else { return first }
        let requests = windows.reduce(0) { $0 + $1.requests }
        let weighted = { (share: KeyPath<SiteHealth.Window, Double>) in
            requests == 0 ? 0 : windows.reduce(0.0) { $0 + $1[keyPath: share] * Double($1.requests) } / Double(requests)
        }
        var recent: [[Int]] = []
        for w in windows {
            for (i, b) in w.recent.enumerated() where b.count == 2 {
                if i == recent.count { recent.append([0, 0]) }
                recent[i][0] += b[0]
                recent[i][1] += b[1]
            }
        }
        return SiteHealth.Window(
            seconds: first.seconds, requests: requests, perSecond: windows.reduce(0) { $0 + $1.perSecond },
            clientErrorShare: weighted(\.clientErrorShare), serverErrorShare: weighted(\.serverErrorShare),
            bytesPerSecond: windows.reduce(0) { $0 + $1.bytesPerSecond }, servedP50: nil, servedP99: nil, recent: recent)
    }

    /// Whether anything shown is an estimate rather than an exact merge.
    public var isEstimated: Bool { distinct != .single || pathsBound > 0 || clientsBound > 0 }

    /// Sums the lists key by key and keeps the `limit` largest. A key missing from a list that was cut
    /// (`truncated`) may still have been counted there, up to that list's smallest count; keys dropped by
    /// a key limit may fall short by `undercount`. The bound returned is the largest such shortfall among
    /// the entries kept.
    static func mergeTop(_ lists: [(entries: [KeyCount], truncated: Bool, undercount: Int)], limit: Int) -> ([KeyCount], Int) {
        // What a key absent from each list may still have there.
        let absent = lists.map { ($0.truncated ? ($0.entries.last?.count ?? 0) : 0) + $0.undercount }
        let allAbsent = absent.reduce(0, +)
        var sums: [String: (count: Int, bound: Int)] = [:]
        for (i, l) in lists.enumerated() {
            for e in l.entries {
                // Present here: its count is known up to this list's undercount, not `absent[i]`.
                sums[e.key, default: (0, allAbsent)].count += e.count
                sums[e.key]!.bound += l.undercount - absent[i]
            }
        }
        let ranked = sums.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }.prefix(limit)
        return (ranked.map { KeyCount(key: $0.key, count: $0.value.count) }, ranked.map(\.value.bound).max() ?? 0)
    }
}
