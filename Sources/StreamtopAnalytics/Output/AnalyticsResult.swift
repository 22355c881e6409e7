/// An analytics task's latest result as an immutable value: what the operator publishes through the
/// engine's snapshot, so the dashboard, the report and any exporter read results without touching the
/// live operator (which only its worker may use).
public struct AnalyticsResult: Sendable, Equatable {
    /// The rows of the latest result: the last window closed, or the whole-input table once written.
    public var rows: [ResultRow]
    /// Live figures that move between results (`active now`, `visits` for sessions), in display order.
    public var live: [LiveFigure]
    /// The drill-down open on the task's records, if any (`focus in TASK where …`).
    public var drillDown: DrillDownSummary?
    /// The rows are a whole-input table so far (refreshed about once a second while the run goes on);
    /// the final table replaces them at the end of the input.
    public var soFar: Bool

    /// One named live number.
    public struct LiveFigure: Sendable, Equatable {
        /// Its label, e.g. `active now`.
        public var name: String
        /// Its value.
        public var value: Int

        /// Creates a figure.
        public init(name: String, value: Int) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a result.
    public init(rows: [ResultRow], live: [LiveFigure] = [], drillDown: DrillDownSummary? = nil, soFar: Bool = false) {
        self.rows = rows
        self.live = live
        self.drillDown = drillDown
        self.soFar = soFar
    }
}
