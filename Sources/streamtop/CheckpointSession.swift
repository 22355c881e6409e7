import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// A run's state directory (`--state`): locked and read before anything else is built, because a resumed
/// run must hash with the checkpoint's seed and keep its results files (cut back to the checkpoint)
/// instead of emptying them; then, once the pipeline exists, it is set back to the checkpoint and takes
/// new ones.
final class CheckpointSession {
    let store: CheckpointStore
    /// The checkpoint to resume from (nil: a fresh start).
    let loaded: CheckpointStore.Loaded?
    let intervalSeconds: Double
    /// How long reading and checking the checkpoint took, ns.
    private var readNanos: UInt64 = 0

    /// Opens `directory` (`--fresh` deletes its checkpoint) and reads the latest checkpoint; marks the
    /// run's outputs as resuming when there is one.
    init(directory: String, fresh: Bool, intervalSeconds: Double, outputs: OutputGuard) throws {
        do {
            store = try CheckpointStore(path: directory, seed: KeyHashSeed.value)
            if fresh { try store.removeAll() }
            let t0 = DispatchTime.now().uptimeNanoseconds
            loaded = fresh ? nil : try store.loadLatest()
            readNanos = DispatchTime.now().uptimeNanoseconds - t0
        } catch let f as CheckpointFailure {
            throw CLIError(f.description)
        }
        self.intervalSeconds = intervalSeconds
        if let loaded {
            KeyHashSeed.adopt(loaded.seed)
            store.seed = loaded.seed
            outputs.resuming = true
        }
    }

    /// The session the options ask for, if any.
    static func open(_ options: RunOptions, outputs: OutputGuard) throws -> CheckpointSession? {
        // Checked here, not when parsing: `run` may take the directory from its pipeline file.
        guard let dir = options.state else {
            if options.fresh { throw CLIError("--fresh needs --state (the directory whose checkpoint to replace)") }
            if options.checkpointEvery != nil { throw CLIError("--checkpoint-every needs --state (where checkpoints go)") }
            return nil
        }
        return try CheckpointSession(directory: dir, fresh: options.fresh, intervalSeconds: Double(options.checkpointEvery?.milliseconds ?? 10_000) / 1000, outputs: outputs)
    }

    /// Restores the pipeline from the checkpoint (if any) and starts taking checkpoints. Returns the lines
    /// to say on stderr in headless mode.
    func attach(to pipeline: AccessPipeline, sourceNames: [String]) throws -> [String] {
        var said: [String] = []
        let engine = pipeline.engine
        let source = pipeline.blockSource
        (source.lines as? FollowSource)?.flushPartialLinesOnStop = false
        source.heartbeatSeconds = min(1, intervalSeconds)
        if pipeline.analytics.contains(where: { $0.sink?.writesStandardOutput == true }) {
            let note = "results written to standard output cannot be cut back: after a restart, the rows written since the last checkpoint come again"
            engine.log(.engine, kind: .sourceEvent, task: "sink", action: "not resumable", reason: note)
            said.append(note)
        }
        if !source.isResumable {
            let note = "standard input cannot be resumed: checkpoints keep the counts, but a restarted run reads standard input from where it then stands"
            engine.log(.engine, kind: .sourceEvent, task: "source", action: "not resumable", reason: note)
            said.append(note)
        }
        if let loaded {
            do {
                said.append(try engine.restore(loaded.image, readNanos: readNanos))
            } catch let f as CheckpointFailure {
                throw CLIError("\(f.description); use --fresh to start over")
            } catch let e as SourceError {
                throw CLIError(e.description)
            }
        }
        let store = self.store
        engine.enableCheckpoints(CheckpointSettings(
            intervalNanos: UInt64(intervalSeconds * 1e9), nextNumber: (loaded?.image.number ?? 0) + 1,
            write: { store.write($0) }))
        return said
    }
}
