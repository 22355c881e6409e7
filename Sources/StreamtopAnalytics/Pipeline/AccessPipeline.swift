import StreamtopEngine
import StreamtopLogs

/// The pipeline, a graph of tasks: source → parse → (`--filter`) → the report's branch (maps that enrich
/// every record → aggregate → sink), with `--window` and the tasks of a pipeline file as branches that read
/// where they say (by default the task before them). A filter in a pipeline file therefore only changes
/// the tasks that read it, never the report. Holds the handles the dashboard and the report need
/// (aggregates, quarantine, the line source for replay control). Without options it is the default
/// pipeline behind the dashboard's standard analytics.
public final class AccessPipeline {
    /// The running engine.
    public let engine: Engine
    /// The aggregates kept by the `aggregate` task.
    public let aggregate: AggregateOperator
    /// Malformed lines.
    public let quarantine: Quarantine
    /// The line source (for its label and, when it is a replay, its speed and position).
    public let lines: LineSource
    /// The engine's source: the line source as batches (its position goes into checkpoints).
    public let blockSource: LineBlockSource
    /// The log format (fixed, or detected from the first block).
    public let format: FormatChoice
    /// The stateful analytics tasks of the run (windows, groups, top-K, distinct, sessions), finished at
    /// the end of the input so open windows are emitted and sinks completed.
    public let analytics: [OrderedOperator]
    /// Whether the report counts every parsed record as parsed (no filter or map before it): a drill-down
    /// of a finished run can then be counted again from the input files alone (`DrillDownRecount`).
    public var reportReadsParse: Bool { reportReads == "parse" }
    /// The task whose output the report counts ("parse", "filter" for `--filter`, "normalize" for
    /// `--normalize-paths`, or a pipeline file's task).
    public let reportReads: String
    /// The longest line parsed; longer ones are malformed.
    public let maxLineBytes: Int
    /// The name of the task that keeps the report's aggregates (its summary is published under it).
    public static let aggregateTask = "aggregate"

    /// Builds the pipeline over `lines` with `workers` worker threads.
    public init(lines: LineSource, workers: Int, quarantine: Quarantine, queueCapacity: Int = 8, policy: SchedulingPolicy = .strictPriority, format: FormatChoice = FormatChoice(.combined), filter: FilterExpression? = nil, window: WindowOperator? = nil, middle: [TaskSpec] = [], normalizePaths: Bool = false, keyLimit: Int = 0, maxLineBytes: Int = LineChunker.defaultMaxLineBytes, reportInput: String? = nil, clock: EngineClock = MonotonicClock()) {
        self.lines = lines
        self.format = format
        self.analytics = (window.map { [$0] } ?? []) + middle.compactMap { $0.op as? OrderedOperator }
        self.quarantine = quarantine
        aggregate = AggregateOperator(slots: workers, keyLimit: keyLimit)
        var config = EngineConfig(workers: workers)
        config.sourceName = "source"
        config.policy = policy
        var specs = [TaskSpec(name: "parse", op: ParseOperator(quarantine: quarantine, format: format, maxLineBytes: maxLineBytes), priority: 0, queueCapacity: queueCapacity)]
        // `--filter` narrows everything, the report included: it is the head of the line the rest reads.
        var head = "parse"
        if let filter {
            specs.append(TaskSpec(name: "filter", op: FilterOperator(filter), priority: 0, queueCapacity: queueCapacity, inputs: [head]))
            head = "filter"
        }
        if let window { specs.append(TaskSpec(name: "window", op: window, priority: 0, queueCapacity: queueCapacity, inputs: [head])) }
        // A pipeline file's "parse" is the head of the line.
        for var spec in middle {
            spec.inputs = (spec.inputs ?? [specs.last!.name]).map { $0 == "parse" ? head : $0 }
            specs.append(spec)
        }
        var report = reportInput.map { $0 == "parse" ? head : $0 } ?? AccessPipeline.reportInput(head: head, middle: middle)
        // Folding ids for the report is a map task's job, placed on the report's branch so that filters and
        // windows still see the paths as logged.
        if normalizePaths {
            specs.append(TaskSpec(name: "normalize", op: MapOperator(MapOperator.Options(normalizePaths: true)), priority: 0, queueCapacity: queueCapacity, inputs: [report]))
            report = "normalize"
        }
        reportReads = report
        self.maxLineBytes = maxLineBytes
        specs.append(TaskSpec(name: Self.aggregateTask, op: aggregate, priority: 0, queueCapacity: queueCapacity, inputs: [report]))
        specs.append(TaskSpec(name: "sink", op: SinkOperator(), priority: 0, queueCapacity: queueCapacity, inputs: [Self.aggregateTask]))
        blockSource = LineBlockSource(lines, clock: clock, format: format)
        engine = Engine(
            source: blockSource,
            tasks: specs,
            config: config, clock: clock)
    }

    /// Where the report reads by default (see `PipelineGraph.reportInput`).
    static func reportInput(head: String, middle: [TaskSpec]) -> String {
        PipelineGraph.reportInput(head: head, tasks: middle.map { ($0.name, $0.inputs?.first ?? head, $0.op is MapOperator && ($0.inputs?.count ?? 1) == 1) })
    }
}
