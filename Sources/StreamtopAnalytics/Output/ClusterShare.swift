import Foundation
import Histogram

/// What an instance publishes beside its summary so that a cluster view (`streamtop attach URL URL …`)
/// can merge it with other instances' summaries where plain sums would be wrong: the distinct clients and
/// paths as HyperLogLog sketches (a union, not a sum: one client seen by two instances is one client), and
/// the served-time distribution as histogram buckets (percentiles do not add).
public struct ClusterShare: Sendable, Codable, Equatable {
    /// SipHash-2-4 of a fixed text under the instance's hash seed, in hex. Sketches union only between
    /// instances whose fingerprints are equal (they hash keys alike: the same `STREAMTOP_HASH_SEED`); the
    /// fingerprint itself reveals nothing usable about the seed.
    public var seedFingerprint: String
    /// Distinct clients.
    public var clients: HyperLogLog
    /// Distinct paths.
    public var paths: HyperLogLog
    /// Time to serve requests (µs): `[value, count]` per non-empty bucket of the report's histogram.
    public var requestTime: [[UInt64]]

    /// Creates a share.
    public init(seedFingerprint: String = ClusterShare.fingerprint(seed: KeyHashSeed.value), clients: HyperLogLog, paths: HyperLogLog, requestTime: [[UInt64]]) {
        self.seedFingerprint = seedFingerprint
        self.clients = clients
        self.paths = paths
        self.requestTime = requestTime
    }

    /// The fingerprint of a seed (see `seedFingerprint`), and of the key hash it seeds: sketches made by
    /// a streamtop with another `ByteKeyCounter.hash` do not merge either (the 2 names the current one).
    public static func fingerprint(seed: UInt64) -> String {
        let h = SipHash.hash(Array("streamtop cluster seed fingerprint, key hash 2".utf8), k0: seed, k1: ~seed)
        return String(h, radix: 16)
    }

    /// The non-empty buckets of a histogram, for `requestTime`.
    public static func buckets(_ h: Histogram<UInt64>) -> [[UInt64]] {
        // An empty histogram still has every bucket to walk.
        h.totalCount == 0 ? [] : h.recordedValues().map { [$0.value, UInt64($0.count)] }
    }
}

/// Registers travel as base64 (4 KiB of registers, about 5.5 kB of text).
extension HyperLogLog: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let data = Data(base64Encoded: text), let sketch = HyperLogLog(registerBytes: [UInt8](data)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not the registers of a HyperLogLog sketch of this build"))
        }
        self = sketch
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Data(registerBytes).base64EncodedString())
    }
}
