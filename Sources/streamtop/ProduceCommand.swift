import ArgumentParser
import Foundation
import StreamtopAnalytics
import StreamtopKafka
import StreamtopLogs

/// `streamtop produce FILE... --to kafka://HOST:PORT/TOPIC`: loads access logs into a topic, one line
/// per message, for demos, tests and load generation.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Write access logs to a Kafka topic, one line per message (as fast as possible, or at the log's own pace).",
        discussion: "Keying by client (the default) sends each client's lines to one partition, so that per-user state (sessions, visits per user) sees all of a user's records in one instance of a group. Needs librdkafka (see STREAMTOP_LIBRDKAFKA).")

    @Argument(help: ArgumentHelp("Access-log files ('-' for stdin; gzipped files are read as they are).", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("The topic to write to, as kafka://HOST:PORT[,HOST:PORT]/TOPIC (it must exist).", valueName: "kafka-address"))
    var to: String

    @Option(help: ArgumentHelp("Message key: client (the line's client address, parsed with --format) or none (spread over partitions).", valueName: "client|none"))
    var key: KeyChoice = .client

    @Option(parsing: .unconditional, help: ArgumentHelp("Pace: max (as fast as the broker takes them), or a factor of the log's own rate by its timestamps.", valueName: "x|max"), transform: ReplaySpeed.parse)
    var speed: ReplaySpeed = .max

    @Option(help: ArgumentHelp("Log format for --key client: auto (detected from the first lines) or a preset (combined, common, vcombined, vcommon, nginx-timed, json).", valueName: "name"))
    var format: String = "auto"

    @Option(help: ArgumentHelp("A librdkafka client setting, e.g. security.protocol=SASL_SSL (repeatable; values are never shown).", valueName: "name=value"))
    var kafkaOption: [String] = []

    @Option(help: ArgumentHelp("A file of librdkafka client settings, one name=value per line (# comments), for credentials; --kafka-option settings win.", valueName: "file"))
    var kafkaConfig: String?

    @Option(help: ArgumentHelp("Longest line sent whole: longer ones are cut to this length plus one byte (a reader counts them as too long).", valueName: "bytes"))
    var maxLineBytes: Int = LineChunker.defaultMaxLineBytes

    enum KeyChoice: String, ExpressibleByArgument { case client, none }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("produce needs at least one file ('-' for standard input)") }
        if files.contains(where: KafkaAddress.isKafka) { throw ValidationError("produce reads files; the topic goes in --to") }
    }

    func run() throws {
        let address = try KafkaAddress(parsing: to)
        let choice: FormatChoice
        if format == "auto" {
            choice = FormatChoice.auto()
        } else {
            guard let preset = LogFormat.preset(format) else { throw CLIError("unknown --format '\(format)' (auto, combined, common, vcombined, vcommon, nginx-timed, json)") }
            choice = FormatChoice(preset)
        }
        // The format decides keys and pacing: detect it on a real sample of the first file.
        if files[0] != "-", let sample = try FileSource(paths: [files[0]], maxLineBytes: maxLineBytes).nextBlock() {
            choice.detectIfNeeded(sample)
        }
        let files = try FileSource(paths: files, maxLineBytes: maxLineBytes)
        var lines: LineSource = files
        if case .factor(let v) = speed {
            lines = ReplayPacer(files, speed: v, timeOf: { choice.format.eventTime($0, $1, $2) })
        }
        if let path = kafkaConfig, let exposed = KafkaSettingsFile.exposure(path) { warn(exposed) }
        let producer = try KafkaProducer(address, settings: try (kafkaConfig.map(KafkaSettingsFile.read) ?? []) + kafkaOption)
        let stop = SignalTrap([SIGINT, SIGTERM]) { lines.stop() }
        defer { stop.cancel() }
        let started = Date()
        var sent = 0
        var unkeyed = 0
        while let block = try lines.nextBlock() {
            choice.detectIfNeeded(block)
            let base = UnsafePointer<UInt8>(block.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            var failure: Error?
            var times = LogTime.CLFCache()
            block.forEachLine { start, length, _ in
                guard failure == nil else { return }
                var keyStart = -1
                var keyLength = 0
                if key == .client, case .record(let r) = choice.format.parse(base, start: start, count: length, times: &times), r.clientLength > 0 {
                    keyStart = Int(r.clientStart)
                    keyLength = Int(r.clientLength)
                } else if key == .client {
                    unkeyed += 1
                }
                do {
                    try producer.send(base + start, count: length, key: keyStart >= 0 ? UnsafeRawPointer(base + keyStart) : nil, keyCount: keyLength)
                } catch {
                    failure = error
                }
                sent += 1
            }
            if let failure { throw failure }
            producer.poll()
        }
        let left = producer.flush(timeoutSeconds: 30)
        let seconds = Date().timeIntervalSince(started)
        let rate = seconds > 0 ? Double(sent) / seconds : 0
        warn("produced \(sent.formatted()) lines to \(address.topic) (\(producer.partitions.count) partitions) in \(String(format: "%.2f", seconds)) s, \(Int(rate).formatted()) lines/s\(key == .client && unkeyed > 0 ? "; \(unkeyed.formatted()) without a client sent unkeyed" : "")")
        if left > 0 || producer.failed > 0 {
            throw CLIError("\(producer.failed + UInt64(left)) of \(sent) messages not delivered to \(address.topic)\(producer.lastFailure.map { ": \($0)" } ?? " (timed out)")")
        }
    }
}
