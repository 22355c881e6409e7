import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs

extension Runner {
    /// Replays a Kafka topic: every partition from its earliest offset to the end offsets seen at start,
    /// paced by event time like a file (or at max speed); no group, nothing committed.
    func replayKafka(_ inputs: [String], speed: ReplaySpeed, loop: Bool, middle: [TaskSpec]) throws {
        let address = try Self.onlyKafka(inputs)
        if loop { throw CLIError("--loop replays files; a topic is replayed once") }
        let kafka = try KafkaSource(address, mode: .replay, settings: try options.kafkaSettings(), maxLineBytes: options.maxLineBytes)
        let format = try options.formatChoice()
        var pacer: ReplayPacer?
        var lines: LineSource = kafka
        var span: ClosedRange<Int64>?
        if case .factor(let v) = speed {
            // Small blocks, merged across partitions by event time: the client delivers a partition's
            // fetch at a time, and the pacer would otherwise show one partition's hour after another's.
            kafka.maxMessagesPerBlock = 64
            // Pacing reads each line's time with the run's format: detect it on a real first block, read
            // by a client of its own. The replay's consumer must not start before a checkpoint gives its
            // offsets: what it had fetched before was delivered as well as what it fetched again.
            // (It fetches little ahead, and goes before the replay starts.)
            do {
                let sample = try KafkaSource(
                    address, mode: .replay, settings: ["queued.max.messages.kbytes=256"] + (try options.kafkaSettings()), maxLineBytes: options.maxLineBytes)
                sample.maxMessagesPerBlock = 64
                if let first = try sample.nextBlock() { format.detectIfNeeded(first) }
            }
            let merged = PartitionMerge(kafka) { format.format.eventTime($0, $1, $2) }
            let p = ReplayPacer(merged, speed: v, timeOf: { format.format.eventTime($0, $1, $2) })
            // The topic's first and last event times: the position bar, and where a seek must stop.
            span = KafkaSpan.of(address, settings: try options.kafkaSettings()) { format.format.eventTime($0, $1, $2) }
            p.recordingEnd = span?.upperBound
            pacer = p
            lines = p
        }
        let guardian = outputs ?? OutputGuard(inputs: [])
        let session = try checkpoints ?? CheckpointSession.open(options, outputs: guardian)
        try run(lines: lines, sourceNames: [address.topic], header: kafka.label, pacer: pacer, span: span, middle: middle, watching: false, outputs: guardian, format: format, checkpoints: session)
    }

    /// Follows a Kafka topic (sharing its partitions with the instances of the same group, if any).
    func watchKafka(_ inputs: [String], fromStart: Bool, middle: [TaskSpec]) throws {
        let address = try Self.onlyKafka(inputs)
        // Headless, an unreachable broker or a missing topic is an error at start; the dashboard opens and
        // says it waits, retrying.
        let kafka = try KafkaSource(
            address, mode: .follow, fromBeginning: fromStart, settings: try options.kafkaSettings(), maxLineBytes: options.maxLineBytes,
            waitForBrokers: !options.headless)
        let guardian = outputs ?? OutputGuard(inputs: [])
        let session = try checkpoints ?? CheckpointSession.open(options, outputs: guardian)
        try run(lines: kafka, sourceNames: [address.topic], header: kafka.label, pacer: nil, span: nil, middle: middle, watching: true, outputs: guardian, format: try options.formatChoice(), checkpoints: session)
    }

    static func onlyKafka(_ inputs: [String]) throws -> KafkaAddress {
        guard inputs.count == 1 else { throw CLIError("a Kafka topic is read alone: give one kafka:// address and no files") }
        return try KafkaAddress(parsing: inputs[0])
    }
}
