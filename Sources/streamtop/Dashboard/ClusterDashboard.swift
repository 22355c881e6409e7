import Foundation
import StreamtopAnalytics
import StreamtopCurses
import StreamtopEngine
import StreamtopTUI

/// The cluster view (`streamtop attach URL URL …`): one link per instance, the table and the merged
/// analytics on the dashboard's terminal, and Enter to open one instance's own dashboard on the same
/// terminal (q there comes back).
final class ClusterDashboard {
    let links: [InstanceLink]
    private var state = ClusterState()
    /// The last model and the link versions it was merged from: merging is redone only when some
    /// instance sent something new or its link changed state.
    private var cached: (versions: [Int], model: ClusterModel)?

    /// Takes the links before they start fetching, so that the first fetch already asks for what the
    /// merge needs.
    init(links: [InstanceLink], thresholds: HealthThresholds = HealthThresholds()) {
        self.links = links
        state.thresholds = thresholds
        // Whole top lists and the sketches.
        for l in links { l.want(.init(top: AggregateOperator.publishedTop, rejects: false, share: true)) }
    }

    /// The model of the next frame.
    func model() -> ClusterModel {
        let current = links.map { $0.current() }
        let versions = current.map(\.version)
        if var c = cached, c.versions == versions {
            // Only the ages moved.
            for (i, link) in current.enumerated() { c.model.instances[i].link = link.status }
            return c.model
        }
        let fresh = ClusterModel(instances: current.map { ClusterModel.Instance(link: $0.status, model: $0.model) })
        cached = (versions, fresh)
        return fresh
    }

    /// Runs on the loop's terminal until q or a signal.
    func run(on loop: DashboardLoop) {
        var lastFrame = Date.distantPast
        var dirty = true
        while !loop.quitting {
            if let key = loop.terminal.readKey(timeoutMilliseconds: 100) {
                dirty = true
                if handle(key, loop) { return }
            }
            // Four frames a second: the data comes at most that often, and the ages tick.
            let now = Date()
            if dirty || now.timeIntervalSince(lastFrame) >= 0.25 {
                let (w, h) = loop.terminal.size
                var m = model()
                m.clock = Engine.clockTime(now.timeIntervalSince1970)
                loop.terminal.draw(ClusterView.render(m, state: state, width: w, height: h))
                lastFrame = now
                dirty = false
            }
        }
    }

    /// Applies one key; true when it quits.
    private func handle(_ key: Key, _ loop: DashboardLoop) -> Bool {
        let last = links.count - 1
        state.message = nil
        switch key {
        case .char("q"), .char("Q"):
            return true
        case .escape:
            state.showHelp = false
        case .char("?"), .function(1):
            state.showHelp.toggle()
        case .up, .char("k"):
            state.selected = max(0, state.selected - 1)
        case .down, .char("j"):
            state.selected = min(last, state.selected + 1)
        case .home:
            state.selected = 0
        case .end:
            state.selected = last
        case .click(_, let y):
            if let i = ClusterView.instance(atRow: y, count: links.count, selected: state.selected, height: loop.terminal.size.1) { state.selected = i }
        case .enter:
            open(links[state.selected], loop)
        case .resize:
            break
        default:
            state.message = "no action on \(key.label) — press ? for help"
        }
        return false
    }

    /// The selected instance's own dashboard, until q.
    private func open(_ link: InstanceLink, _ loop: DashboardLoop) {
        guard link.current().model != nil else {
            state.message = "\(link.endpoint) has not answered yet: nothing to show"
            return
        }
        let remote = RemoteDashboard(link: link, share: true)
        loop.run(remote, finished: { remote.isFinished }, message: "q: back to the cluster")
        state.message = nil
    }
}
