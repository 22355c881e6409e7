import ArgumentParser
import Foundation
import StreamtopAssets
import StreamtopKafka
import StreamtopLogs

/// `streamtop` with no arguments: the bundled demo in the dashboard.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Replay the bundled demo traffic (a day of a web shop, with a crawler burst, an error storm and a spike) in a loop.")

    @Option(parsing: .unconditional, help: ArgumentHelp("Replay speed: a factor of real time (0.1 to 1000), or max.", valueName: "x|max"), transform: ReplaySpeed.parse)
    var speed: ReplaySpeed = .factor(600)

    @OptionGroup var options: RunOptions

    func run() throws {
        guard let url = Assets.demoLog else { throw CLIError("the bundled demo recording is missing from this build") }
        try Runner(options: options).replay(paths: [url.path], speed: speed, loop: !options.headless, label: "demo")
    }
}

/// `streamtop replay FILE...`.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded access logs by their own timestamps, scaled by --speed.",
        discussion: "Files are read one after the other; '-' reads standard input; gzipped files (access.log.2.gz) are read as they are; a quoted pattern ('logs/access.log*') takes the matching files oldest first. A Kafka topic (kafka://HOST:PORT/TOPIC) is read from its earliest offsets to the ends seen at start, every partition, nothing committed. With --speed max the input is read as fast as the pipeline takes it.")

    @Argument(help: ArgumentHelp("Access-log files in Apache/nginx combined or common format ('-' for stdin), or one Kafka topic as kafka://HOST:PORT[,HOST:PORT]/TOPIC.", valueName: "file"))
    var files: [String]

    @Option(parsing: .unconditional, help: ArgumentHelp("Replay speed: a factor of real time (0.1 to 1000, e.g. 10 = ten times faster), or max.", valueName: "x|max"), transform: ReplaySpeed.parse)
    var speed: ReplaySpeed = .factor(1)

    @Flag(help: "Start over at the end of the last file (dashboard only).")
    var loop = false

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("replay needs at least one file") }
    }

    func run() throws {
        try Runner(options: options).replay(paths: files, speed: speed, loop: loop && !options.headless, label: "replay")
    }
}

/// `streamtop watch FILE...`.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow access logs as they grow, like tail -F ('-' reads standard input).",
        discussion: "A Kafka topic, kafka://HOST:PORT[,HOST:PORT]/TOPIC[?group=NAME&from=beginning], is followed as a consumer: instances with the same group share its partitions and commit what they processed (see --kafka-option for client settings). Rotation by rename and by copy-truncate is followed, and a renamed file is still read for a few seconds for writers that have not reopened yet; files that do not exist yet are waited for; a quoted pattern ('/var/log/nginx/*.log') also picks up files that appear later. In headless mode the report is printed at the end of standard input or on SIGINT/SIGTERM.")

    @Argument(help: ArgumentHelp("Files to follow, '-' for standard input, or one Kafka topic (kafka://HOST:PORT/TOPIC?group=NAME).", valueName: "file"))
    var files: [String]

    @Flag(help: "Read what the files already hold before following them (default: start at their end); for a topic, start where a group has no committed offset at the earliest offset.")
    var fromStart = false

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("watch needs at least one file or '-'") }
        if files.contains("-") && files.count > 1 { throw ValidationError("'-' (standard input) cannot be mixed with files") }
    }

    func run() throws {
        try Runner(options: options).watch(paths: files, fromStart: fromStart)
    }
}

/// `streamtop generate`: seeded synthetic traffic.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write seeded, realistic combined-log traffic to stdout (for demos and benchmarks).")

    @Option(parsing: .unconditional, help: "Number of lines.") var lines: Int = 1_000_000
    @Option(help: "Seed: the same seed gives the same bytes.") var seed: UInt64 = 42
    @Option(help: ArgumentHelp("Length of the timeline, in seconds.", valueName: "seconds")) var duration: Int64 = 86_400
    @Option(help: ArgumentHelp("Event time of the first line, as UTC epoch seconds.", valueName: "epoch")) var start: Int64 = 1_732_492_800
    @Flag(help: "Plain traffic: no crawler burst, error storm or spike.") var noStory = false
    @Option(help: "Fraction of deliberately malformed lines.") var malformed: Double = 0.0005
    @Option(help: "Distinct client addresses to draw from.") var clients: Int = 5000
    @Option(help: ArgumentHelp("Line layout: combined, timed (combined + \"$http_x_forwarded_for\" $request_time) or json.", valueName: "style"))
    var style: String = "combined"

    func validate() throws {
        guard lines >= 0 else { throw ValidationError("--lines must not be negative") }
        guard duration > 0, duration <= 315_360_000 else { throw ValidationError("--duration must be from 1 second to 10 years (315360000), got \(duration)") }
        // Timestamps are written with four-digit years, as access logs do.
        guard start >= 0, start <= 253_402_300_799 - duration else { throw ValidationError("--start must be an epoch time from 0 such that the timeline ends before the year 10000, got \(start)") }
        guard lines <= 10_000_000_000 else { throw ValidationError("--lines must be at most 10000000000") }
        guard (0...1).contains(malformed) else { throw ValidationError("--malformed must be between 0 and 1") }
        guard clients >= 1 else { throw ValidationError("--clients must be at least 1") }
        guard TrafficGenerator.Style(rawValue: style) != nil else { throw ValidationError("--style must be combined, timed or json") }
    }

    func run() throws {
        var config = TrafficGenerator.Config()
        config.lines = lines
        config.seed = seed
        config.duration = duration
        config.start = start
        config.storyline = !noStory
        config.malformedFraction = malformed
        config.style = TrafficGenerator.Style(rawValue: style)!
        config.clients = clients
        signal(SIGPIPE, SIG_DFL)
        var generator = TrafficGenerator(config)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        while !generator.isFinished {
            buffer.removeAll(keepingCapacity: true)
            generator.generate(into: &buffer, maxLines: 4096)
            buffer.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let n = Foundation.write(1, b.baseAddress! + off, b.count - off)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        let reason = n == 0 ? "nothing written" : String(cString: strerror(errno))
                        warn("cannot write to standard output: \(reason)")
                        Foundation.exit(1)
                    }
                    off += n
                }
            }
        }
    }
}

/// A runtime error with a one-line message.
struct CLIError: SourceErrorLike {
    let description: String
    init(_ description: String) { self.description = description }
}

extension SourceError: SourceErrorLike {}
extension KafkaError: SourceErrorLike {}
