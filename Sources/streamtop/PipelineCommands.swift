import ArgumentParser
import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs

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
        var pipeline = try PipelineLoader.load(file)
        // Relative input paths are relative to the pipeline file (results go where the command runs).
        let dir = (file as NSString).deletingLastPathComponent
        pipeline.source.files = pipeline.source.files.map { $0 == "-" || $0.hasPrefix("/") || dir.isEmpty || KafkaAddress.isKafka($0) ? $0 : (dir as NSString).appendingPathComponent($0) }
        var opts = options
        if let w = pipeline.workers { opts.workers = w }
        if let p = pipeline.policy { opts.policy = PolicyArgument(p) }
        opts.format = pipeline.source.format
        // Like results files, the state directory is where the command runs (inputs are beside the file).
        if opts.state == nil { opts.state = pipeline.state }
        if opts.listen == nil { opts.listen = pipeline.listen }
        if opts.controlTokenFile == nil { opts.controlTokenFile = pipeline.controlTokenFile }
        if opts.checkpointEvery == nil, let every = pipeline.checkpointEvery { opts.checkpointEvery = Duration(milliseconds: Int(every * 1000)) }
        // Claim every output before any is opened: none may be an input or another task's file.
        let outputs = OutputGuard(inputs: pipeline.source.files.filter { !KafkaAddress.isKafka($0) })
        outputs.kafkaSettings = try opts.kafkaSettings()
        // The state directory first: a resumed run keeps its results files instead of emptying them.
        let session = try CheckpointSession.open(opts, outputs: outputs)
        let middle = try pipeline.tasks.map { try $0.makeSpec(queueCapacity: opts.queueCapacity, outputs: outputs) }
        var runner = Runner(options: opts)
        runner.outputs = outputs
        runner.reportInput = pipeline.reportInput
        runner.checkpoints = session
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
        abstract: "Validate a pipeline file: its first mistake with its line number, and whether a replay's input files can be read; exit 1 if not.")

    @Argument(help: ArgumentHelp("Pipeline files.", valueName: "pipeline.toml"))
    var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                let p = try PipelineLoader.load(file)
                // The inputs, as `run` reads them (relative to the pipeline file): a replay fails on a file it
                // cannot read; `watch` waits for one that does not exist yet.
                let dir = (file as NSString).deletingLastPathComponent
                var unreadable: [String] = []
                for path in p.source.files where path != "-" && !KafkaAddress.isKafka(path) && !Glob.isPattern(path) {
                    let full = path.hasPrefix("/") || dir.isEmpty ? path : (dir as NSString).appendingPathComponent(path)
                    if p.source.mode == "watch" && !FileManager.default.fileExists(atPath: full) { continue }
                    do { try FileSource.checkReadable(full) } catch { unreadable.append("\(error)") }
                }
                guard unreadable.isEmpty else {
                    for u in unreadable { print(Escaped.message("\(file): [source] files: \(u)")) }
                    failed = true
                    continue
                }
                print(Escaped.message("\(file): ok: \(p.tasks.count + 3) tasks"))
                for line in PipelineGraph.lines(p) { print(Escaped.message("  " + line)) }
            } catch {
                print(Escaped.message("\(error)"))
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
