import Foundation
import StreamtopAnalytics
import StreamtopLogs

/// Placeholder replaced below.
struct DashboardRunner {
    let pipeline: AccessPipeline
    let header: String
    let pacer: ReplayPacer?
    let themeName: String
    func run(snapshots: SnapshotWriter?) throws { throw CLIError("dashboard not wired yet") }
}
