import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs
import StreamtopTUI

/// Runs the pipeline with the ncurses dashboard on this thread until the operator quits.
struct DashboardRunner {
    let backend: LocalDashboard
    let themeName: String
    let keymap: Keymap
    var settings = DashboardSettings()

    func run(snapshots: SnapshotWriter?, player: ActionPlayer?) throws {
        let engine = backend.pipeline.engine
        let loop = try DashboardLoop(themeName: themeName, keymap: keymap, settings: settings)
        defer { loop.close() }
        // Actions at 0 s go to the mailbox first, so the engine applies them before its first record.
        player?.start()
        engine.start()
        snapshots?.start()
        loop.run(backend, finished: { engine.isFinished })
        // Quitting: a drill-down's reading of the earlier part would only hold the end up.
        backend.pipeline.aggregate.cancelEarlierCount()
        _ = player?.stop()
        if engine.snapshot().checkpoint != nil || backend.pipeline.blockSource.drainsOnStop {
            // With --state, quitting is a clean stop: what was read drains and a final checkpoint is taken,
            // so the next run resumes exactly here (bounded, in case a task is stuck). A Kafka source
            // drains too: it commits only offsets whose lines were counted.
            engine.stopInput()
            _ = engine.waitUntilFinished(timeout: 10)
        }
        engine.shutdown()
        snapshots?.finish()
    }
}
