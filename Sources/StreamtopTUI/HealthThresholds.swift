import StreamtopAnalytics

/// When the health strip colours a figure and when the advice line raises an alert; the defaults can be
/// changed in the settings file's `[alerts]`.
public struct HealthThresholds: Equatable, Sendable {
    /// A 5xx share from which the strip warns, and from which it alerts.
    public var serverErrorWarning = 0.01
    public var serverErrorAlert = 0.05
    /// A 4xx share from which the strip warns.
    public var clientErrorWarning = 0.20
    /// A served-time p99 (µs) from which the strip warns.
    public var slowP99Micros: UInt64 = 1_000_000
    /// How long (seconds of event time) a 5xx share must stay at the alert level before the alert line.
    public var alertAfterSeconds = 30

    /// The defaults.
    public init() {}

    /// The longest `alert_after`: how long a share has lasted is read from the five-minute window's
    /// ten-second buckets.
    public static let longestAlertAfter = 300

    /// The alert the last minute raises, if any: "ALERT 5xx 7.3% ≥ 5% for 40 s (…)". How long the share
    /// has stayed at or above the limit is counted back over the last five minutes (`fiveMinutes`), so
    /// `alert_after` may be up to five minutes; "for 5 min or more" past that.
    public func alert(_ m: SiteHealth.Window?, fiveMinutes: SiteHealth.Window? = nil) -> String? {
        guard let m, m.serverErrorShare >= serverErrorAlert else { return nil }
        let lasted = max(m.seconds(serverErrorsAtLeast: serverErrorAlert), fiveMinutes?.seconds(serverErrorsAtLeast: serverErrorAlert) ?? 0)
        guard lasted >= alertAfterSeconds else { return nil }
        let share = String(format: "%.1f%%", m.serverErrorShare * 100)
        let pct = serverErrorAlert * 100
        let limit = String(format: pct == pct.rounded() ? "%.0f%%" : "%.1f%%", pct)
        let errors = Format.grouped(Int((m.serverErrorShare * Double(m.requests)).rounded()))
        let span = lasted >= Self.longestAlertAfter ? "5 min or more" : "\(lasted) s"
        return "ALERT 5xx \(share) ≥ \(limit) for \(span) (last minute: \(errors) of \(Format.grouped(m.requests)) requests)"
    }
}
