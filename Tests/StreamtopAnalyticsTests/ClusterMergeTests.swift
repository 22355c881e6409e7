import Foundation
import Testing
@testable import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// The cluster view merges instances' summaries: what it shows for the instances together must be what
/// one instance reading all their input would show, exactly where that is possible and within a stated
/// bound where it is not.
@Suite struct ClusterMergeTests {
    /// The sample log, split line by line between `parts` instances (round robin), each summarised as an
    /// instance publishes it.
    func instances(_ parts: Int, top: Int = AggregateOperator.publishedTop, lines limit: Int = .max) throws -> (parts: [AccessSummary], whole: AccessSummary) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Samples/elastic_apache_logs.log")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").prefix(limit).map(String.init)
        var aggregates = (0..<parts).map { _ in AccessAggregate() }
        var whole = AccessAggregate()
        for (i, line) in lines.enumerated() {
            let batch = SummaryCacheTests().block([line])
            aggregates[i % parts].add(batch.payload(as: ParsedBlock.self))
            whole.add(batch.payload(as: ParsedBlock.self))
        }
        return (aggregates.map { $0.summary(top: top) }, whole.summary(top: top))
    }

    @Test func countsAddUpToWhatOneInstanceReadingEverythingCounts() throws {
        let (parts, whole) = try instances(3)
        let m = MergedSummary(parts)
        #expect(m.instances == 3)
        #expect(m.summary.lines == whole.lines && m.summary.records == whole.records && m.summary.malformed == whole.malformed)
        #expect(m.summary.bytes == whole.bytes)
        #expect(m.summary.status == whole.status)
        #expect(m.summary.methods == whole.methods)
        #expect(m.summary.perMinute == whole.perMinute)
        #expect(m.summary.firstEvent == whole.firstEvent && m.summary.lastEvent == whole.lastEvent)
        #expect(m.summary.share == nil, "a merged summary is not itself a share")
        // Browser and OS families are whole lists and add exactly; so do the referring sites of the
        // sample, which has fewer than an instance publishes.
        #expect(m.summary.browsers == whole.browsers && m.summary.systems == whole.systems, "\(m.summary.browsers) \(whole.browsers)")
        #expect(!whole.browsers.isEmpty && whole.browsers.reduce(0) { $0 + $1.count } <= whole.records, "records with an agent")
        #expect(m.summary.topReferrers.first == whole.topReferrers.first && m.summary.topReferrers.first?.key == "www.semicomplete.com")
    }

    @Test func completeTopListsMergeExactly() throws {
        // 600 lines have fewer distinct paths than an instance publishes: every list is whole.
        let (parts, whole) = try instances(2, lines: 600)
        #expect(parts.allSatisfy { $0.topPaths.count == $0.uniquePaths })
        let m = MergedSummary(parts)
        #expect(m.pathsBound == 0)
        #expect(m.summary.topPaths == whole.topPaths)
        #expect(m.summary.topClients == whole.topClients)
    }

    @Test func cutTopListsStayWithinTheirBound() throws {
        // Each instance lists only its top 5: a merged count may fall short, never by more than the bound,
        // and never exceeds the truth.
        let (parts, _) = try instances(3, top: 5)
        let (_, whole) = try instances(1, top: 100_000)
        let truth = Dictionary(uniqueKeysWithValues: whole.topPaths.map { ($0.key, $0.count) })
        let m = MergedSummary(parts)
        #expect(m.pathsBound > 0)
        #expect(m.isEstimated)
        for e in m.summary.topPaths {
            let t = try #require(truth[e.key])
            #expect(e.count <= t && t <= e.count + m.pathsBound, "\(e.key): merged \(e.count), truth \(t), bound \(m.pathsBound)")
        }
    }

    @Test func distinctCountsAreAUnionNotASum() throws {
        // Round robin sends most clients to every instance: summing would count them up to three times.
        let (parts, whole) = try instances(3)
        let sum = parts.reduce(0) { $0 + $1.uniqueClients }
        let m = MergedSummary(parts)
        #expect(m.distinct == .union)
        #expect(sum > whole.uniqueClients * 3 / 2, "the split really shares clients (sum \(sum), whole \(whole.uniqueClients))")
        #expect(abs(Double(m.summary.uniqueClients - whole.uniqueClients)) <= Double(whole.uniqueClients) * 0.05, "union \(m.summary.uniqueClients), exact \(whole.uniqueClients)")
        #expect(abs(Double(m.summary.uniquePaths - whole.uniquePaths)) <= Double(whole.uniquePaths) * 0.05, "union \(m.summary.uniquePaths), exact \(whole.uniquePaths)")
    }

    @Test func instancesHashingWithOtherSeedsGiveBoundsNotAWrongUnion() throws {
        var (parts, whole) = try instances(2)
        parts[1].share?.seedFingerprint = ClusterShare.fingerprint(seed: KeyHashSeed.value &+ 1)
        let m = MergedSummary(parts)
        guard case .bounds(let upTo, _, true) = m.distinct else {
            Issue.record("expected bounds, got \(m.distinct)")
            return
        }
        #expect(m.summary.uniqueClients == parts.map(\.uniqueClients).max())
        #expect(upTo == parts[0].uniqueClients + parts[1].uniqueClients)
        #expect(m.summary.uniqueClients <= whole.uniqueClients && whole.uniqueClients <= upTo)
    }

    @Test func servedTimePercentilesComeFromTheMergedHistogram() {
        // One fast instance and one slow one: the merged median lies between them, as one histogram of
        // all the samples says, not an average of medians.
        var fast = AccessAggregate()
        var slow = AccessAggregate()
        var all = AccessAggregate()
        for v in 1...900 { _ = fast.requestTime.record(UInt64(v * 10)); _ = all.requestTime.record(UInt64(v * 10)) }
        for v in 1...100 { _ = slow.requestTime.record(UInt64(v * 10_000)); _ = all.requestTime.record(UInt64(v * 10_000)) }
        let m = MergedSummary([fast.summary(), slow.summary()])
        let expected = all.summary().requestTime
        #expect(m.requestTimeMerged)
        #expect(m.summary.requestTime == expected)
        #expect(m.summary.requestTime?.count == 1000)
    }

    @Test func siteHealthAddsRatesAndWeighsShares() throws {
        var a = AccessAggregate(), b = AccessAggregate()
        // 60 s: a at 10 req/s with 10 % 5xx, b at 30 req/s with none.
        for t in 0..<60 {
            for i in 0..<10 { a.health.add(time: 1_700_000_000 + Int64(t), status: i == 0 ? 503 : 200, size: 100, servedMicros: -1) }
            for _ in 0..<30 { b.health.add(time: 1_700_000_000 + Int64(t), status: 200, size: 100, servedMicros: -1) }
        }
        let m = try #require(MergedSummary([a.summary(), b.summary()]).summary.health?.minute)
        #expect(m.requests == 2400 && abs(m.perSecond - 40) < 0.01)
        #expect(abs(m.serverErrorShare - 0.025) < 0.0001, "60 of 2,400, not the mean of 10 % and 0 %")
        #expect(m.recent.first == [400, 10])
    }

    @Test func aShareSurvivesJSONAndBadRegistersAreRefused() throws {
        let (parts, _) = try instances(1)
        let data = try JSONEncoder().encode(parts[0])
        let back = try JSONDecoder().decode(AccessSummary.self, from: data)
        #expect(back.share == parts[0].share)
        #expect(back.share?.clients.estimate == parts[0].share?.clients.estimate)
        // Registers of another size, or ranks no 64-bit hash can give, are not a sketch.
        #expect(HyperLogLog(registerBytes: [UInt8](repeating: 0, count: 100)) == nil)
        #expect(HyperLogLog(registerBytes: [UInt8](repeating: 200, count: 4096)) == nil)
        let text = String(decoding: data, as: UTF8.self)
        let broken = text.replacingOccurrences(of: #""clients":""#, with: #""clients":"AAAA"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AccessSummary.self, from: Data(broken.utf8)) }
    }

    @Test func theSeedFingerprintIsSipHashAndTellsSeedsApart() {
        // The reference vector of the SipHash paper: key 00…0f, message 00…0e.
        let k0 = UInt64(littleEndianBytes: Array(0..<8))
        let k1 = UInt64(littleEndianBytes: Array(8..<16))
        #expect(SipHash.hash(Array(0..<15), k0: k0, k1: k1) == 0xa129_ca61_49be_45e5)
        #expect(SipHash.hash([], k0: k0, k1: k1) == 0x726f_db47_dd0e_0e31)
        #expect(ClusterShare.fingerprint(seed: 1) != ClusterShare.fingerprint(seed: 2))
        #expect(ClusterShare.fingerprint(seed: 1) == ClusterShare.fingerprint(seed: 1))
    }
}

extension UInt64 {
    init(littleEndianBytes b: [UInt8]) {
        self = b.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
}
