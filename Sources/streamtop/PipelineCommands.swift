import ArgumentParser
import Foundation
import StreamtopAnalytics
import StreamtopEngine

/// `streamtop run PIPELINE.toml`.
struct RunPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline described in a TOML file (see examples/ and `streamtop check`).",
        discussion: "The file's workers, policy and source settings apply; the options below add to them (--headless, --snapshots, --actions…).")

    @Argument(help: ArgumentHelp("The pipeline file.", valueName: "pipeline.toml"))
    var file: String

    @OptionGroup var options: RunOptions

    func run() throws {
        let pipeline = try PipelineLoader.load(file)
        var opts = options
        if let w = pipeline.workers { opts.workers = w }
        if let p = pipeline.policy { opts.policy = PolicyArgument(p) }
        opts.format = pipeline.source.format
        var writers: [ResultWriter] = []
        var groupOutputs: [(GroupOperator, String, Int)] = []
        let middle = try pipeline.tasks.map { task -> TaskSpec in
            switch task.op {
            case .filter(let e):
                return TaskSpec(name: task.name, op: FilterOperator(e), priority: task.priority, workers: task.workers, queueCapacity: opts.queueCapacity)
            case .window(let seconds, let lateness, let results):
                let writer = try ResultWriter(path: results)
                writers.append(writer)
                let op = WindowOperator(seconds: seconds, lateness: lateness) { writer.write($0) }
                return TaskSpec(name: task.name, op: op, priority: task.priority, workers: 1, queueCapacity: opts.queueCapacity)
            case .group(let by, let results, let limit):
                let op = GroupOperator(by: by, slots: opts.workers)
                groupOutputs.append((op, results, limit))
                return TaskSpec(name: task.name, op: op, priority: task.priority, workers: task.workers, queueCapacity: opts.queueCapacity)
            }
        }
        var runner = Runner(options: opts)
        // Grouped results are written once the input has ended (atomically), and also when the dashboard quits.
        runner.onFinished = {
            for (op, path, limit) in groupOutputs {
                do { try op.write(to: path, limit: limit) } catch {
                    FileHandle.standardError.write(Data("streamtop: cannot write \(path): \(error)\n".utf8))
                }
            }
        }
        if pipeline.source.mode == "watch" {
            try runner.watch(paths: pipeline.source.files, fromStart: pipeline.source.fromStart, middle: middle)
        } else {
            let speed = ReplaySpeed(argument: pipeline.source.speed) ?? .max
            try runner.replay(paths: pipeline.source.files, speed: speed, loop: pipeline.source.loop && !opts.headless, label: "run", middle: middle)
        }
    }
}

/// `streamtop check PIPELINE.toml`.
struct CheckPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a pipeline file: every mistake with its line number; exit 1 if there is one.")

    @Argument(help: ArgumentHelp("Pipeline files.", valueName: "pipeline.toml"))
    var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                let p = try PipelineLoader.load(file)
                let tasks = (["source", "parse"] + p.tasks.map(\.name) + ["aggregate", "sink"]).joined(separator: " → ")
                print("\(file): ok: \(tasks)")
            } catch {
                print("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// Reads and parses a pipeline file.
enum PipelineLoader {
    static func load(_ path: String) throws -> PipelineFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read pipeline file \(path)") }
        return try PipelineFile.parse(text, file: path)
    }
}

extension PipelineFile.Mistake: SourceErrorLike {}
