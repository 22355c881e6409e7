import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopTUI

/// The dashboard over a running instance (`streamtop attach URL`, or Enter in the cluster view): frames
/// draw the link's latest model with how old it is; keys and typed commands go to the instance.
final class RemoteDashboard: DashboardBackend {
    let link: InstanceLink
    /// Whether frames ask for what a cluster view merges (the link is shared with the cluster view).
    private let share: Bool

    init(link: InstanceLink, share: Bool = false) {
        self.link = link
        self.share = share
    }

    /// Whether the instance's input has ended and everything drained, as last seen.
    var isFinished: Bool { link.current().model?.engine.finished ?? false }

    func snapshot() -> EngineSnapshot { link.current().model?.engine ?? .empty }

    func model(top: Int, rejects: Bool) -> DashboardModel {
        // In a cluster the link keeps asking for whole top lists: the merge uses them when the operator goes back.
        link.want(.init(top: share ? AggregateOperator.publishedTop : top, rejects: rejects, share: share))
        let (latest, status, _) = link.current()
        var m = latest ?? DashboardModel(engine: .empty, summary: .empty, source: link.endpoint)
        m.remote = status
        return m
    }

    var replay: (speed: Double, paused: Bool)? {
        guard let m = link.current().model else { return nil }
        return m.replaySpeed.map { ($0, m.replayPaused) }
    }

    func parse(_ text: String) throws -> OperatorCommand {
        let tasks = snapshot().tasks
        return try OperatorCommand.parse(text, task: { name in tasks.first { $0.name == name }?.id }, taskNames: tasks.map(\.name))
    }

    func apply(_ command: OperatorCommand) -> String {
        guard link.canControl else { return InstanceLink.readOnly }
        guard let text = command.text(in: snapshot()) else { return "the instance has no such task" }
        return link.send(text)
    }
}
