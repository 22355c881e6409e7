import ArgumentParser
import Foundation
import StreamtopEngine
import StreamtopAnalytics
import StreamtopKafka
import StreamtopLogs
import StreamtopTUI

/// Options shared by every way of running the pipeline.
struct RunOptions: ParsableArguments {
    @Flag(help: "Run without a terminal: no dashboard; print the final report on stdout (see --report).")
    var headless = false

    @Option(help: "Final report format in headless mode: json (the report contract) or none (e.g. with --results -).")
    var report: ReportFormat = .json

    @Option(parsing: .unconditional, help: "Worker threads for the pipeline's tasks: by default, this machine's number of cores")
    var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: ArgumentHelp("Append every malformed line, with its source and line number, to this file (kept across runs; control bytes written as \\xHH, see --rejects-raw).", valueName: "file"))
    var rejects: String?

    @Flag(help: "Write rejected lines to --rejects as their raw bytes (escape sequences included) instead of escaped.")
    var rejectsRaw = false

    @Option(help: ArgumentHelp("Longest line kept: longer ones count as malformed ('line too long', their head kept for inspection) so memory stays bounded.", valueName: "bytes"))
    var maxLineBytes: Int = LineChunker.defaultMaxLineBytes

    @OptionGroup var dashboard: DashboardOptions

    @Option(help: ArgumentHelp("Write a metrics snapshot as one JSON line to this file at each --every interval (the file is replaced at start; '-' for stdout with --headless --report none).", valueName: "file"))
    var snapshots: String?

    @Option(help: ArgumentHelp("Interval between snapshots written to --snapshots, e.g. 500ms, 2s.", valueName: "duration"))
    var every: Duration = Duration(milliseconds: 1000)

    @Option(help: ArgumentHelp("Scheduling policy at start: strict-priority, fair-share or adaptive (switch with P or :policy).", valueName: "policy"))
    var policy: PolicyArgument = PolicyArgument(.strictPriority)

    @Option(help: ArgumentHelp("Apply a timed script of operator commands, one per line: '2s pause parse', '5s resume parse', '6s workers aggregate 2', '7s policy adaptive', '8s speed 10'.", valueName: "file"))
    var actions: String?

    @Option(help: ArgumentHelp("Log format: auto (detect from the first lines and say which), combined, common, vcombined, vcommon, nginx-timed or json.", valueName: "name"))
    var format: String = "auto"

    @Option(help: ArgumentHelp("A custom format written as an nginx log_format, e.g. '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent $request_time'.", valueName: "log_format"))
    var nginxFormat: String?

    @Option(help: ArgumentHelp("A custom format written as an Apache LogFormat, e.g. '%h %l %u %t \"%r\" %>s %b %D'.", valueName: "LogFormat"))
    var apacheFormat: String?

    @Option(help: ArgumentHelp("For --format json: the key holding a field, as FIELD=KEY (nested keys with dots), e.g. client=request.remote_ip. Fields: client, timeISO, timeEpoch, timeCLF, request, method, uri, status, size, requestTimeSeconds, requestTimeNanos. Repeatable.", valueName: "field=key"))
    var jsonField: [String] = []

    @Option(help: ArgumentHelp("Keep only matching records (a filter task between parse and aggregate), e.g. 'status >= 500', 'path ~ \"^/api/\" and method == POST', 'client in 10.0.0.0/8', 'not path ~ \".php$\"'.", valueName: "expression"))
    var filter: String?

    @Option(help: ArgumentHelp("Count requests in tumbling event-time windows of this length (e.g. 1m, 5m) and write one JSON line per window to --results.", valueName: "duration"))
    var window: String?

    @Option(help: ArgumentHelp("Make the windows slide: a new --window-long window starts every this often (must divide --window, e.g. --window 5m --slide 1m).", valueName: "duration"))
    var slide: String?

    @Option(help: ArgumentHelp("Seconds of lateness a window accepts after newer events arrived (default 60s); later records are counted as late. Needs --window.", valueName: "duration"))
    var lateness: String?

    @Option(help: ArgumentHelp("Where window results go: NDJSON, or CSV for a .csv name; the file is replaced at start ('-' for stdout with --headless --report none).", valueName: "file"))
    var results: String = "windows.ndjson"

    /// The window slide in seconds, if the windows slide.
    func slideSeconds() throws -> Int64? {
        guard let text = slide else { return nil }
        guard let w = try windowSeconds()?.0 else { throw ValidationError("--slide needs --window (the window length)") }
        guard let s = ActionScript.seconds(text), s >= 1, s == s.rounded(), w % Int64(s) == 0 else {
            throw ValidationError("--slide wants whole seconds that divide --window, like --window 5m --slide 1m; got '\(text)'")
        }
        return Int64(s)
    }

    /// The window length and lateness in seconds, if windows are asked for.
    func windowSeconds() throws -> (Int64, Int64)? {
        guard let w = window else { return nil }
        guard let s = ActionScript.seconds(w), s >= 1 else { throw ValidationError("--window wants a duration from 1s to 10 years, like 1m; got '\(w)'") }
        let late = lateness ?? "60s"
        guard let l = ActionScript.seconds(late) else { throw ValidationError("--lateness wants a duration up to 10 years, like 60s; got '\(late)'") }
        return (Int64(s), Int64(l))
    }

    @Flag(help: "Count paths with their ids folded: /users/123 and /users/456 both count as /users/:id (digits, UUIDs, long hex).")
    var normalizePaths = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Distinct paths and clients the report keeps exactly (per worker); past that the least counted are dropped (lossy counting), unique clients becomes a HyperLogLog estimate and the report says by how much top counts may fall short. 0 = exact, no limit. Default: 0 for replay, 1000000 for watch.", valueName: "n"))
    var maxKeys: Int?

    /// The key limit for a run that follows live input or replays files.
    func keyLimit(watching: Bool) throws -> Int {
        guard let n = maxKeys else { return watching ? 1_000_000 : 0 }
        guard n >= 0 else { throw ValidationError("--max-keys wants 0 (no limit) or a positive number; got \(n)") }
        return n == 0 ? 0 : max(n, 16)
    }

    /// The compiled filter, if any.
    func filterExpression() throws -> FilterExpression? {
        guard let f = filter else { return nil }
        do {
            return try FilterExpression.parse(f)
        } catch let e as FilterError {
            throw ValidationError("bad --filter: \(e.description)")
        }
    }

    @Option(help: ArgumentHelp("Keep checkpoints in this directory: a run started again with the same one restores every count, window and top list and reads on exactly where the last checkpoint left off (lines appended or rotated while it was down included).", valueName: "dir"))
    var state: String?

    @Flag(help: "With --state: ignore and replace the checkpoint there, starting over.")
    var fresh = false

    @Option(help: ArgumentHelp("Interval between checkpoints with --state, from 10ms to 24h, e.g. 10s (the default), 1m; one more is taken on a clean stop.", valueName: "duration"))
    var checkpointEvery: Duration?

    @Option(help: ArgumentHelp("Serve Prometheus metrics (GET /metrics) and a health check (GET /healthz) on this IPv4 address and port, e.g. 127.0.0.1:9464 (port 0: any free port, said on stderr).", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("With --listen: accept commands on POST /api/v1/commands from clients that send this file's token as 'Authorization: Bearer TOKEN' (without it, control is off).", valueName: "file"))
    var controlTokenFile: String?

    /// The control token, if a token file was given (read once, surrounding whitespace dropped).
    func controlToken() throws -> String? {
        guard let path = controlTokenFile else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read control token file \(path)") }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 16, !token.contains(where: { $0.isWhitespace }) else {
            throw CLIError("control token file \(path) must hold one token of at least 16 characters")
        }
        return token
    }

    /// The address to listen on, if any.
    func listenAddress() throws -> (host: String, port: UInt16)? {
        guard let text = listen else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw ValidationError("--listen wants HOST:PORT, e.g. 127.0.0.1:9464; got '\(text)'")
        }
        let host = parts[0].isEmpty || parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        return (host, port)
    }

    @Option(help: ArgumentHelp("A librdkafka client setting for kafka:// inputs and outputs, e.g. security.protocol=SASL_SSL, sasl.mechanisms=PLAIN, ssl.ca.location=/etc/ssl/ca.pem (repeatable; values are never shown or logged).", valueName: "name=value"))
    var kafkaOption: [String] = []

    @Option(help: ArgumentHelp("A file of librdkafka client settings, one name=value per line (# comments), for credentials: values on the command line show in ps. --kafka-option settings win.", valueName: "file"))
    var kafkaConfig: String?

    /// The Kafka client settings: the settings file's, then --kafka-option's.
    func kafkaSettings() throws -> [String] {
        try (kafkaConfig.map(KafkaSettingsFile.read) ?? []) + kafkaOption
    }

    @Option(help: ArgumentHelp("Capacity of each task's input queue, in blocks.", valueName: "blocks"))
    var queueCapacity: Int = 8

    /// The format the options ask for.
    func formatChoice() throws -> FormatChoice {
        if nginxFormat != nil && apacheFormat != nil { throw ValidationError("give --nginx-format or --apache-format, not both") }
        do {
            if let f = nginxFormat { return FormatChoice(.compiled(try CompiledFormat.nginx(f, name: "custom nginx"))) }
            if let f = apacheFormat { return FormatChoice(.compiled(try CompiledFormat.apache(f, name: "custom apache"))) }
        } catch let e as CompiledFormat.CompileError {
            throw ValidationError("bad custom format: \(e.description)")
        }
        if !jsonField.isEmpty {
            var map = JSONFieldMap()
            for item in jsonField {
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let kind = FieldKind(rawValue: parts[0]), !parts[1].isEmpty else {
                    throw ValidationError("--json-field wants FIELD=KEY with FIELD one of \(FieldKind.allCases.map(\.rawValue).filter { $0 != "ignore" }.joined(separator: ", ")); got '\(item)'")
                }
                map.set(kind, to: parts[1])
            }
            return FormatChoice(.jsonLines(map))
        }
        if format.lowercased() == "auto" { return .auto() }
        guard let preset = LogFormat.preset(format) else {
            throw ValidationError("unknown format '\(format)' (auto, \(LogFormat.presetNames.joined(separator: ", ")), or --nginx-format/--apache-format)")
        }
        return FormatChoice(preset)
    }

    func validate() throws {
        _ = try formatChoice()
        _ = try dashboard.keymap()
        _ = try dashboard.dashboardSettings()
        // A theme named on the command line is checked even headless (where nothing is drawn), so that a
        // typo in a service's command line is found before the dashboard first needs it.
        if let name = dashboard.theme, name != "auto", name != "default" {
            do { _ = try Theme.load(name, directories: DashboardLoop.themeDirectories) } catch { throw ValidationError("\(error)") }
        }
        _ = try filterExpression()
        _ = try windowSeconds()
        _ = try slideSeconds()
        _ = try listenAddress()
        if let path = kafkaConfig {
            do { _ = try KafkaSettingsFile.read(path) } catch { throw ValidationError("\(error)") }
            if let exposed = KafkaSettingsFile.exposure(path) { warn(exposed) }
        }
        if window != nil && results == "-" && !headless { throw ValidationError("--results - needs --headless (the dashboard owns the terminal)") }
        if window != nil && results == "-" && report == .json { throw ValidationError("--results - would mix result rows into the JSON report on standard output; add --report none, or give a file") }
        if lateness != nil && window == nil { throw ValidationError("--lateness needs --window (it is the lateness the windows accept)") }
        if snapshots == "-" && !(headless && report == .none) { throw ValidationError("--snapshots - needs --headless --report none (standard output is the dashboard's or the report's)") }
        guard (256...(1 << 30)).contains(maxLineBytes) else { throw ValidationError("--max-line-bytes must be between 256 and 1073741824, got \(maxLineBytes)") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256, got \(workers)") }
        if state?.isEmpty == true { throw ValidationError("--state wants a directory, e.g. --state /var/lib/streamtop/site") }
        guard (1...4096).contains(queueCapacity) else { throw ValidationError("--queue-capacity must be between 1 and 4096, got \(queueCapacity)") }
    }
}

/// Report formats.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case json
    case none
}

/// A duration written as `250ms`, `2s` or `1.5s`.
struct Duration: ExpressibleByArgument {
    var milliseconds: Int
    init(milliseconds: Int) { self.milliseconds = milliseconds }
    init?(argument: String) {
        guard let seconds = Quantity.seconds(argument), seconds >= 0.01, seconds <= 86_400 else { return nil }
        milliseconds = Int(seconds * 1000)
    }
    var defaultValueDescription: String { "\(milliseconds)ms" }
}

/// Replay speed: a factor of the recording's own pace, or `max`.
enum ReplaySpeed: ExpressibleByArgument, CustomStringConvertible {
    case factor(Double)
    case max

    init?(argument: String) {
        guard let v = Quantity.speed(argument) else { return nil }
        self = v.isFinite ? .factor(v) : .max
    }

    var description: String {
        switch self {
        case .max: return "max"
        case .factor(let v): return v == v.rounded() ? "\(Int(v))×" : "\(v)×"
        }
    }

    static var allValueStrings: [String] { [] }
    var defaultValueDescription: String { description }

    /// Reads `--speed`, or says what it takes (ArgumentParser's own message names no range).
    static func parse(_ argument: String) throws -> ReplaySpeed {
        guard let v = ReplaySpeed(argument: argument) else {
            throw ValidationError("a factor of real time from 0.1 to 1000 (e.g. 10), or max")
        }
        return v
    }
}

/// A scheduling policy as a command-line value.
struct PolicyArgument: ExpressibleByArgument {
    var policy: SchedulingPolicy
    init(_ p: SchedulingPolicy) { policy = p }
    init?(argument: String) {
        guard let p = SchedulingPolicy(name: argument) else { return nil }
        policy = p
    }
    var defaultValueDescription: String { policy.rawValue }
    static var allValueStrings: [String] { SchedulingPolicy.allCases.map(\.rawValue) }
}
