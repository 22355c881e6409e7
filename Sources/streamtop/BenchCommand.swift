import ArgumentParser
import Foundation
import StreamtopAnalytics
import StreamtopLogs

/// `streamtop bench`: in-process measurements, to see where the time goes.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: the stages on a log file, or the engine alone.",
        subcommands: [StagesBench.self, EngineBench.self, ScheduleBench.self],
        defaultSubcommand: StagesBench.self)
}

/// `streamtop bench stages FILE`.
struct StagesBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "Measure the stages on a log file: reading, line splitting, parsing, aggregation (one core each).",
        discussion: "Prints one line per stage with lines per second (best of --runs). The file is read into memory first, except for the read stage.")

    @Argument(help: ArgumentHelp("An access-log file (e.g. from 'streamtop generate').", valueName: "file"))
    var file: String

    @Option(help: "Repetitions per stage; the best is reported.")
    var runs: Int = 3

    @Option(help: ArgumentHelp("Log format preset to parse with (\(LogFormat.presetNames.joined(separator: ", "))).", valueName: "name"))
    var format: String = "combined"

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard LogFormat.preset(format) != nil else { throw ValidationError("unknown format '\(format)'") }
    }

    func run() throws {
        try FileSource.checkReadable(file)
        var st = stat()
        guard stat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else {
            throw CLIError("bench stages needs a non-empty regular file (it reads it several times); \(file) is not one")
        }
        // Read stage: the file source alone, in blocks.
        var lines = 0
        var readError: Error?
        let read = best {
            do {
                let src = try FileSource(paths: [file])
                lines = 0
                while let b = try src.nextBlock() { lines += b.lineCount }
            } catch {
                readError = error
            }
        }
        if let readError { throw CLIError("cannot read \(file): \(readError)") }
        report("read (256 KiB blocks)", lines, read)
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        let block = LineBlock(copying: [UInt8](data))
        let split = best {
            var n = 0
            block.forEachLine { _, _, _ in n += 1 }
            precondition(n == block.lineCount)
        }
        report("split lines (memchr)", block.lineCount, split)
        var records: [ParsedRecord] = []
        records.reserveCapacity(block.lineCount)
        var malformed = 0
        let logFormat = LogFormat.preset(format)!
        let parse = best {
            records.removeAll(keepingCapacity: true)
            malformed = 0
            let base = block.base
            var times = LogTime.CLFCache()
            block.forEachLine { s, l, _ in
                switch logFormat.parse(base, start: s, count: l, times: &times) {
                case .record(let r): records.append(r)
                case .malformed: malformed += 1
                }
            }
        }
        report("split + parse (\(logFormat.name))", block.lineCount, parse)
        if malformed * 2 > block.lineCount { print("warning: \(malformed) of \(block.lineCount) lines do not parse as \(logFormat.name)") }
        let parsed = ParsedBlock(lines: block, records: records, malformed: malformed)
        let aggregate = best {
            var agg = AccessAggregate()
            agg.add(parsed)
            precondition(agg.records == records.count)
        }
        report("aggregate (report's keys)", records.count, aggregate)
        var agg = AccessAggregate()
        agg.add(parsed)
        let summary = best { _ = agg.summary() }
        print(pad("summarize (once per report)") + String(format: "%12.1f ms", summary * 1000))
        // What the engine publishes once a second while lines flow: the top lists the analytics view scrolls.
        let published = best { _ = agg.summary(top: AggregateOperator.publishedTop) }
        print(pad("summarize, top \(AggregateOperator.publishedTop)") + String(format: "%12.1f ms", published * 1000))
    }

    private func best(_ body: () -> Void) -> Double {
        var bestTime = Double.infinity
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            bestTime = min(bestTime, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return bestTime
    }

    private func report(_ stage: String, _ lines: Int, _ seconds: Double) {
        print(pad(stage) + String(format: "%12.0f lines/s  %7.1f ns/line", Double(lines) / seconds, seconds * 1e9 / Double(max(lines, 1))))
    }

    private func pad(_ s: String) -> String { s.padding(toLength: 28, withPad: " ", startingAt: 0) }
}
