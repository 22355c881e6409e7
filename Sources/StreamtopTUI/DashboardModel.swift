import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// Everything one frame of the dashboard shows, gathered from immutable snapshots.
public struct DashboardModel: Sendable {
    /// The engine's latest snapshot.
    public var engine: EngineSnapshot
    /// The analytics.
    public var summary: AccessSummary
    /// Malformed lines per reason, largest first.
    public var malformedReasons: [(String, Int)]
    /// The most recent rejected lines, raw (the screen buffer sanitizes them).
    public var recentRejects: [String]
    /// What is being read, e.g. `demo demo-access.log`.
    public var source: String
    /// Replay speed as shown (`600×`, `max`), nil for live input.
    public var speed: String?
    /// Replay position (UTC epoch seconds of the latest line handed out), if replaying.
    public var replayPosition: Int64?
    /// Whether the replay clock is paused.
    public var replayPaused = false
    /// First and last event times of the recording, when known (for the position bar).
    public var recordingSpan: ClosedRange<Int64>?
    /// The latest result of each analytics task of the pipeline (windows, groups, top-K, visits…).
    public var results: [ResultSummary] = []
    /// The replay speed as a number (infinity: as fast as possible), nil for live input: what the speed
    /// keys scale, here or in a dashboard attached to this instance.
    public var replaySpeed: Double?
    /// How far behind a followed input the pipeline is: bytes written and not read yet, and the age of the
    /// newest event read (wall clock minus its time); nil for other inputs.
    public var backlogBytes: Int64?
    public var eventLag: Double?
    /// A Kafka input: the partitions this instance reads and how many messages it is behind their ends.
    public var partitions: PartitionStatus?
    /// The process's CPU use (1.0 = one core, over the last second or so) and resident memory (bytes).
    public var processCPU: Double?
    public var processRSS: Int?
    /// When the run started (UTC epoch seconds): decisions are shown at their wall-clock time.
    public var startedAt: Double?
    /// What is wrong with the input itself, when something is (`waiting for access.log to appear`): shown
    /// before any advice about the pipeline, which would otherwise call an empty screen "keeping up".
    public var inputWarning: String?
    /// A random number drawn once per process (hex): a cluster view listing the same instance under two
    /// addresses (`localhost:9464` and `127.0.0.1:9464`) counts it once.
    public var instanceID: String?
    /// Which pass of a looping replay (`--loop`, the demo) is being read; nil without a loop.
    public var replayPass: Int?
    /// Set by `streamtop attach`: which instance the frame shows and how fresh it is (never sent).
    public var remote: RemoteStatus?

    /// Creates a model.
    public init(engine: EngineSnapshot, summary: AccessSummary, malformedReasons: [(String, Int)] = [], recentRejects: [String] = [], source: String, speed: String? = nil, replayPosition: Int64? = nil, replayPaused: Bool = false) {
        self.engine = engine
        self.summary = summary
        self.malformedReasons = malformedReasons
        self.recentRejects = recentRejects
        self.source = source
        self.speed = speed
        self.replayPosition = replayPosition
        self.replayPaused = replayPaused
    }
}

/// What an attached dashboard shows about its link to the instance.
public struct RemoteStatus: Sendable, Equatable {
    /// The instance, as given (`host:9464`).
    public var endpoint: String
    /// Seconds since the data shown was fetched.
    public var age: Double
    /// When the instance stopped answering (wall-clock `HH:MM:SS`), nil while it answers.
    public var lostSince: String?
    /// Why, in a few words (`connection refused`).
    public var reason: String?

    /// Creates the status.
    public init(endpoint: String, age: Double, lostSince: String? = nil, reason: String? = nil) {
        self.endpoint = endpoint
        self.age = age
        self.lostSince = lostSince
        self.reason = reason
    }
}

/// Number formatting for compact columns.
public enum Format {
    /// Three significant digits with a unit from a thousand on, so that a column reads alike all the
    /// way down: `999`, `7.58k`, `11.3k`, `804k`, `3.46M`, `12.0G`.
    public static func count(_ v: Double) -> String {
        let a = abs(v)
        guard a >= 999.5 else { return String(Int(v.rounded())) }
        for (scale, unit) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] where a >= scale * 0.9995 {
            let x = v / scale
            let digits = abs(x) >= 99.95 ? 0 : abs(x) >= 9.995 ? 1 : 2
            return fixed(x, digits) + unit
        }
        return String(Int(v.rounded()))
    }

    /// Nanoseconds as `850ns`, `12.3µs`, `4.5ms`, `1.20s`; `-` for zero.
    /// Like `count`, three significant digits: `850ns`, `1.50µs`, `136µs`, `12.3ms`, `1.20s`.
    public static func duration(_ ns: UInt64) -> String {
        let v = Double(ns)
        if ns == 0 { return "-" }
        if v < 999.5 { return "\(ns)ns" }
        for (scale, unit) in [(1e9, "s"), (1e6, "ms"), (1e3, "µs")] where v >= scale * 0.9995 {
            let x = v / scale
            let digits = x >= 99.95 ? 0 : x >= 9.995 ? 1 : 2
            return fixed(x, digits) + unit
        }
        return "\(ns)ns"
    }

    /// A share as a percentage: `12.3%`, `0.4%`, and `<0.1%` for a small share that is not none.
    public static func percent(_ part: Int, of total: Int) -> String {
        guard total > 0, part > 0 else { return "0%" }
        let v = Double(part) * 100 / Double(total)
        return v < 0.05 ? "<0.1%" : fixed(v, 1) + "%"
    }

    /// Bytes with their unit, three significant digits like `count`: `512B`, `12.3kB`, `4.57MB`, `1.20GB`.
    public static func bytes(_ v: Int) -> String {
        Double(v).magnitude < 999.5 ? "\(v)B" : count(Double(v)) + "B"
    }

    /// `text` cut or padded with spaces to `length` characters (what `padding(toLength:withPad:startingAt:)`
    /// does, without going through Foundation for every row of every frame).
    public static func padded(_ text: String, _ length: Int) -> String {
        let n = text.count
        return n >= length ? String(text.prefix(length)) : text + String(repeating: " ", count: length - n)
    }

    /// `1234567` → `1,234,567`.
    public static func grouped(_ v: Int) -> String {
        let s = String(abs(v))
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return v < 0 ? "-" + out : out
    }

    /// Seconds as `1h02m`, `3m05s`, `42.1s`.
    public static func elapsed(_ s: Double) -> String {
        // Without `String(format:)`: through Foundation this was ~6 % of a busy dashboard's CPU.
        func two(_ n: Int) -> String { n < 10 ? "0" + String(n) : String(n) }
        if s >= 3600 { return String(Int(s) / 3600) + "h" + two(Int(s) % 3600 / 60) + "m" }
        if s >= 60 { return String(Int(s) / 60) + "m" + two(Int(s) % 60) + "s" }
        return fixed(s, 1) + "s"
    }

    /// `x` with `digits` decimals (0 to 3), as `%.Nf` writes it for the values a frame shows: the frame's
    /// numbers were a tenth of a busy dashboard's time through Foundation's `String(format:)`.
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite, abs(x) < 1e15, (0...3).contains(digits) else { return String(format: "%.\(digits)f", x) }
        let scale = [1, 10, 100, 1000][digits]
        // Rounded as printf rounds the exact value, half to even: the product's own rounding may land on
        // a half (0.005 × 100 = 0.5) that the exact product is not, which its residual tells.
        let a = abs(x)
        let product = a * Double(scale)
        let residual = (-product).addingProduct(a, Double(scale))
        var whole = product.rounded(.down)
        let half = product - whole
        if half > 0.5 || (half == 0.5 && (residual > 0 || (residual == 0 && whole.truncatingRemainder(dividingBy: 2) == 1))) { whole += 1 }
        let n = Int(whole)
        let sign = x.sign == .minus ? "-" : ""
        guard digits > 0 else { return sign + String(n) }
        let frac = String(n % scale)
        return sign + String(n / scale) + "." + String(repeating: "0", count: digits - frac.count) + frac
    }
}
