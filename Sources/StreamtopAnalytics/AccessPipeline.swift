import StreamtopEngine
import StreamtopLogs

/// The pipeline: source → parse → (filter, window and the tasks of a pipeline file) → aggregate → sink,
/// with the handles the dashboard and the report need (aggregates, quarantine, the line source for replay
/// control). Without options it is the default pipeline behind the dashboard's standard analytics.
public final class AccessPipeline {
    /// The running engine.
    public let engine: Engine
    /// The aggregates kept by the `aggregate` task.
    public let aggregate: AggregateOperator
    /// Malformed lines.
    public let quarantine: Quarantine
    /// The line source (for its label and, when it is a replay, its speed and position).
    public let lines: LineSource
    /// The log format (fixed, or detected from the first block).
    public let format: FormatChoice
    /// The stateful analytics tasks of the run (windows, groups, top-K, distinct, sessions), finished at
    /// the end of the input so open windows are emitted and sinks completed.
    public let analytics: [OrderedOperator]

    /// Builds the pipeline over `lines` with `workers` worker threads.
    public init(lines: LineSource, workers: Int, quarantine: Quarantine, queueCapacity: Int = 8, policy: SchedulingPolicy = .strictPriority, format: FormatChoice = FormatChoice(.combined), filter: FilterExpression? = nil, window: WindowOperator? = nil, middle: [TaskSpec] = [], normalizePaths: Bool = false, keyLimit: Int = 0, maxLineBytes: Int = LineChunker.defaultMaxLineBytes, clock: EngineClock = MonotonicClock()) {
        self.lines = lines
        self.format = format
        self.analytics = (window.map { [$0] } ?? []) + middle.compactMap { $0.op as? OrderedOperator }
        self.quarantine = quarantine
        aggregate = AggregateOperator(slots: workers, keyLimit: keyLimit)
        // Folding ids for the report is the map task's job, placed just before the aggregate so that
        // filters and windows still see the paths as logged.
        let normalize = normalizePaths ? [TaskSpec(name: "normalize", op: MapOperator(MapOperator.Options(normalizePaths: true)), priority: 0, queueCapacity: queueCapacity)] : []
        var config = EngineConfig(workers: workers)
        config.sourceName = "source"
        config.policy = policy
        engine = Engine(
            source: LineBlockSource(lines, clock: clock, format: format),
            tasks: [TaskSpec(name: "parse", op: ParseOperator(quarantine: quarantine, format: format, maxLineBytes: maxLineBytes), priority: 0, queueCapacity: queueCapacity)]
                + (filter.map { [TaskSpec(name: "filter", op: FilterOperator($0), priority: 0, queueCapacity: queueCapacity)] } ?? [])
                + (window.map { [TaskSpec(name: "window", op: $0, priority: 0, queueCapacity: queueCapacity)] } ?? [])
                + middle
                + normalize
                + [
                    TaskSpec(name: "aggregate", op: aggregate, priority: 0, queueCapacity: queueCapacity),
                    TaskSpec(name: "sink", op: SinkOperator(), priority: 0, queueCapacity: queueCapacity),
                ],
            config: config, clock: clock)
    }
}
