import Foundation

/// A seeded generator of realistic combined-log traffic, for the demo recording and benchmarks.
///
/// The same seed gives the same bytes. Traffic follows a daily rhythm (quiet at night, a peak in the
/// afternoon) and, when `storyline` is on, tells a story: a crawler burst, an error storm on the checkout
/// API and a sudden spike on a promotion page, at fixed fractions of the timeline.
public struct TrafficGenerator {
    /// What to generate.
    public struct Config: Sendable {
        /// Seed of the pseudo-random sequence.
        public var seed: UInt64 = 42
        /// Event time of the first line (UTC seconds).
        public var start: Int64 = 1_732_492_800  // 2024-11-25T00:00:00Z
        /// Length of the timeline in seconds.
        public var duration: Int64 = 86_400
        /// Number of lines to produce (spread over `duration` following the rhythm).
        public var lines: Int = 1_000_000
        /// Whether to add the crawler burst, error storm and spike.
        public var storyline = true
        /// Fraction of lines that are deliberately malformed (to exercise the quarantine).
        public var malformedFraction = 0.0005
        /// How lines are written.
        public var style: Style = .combined
        /// Size of the client population (distinct addresses).
        public var clients = 5000
        /// Creates the default configuration.
        public init() {}
    }

    /// Line layouts the generator writes.
    public enum Style: String, Sendable, CaseIterable {
        /// Apache/nginx combined.
        case combined
        /// Combined plus nginx's `"$http_x_forwarded_for" $request_time` (the `nginx-timed` preset).
        case timed
        /// nginx `escape=json` style JSON lines.
        case json
    }

    private var rng: SplitMix64
    private let config: Config
    private let clients: [[UInt8]]
    private let crawler: [UInt8] = Array("66.249.66.1".utf8)
    private var produced = 0
    private var second: Int64 = 0
    private var carry = 0.0
    private let meanPerSecond: Double

    /// Creates a generator.
    public init(_ config: Config) {
        self.config = config
        rng = SplitMix64(seed: config.seed)
        var pool: [[UInt8]] = []
        var r = SplitMix64(seed: config.seed ^ 0x9E37_79B9)
        for i in 0..<max(1, config.clients) {
            if i % 25 == 0 {
                pool.append(Array("2001:db8:\(String(r.next() % 0xffff, radix: 16))::\(String(r.next() % 0xffff, radix: 16))".utf8))
            } else {
                pool.append(Array("\(r.next() % 223 + 1).\(r.next() % 256).\(r.next() % 256).\(r.next() % 254 + 1)".utf8))
            }
        }
        clients = pool
        // The rhythm's mean over this timeline is not 1 unless it is whole days (an hour from midnight is
        // quiet): scale by it, so the lines spread over the whole timeline instead of piling up at its end.
        let step = max(1, config.duration / 100_000)
        var total = 0.0
        var samples = 0.0
        var s: Int64 = 0
        while s < config.duration {
            total += TrafficGenerator.intensity(at: s, duration: config.duration, storyline: config.storyline)
            samples += 1
            s += step
        }
        meanPerSecond = Double(config.lines) / Double(max(config.duration, 1)) / (total > 0 ? total / samples : 1)
    }

    /// True once `config.lines` lines have been produced.
    public var isFinished: Bool { produced >= config.lines }

    /// Appends about `maxLines` lines (fewer at the end) to `out`, each ending in `\n`.
    public mutating func generate(into out: inout [UInt8], maxLines: Int) {
        var emitted = 0
        while emitted < maxLines && produced < config.lines {
            let t = config.start + min(second, config.duration - 1)
            let expected = meanPerSecond * intensity(at: second) + carry
            let n = Int(expected)
            carry = expected - Double(n)
            second += 1
            for _ in 0..<n where produced < config.lines {
                appendLine(time: t, into: &out)
                produced += 1
                emitted += 1
            }
            if second >= config.duration { second = 0 }  // rounding left a few lines: another pass
        }
    }

    /// Relative traffic intensity at `second` of the timeline (mean 1 over a day).
    func intensity(at second: Int64) -> Double {
        TrafficGenerator.intensity(at: second, duration: config.duration, storyline: config.storyline)
    }

    static func intensity(at second: Int64, duration: Int64, storyline: Bool) -> Double {
        let dayFraction = Double(second % 86_400) / 86_400
        // Low at 04:00, high at 16:00 UTC.
        var v = 1 + 0.75 * sin((dayFraction - 0.416) * 2 * Double.pi)
        if storyline {
            let f = Double(second) / Double(max(duration, 1))
            if f > 0.70 && f < 0.72 { v *= 4 }  // the sudden spike
        }
        return v
    }

    /// Phase of the story at a fraction of the timeline.
    private enum Phase { case normal, crawler, errorStorm, spike }

    private func phase(_ second: Int64) -> Phase {
        guard config.storyline else { return .normal }
        let f = Double(second) / Double(max(config.duration, 1))
        if f > 0.30 && f < 0.34 { return .crawler }
        if f > 0.50 && f < 0.53 { return .errorStorm }
        if f > 0.70 && f < 0.72 { return .spike }
        return .normal
    }

    private mutating func appendLine(time: Int64, into out: inout [UInt8]) {
        if rng.unit() < config.malformedFraction {
            appendMalformed(time: time, into: &out)
            return
        }
        let phase = phase(second)
        let isCrawler = phase == .crawler && rng.unit() < 0.6
        // Clients: a Zipf-like skew so the top clients stand out.
        let client = isCrawler ? crawler : clients[zipfIndex(clients.count)]
        var method = "GET"
        var path: String
        var status = 200
        if isCrawler {
            path = "/products/\(rng.next() % 20_000)"
            status = rng.unit() < 0.15 ? 404 : 200
        } else if phase == .spike && rng.unit() < 0.7 {
            path = "/promo/black-friday"
        } else {
            let p = GeneratorCatalog.paths[zipfIndex(GeneratorCatalog.paths.count)]
            path = p.replacingOccurrences(of: "{id}", with: String(rng.next() % 5000))
            if path.hasPrefix("/api/") && rng.unit() < 0.3 { method = "POST" }
            let r = rng.unit()
            if r < 0.06 { status = 304 } else if r < 0.09 { status = 404 } else if r < 0.1 { status = 301 }
            if phase == .errorStorm && (path.hasPrefix("/api/") || rng.unit() < 0.3) {
                status = [500, 502, 503, 504][Int(rng.next() % 4)]
            } else if rng.unit() < 0.003 {
                status = 500
            }
        }
        if rng.unit() < 0.2 { path += "?ref=\(rng.next() % 100)" }
        let size = status == 304 || rng.unit() < 0.01 ? "-" : String(200 + Int(rng.next() % 48_000))
        let referer = rng.unit() < 0.5 ? "-" : "https://example.com/"
        let ua = isCrawler ? GeneratorCatalog.crawlerAgent : GeneratorCatalog.agents[Int(rng.next() % UInt64(GeneratorCatalog.agents.count))]
        // Serving time: mostly fast, a long tail, slow during the error storm. Drawn only for the styles
        // that log it, so combined output stays the same for a seed.
        var requestTime = ""
        if config.style != .combined {
            let seconds = (phase == .errorStorm ? 1.5 : 0.02) * -log(max(rng.unit(), 1e-9))
            requestTime = String(format: "%.3f", min(seconds, 60))
        }
        let request = method + " " + path + " HTTP/1.1"
        switch config.style {
        case .combined, .timed:
            out.append(contentsOf: client)
            out.append(contentsOf: " - - [".utf8)
            out.append(contentsOf: LogTime.clf(time).utf8)
            out.append(contentsOf: "] \"".utf8)
            out.append(contentsOf: request.utf8)
            out.append(contentsOf: "\" \(status) \(size) \"\(referer)\" \"\(ua)\"".utf8)
            if config.style == .timed { out.append(contentsOf: " \"-\" \(requestTime)".utf8) }
        case .json:
            out.append(contentsOf: "{\"remote_addr\":\"".utf8)
            out.append(contentsOf: client)
            out.append(contentsOf: "\",\"time_local\":\"\(LogTime.clf(time))\",\"request\":\"\(request)\",\"status\":\(status),\"body_bytes_sent\":\(size == "-" ? "0" : size),\"http_referer\":\"\(referer)\",\"http_user_agent\":\"\(ua)\",\"request_time\":\(requestTime)}".utf8)
        }
        out.append(0x0A)
    }

    private mutating func appendMalformed(time: Int64, into out: inout [UInt8]) {
        let kinds = [
            "\(time) GET /broken-logger-line",
            "10.0.0.1 - - [\(LogTime.clf(time))] \"GET /unterminated HTTP/1.1 200 512",
            "10.0.0.2 - - [32/Foo/2024:99:99:99 +0000] \"GET / HTTP/1.1\" 200 10",
            "10.0.0.3 - - [\(LogTime.clf(time))] \"GET / HTTP/1.1\" 2000 10",
            "\u{1B}[31mevil\u{1B}[0m - - [\(LogTime.clf(time))] \"GET /\u{07} HTTP/1.1\" ok 1",
        ]
        out.append(contentsOf: kinds[Int(rng.next() % UInt64(kinds.count))].utf8)
        out.append(0x0A)
    }

    /// An index in 0..<n skewed toward small values (roughly Zipf with exponent 1).
    private mutating func zipfIndex(_ n: Int) -> Int {
        let u = rng.unit()
        let v = Int(pow(Double(n), u)) - 1
        return min(max(v, 0), n - 1)
    }
}

/// SplitMix64: a small, fast, seedable pseudo-random generator.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
