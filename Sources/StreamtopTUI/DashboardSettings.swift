import StreamtopAnalytics
import StreamtopLogs
import TOMLKit

/// The dashboard's saved settings (`~/.config/streamtop/settings.toml`, or `--settings FILE`):
///
/// ```toml
/// theme = "nord"          # as --theme (the command line wins)
/// graph = "5m"            # the throughput graph's span at start: live, 1m, 5m, 15m, 1h, 6h, 24h
/// hidden_columns = ["p50", "busy"]   # task table columns to leave out (F2 chooses them live)
/// refresh = "500ms"       # time between frames while the pipeline moves, as --refresh (100ms to 10s)
///
/// [alerts]                # when the site-health strip warns and alerts
/// server_errors_warning = "1%"
/// server_errors_alert = "5%"
/// client_errors_warning = "20%"
/// slow_p99 = "1s"
/// alert_after = "30s"
/// ```
public struct DashboardSettings: Equatable, Sendable {
    /// The theme, when the file names one.
    public var theme: String?
    /// The graph's span at start.
    public var graphSpan = GraphSpan.live
    /// The health thresholds.
    public var thresholds = HealthThresholds()
    /// Task table columns left out.
    public var hiddenColumns: Set<TaskColumn> = []
    /// Seconds between frames while the pipeline moves (a key is answered at once whatever it is). Half a
    /// second by default: with the dashboard open at 20 k lines/s, five frames and five reads a second cost
    /// 1.73–1.80 % of a core against 1.37–1.40 % (interleaved 30 s runs), for graphs that move in smaller
    /// steps; htop redraws every 1.5 s, btop every 2 s.
    public var refresh = DashboardSettings.defaultRefresh
    /// The default `refresh`, and the range a settings file or `--refresh` may ask for.
    public static let defaultRefresh = 0.5
    public static let refreshRange = 0.1...10.0

    /// The seconds of a refresh interval written like "500ms" or "2s", or nil (with why) when it is not one
    /// or is out of range.
    public static func refreshSeconds(_ text: String) -> Result<Double, SettingsError> {
        guard let secs = Quantity.seconds(text), secs.isFinite else {
            return .failure(SettingsError("wants a duration like \"500ms\" or \"2s\", not '\(text)'"))
        }
        guard refreshRange.contains(secs) else {
            return .failure(SettingsError("\(text) is out of range: from 100ms to 10s"))
        }
        return .success(secs)
    }

    /// Defaults.
    public init() {}

    /// Reads settings; an unknown key or a bad value is an error with its line (a setting that silently
    /// does nothing is worse than one that stops the start).
    public static func parse(_ text: String) throws -> DashboardSettings {
        if text.utf8.count > 1 << 20 { throw SettingsError("too large for a settings file (over 1 MiB)") }
        let table: TOMLTable
        do {
            table = try TOMLGuard.parse(text)
        } catch {
            throw SettingsError(error.description)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func line(_ key: String) -> Int {
            (lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix(key) } ?? -1) + 1
        }
        func fail(_ key: String, _ why: String) -> SettingsError { SettingsError("line \(line(key)): \(why)") }
        var s = DashboardSettings()
        for key in table.keys {
            switch key {
            case "theme":
                guard let v = table[key]?.string, !v.isEmpty else { throw fail(key, "theme wants a name or a path, like \"nord\"") }
                s.theme = v
            case "graph":
                let spans = ["live": GraphSpan.live, "1m": .minute, "5m": .fiveMinutes, "15m": .fifteenMinutes, "1h": .hour, "6h": .sixHours, "24h": .day]
                guard let v = table[key]?.string, let span = spans[v] else { throw fail(key, "graph wants live, 1m, 5m, 15m, 1h, 6h or 24h") }
                s.graphSpan = span
            case "hidden_columns":
                let names = TaskColumn.allCases.map(\.rawValue).joined(separator: ", ")
                guard let list = table[key]?.array else { throw fail(key, "hidden_columns wants a list of column names (\(names))") }
                for item in list {
                    guard let name = item.string, let column = TaskColumn(rawValue: name) else {
                        throw fail(key, "unknown column \(item.string.map { "'\($0)'" } ?? "value") in hidden_columns (\(names))")
                    }
                    s.hiddenColumns.insert(column)
                }
            case "refresh":
                guard let text = table[key]?.string else { throw fail(key, "refresh wants a duration like \"500ms\" or \"2s\"") }
                switch refreshSeconds(text) {
                case .success(let secs): s.refresh = secs
                case .failure(let e): throw fail(key, "refresh \(e.description)")
                }
            case "alerts":
                guard let alerts = table[key]?.table else { throw fail(key, "[alerts] must be a table") }
                for a in alerts.keys {
                    func share() throws -> Double {
                        let v = alerts[a]?.string ?? alerts[a].flatMap { $0.double ?? $0.int.map(Double.init) }.map { "\($0)%" }
                        guard let text = v, text.hasSuffix("%"), let p = Double(text.dropLast().trimmingCharacters(in: .whitespaces)), p > 0, p <= 100 else {
                            throw fail(a, "\(a) wants a share like \"5%\" (above 0, at most 100)")
                        }
                        return p / 100
                    }
                    func duration() throws -> Double {
                        guard let text = alerts[a]?.string, let secs = Quantity.seconds(text), secs >= 0, secs <= 86_400 else {
                            throw fail(a, "\(a) wants a duration like \"30s\" or \"500ms\" (at most a day)")
                        }
                        return secs
                    }
                    switch a {
                    case "server_errors_warning": s.thresholds.serverErrorWarning = try share()
                    case "server_errors_alert": s.thresholds.serverErrorAlert = try share()
                    case "client_errors_warning": s.thresholds.clientErrorWarning = try share()
                    case "slow_p99": s.thresholds.slowP99Micros = UInt64(try duration() * 1e6)
                    case "alert_after":
                        let secs = try duration()
                        guard secs <= Double(HealthThresholds.longestAlertAfter) else {
                            throw fail(a, "alert_after is at most 5m: how long a share lasted is read from the last five minutes")
                        }
                        s.thresholds.alertAfterSeconds = Int(secs.rounded())
                    default:
                        throw fail(a, "unknown alert setting '\(a)' (server_errors_warning, server_errors_alert, client_errors_warning, slow_p99, alert_after)")
                    }
                }
            default:
                throw fail(key, "unknown setting '\(key)' (theme, graph, hidden_columns, refresh, [alerts])")
            }
        }
        if s.thresholds.serverErrorWarning > s.thresholds.serverErrorAlert {
            throw SettingsError("server_errors_warning is above server_errors_alert")
        }
        return s
    }
}

/// Settings that cannot be used.
public struct SettingsError: Error, CustomStringConvertible {
    /// One line saying what is wrong.
    public let description: String
    init(_ d: String) { description = d }
}
