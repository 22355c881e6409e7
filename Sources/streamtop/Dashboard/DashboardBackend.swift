import StreamtopAnalytics
import StreamtopEngine
import StreamtopTUI

/// What the dashboard's loop draws from and sends commands to: the pipeline in this process
/// (`LocalDashboard`), or a running instance over HTTP (`RemoteDashboard`, `streamtop attach`). The loop
/// (keys, views, undo, themes) is the same for both.
protocol DashboardBackend: AnyObject {
    /// The latest engine snapshot: what the reducer, clicks and undo look at.
    func snapshot() -> EngineSnapshot
    /// The model of the next frame, with `top` entries in the top lists and the recent rejected lines
    /// when `rejects` is set.
    func model(top: Int, rejects: Bool) -> DashboardModel
    /// The replay's speed (infinity: as fast as possible) and whether its clock is paused; nil for live input.
    var replay: (speed: Double, paused: Bool)? { get }
    /// Parses a typed command against the pipeline's tasks.
    func parse(_ text: String) throws -> OperatorCommand
    /// Carries out a command; a short message for the operator.
    func apply(_ command: OperatorCommand) -> String
    /// A number that changes when something the frame shows changed outside the engine's snapshot (a
    /// drill-down counted again from the input files publishes on its own thread): the loop draws a frame
    /// for it as it would for the pipeline's activity.
    var sideActivity: Int { get }
}

extension DashboardBackend {
    var sideActivity: Int { 0 }
}
