/// A Kafka topic named as `kafka://host:port[,host:port…]/topic[?group=NAME&from=beginning|latest]`.
public struct KafkaAddress: Sendable, Equatable, CustomStringConvertible {
    /// Bootstrap brokers as `host:port` (9092 when no port is given).
    public var brokers: [String]
    /// The topic.
    public var topic: String
    /// The consumer group, for instances that share the topic's partitions and commit offsets.
    public var group: String?
    /// Where a reader without committed offsets starts: true for the earliest offset, false for the end.
    public var fromBeginning: Bool?

    /// Whether `text` is meant as a Kafka address (so that a file named like one is not opened instead).
    public static func isKafka(_ text: String) -> Bool { text.lowercased().hasPrefix("kafka://") }

    /// Creates an address from its parts.
    public init(brokers: [String], topic: String, group: String? = nil, fromBeginning: Bool? = nil) {
        self.brokers = brokers
        self.topic = topic
        self.group = group
        self.fromBeginning = fromBeginning
    }

    /// Parses an address; the error is one line naming what is wrong.
    public init(parsing text: String) throws {
        guard KafkaAddress.isKafka(text) else { throw KafkaError("'\(text)' is not a Kafka address: expected kafka://HOST:PORT/TOPIC") }
        let rest = text.dropFirst("kafka://".count)
        let pathAndQuery = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let hostAndTopic = pathAndQuery[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard hostAndTopic.count == 2, !hostAndTopic[1].isEmpty else {
            throw KafkaError("\(text): no topic; expected kafka://HOST:PORT/TOPIC")
        }
        var brokers: [String] = []
        for part in hostAndTopic[0].split(separator: ",", omittingEmptySubsequences: false) {
            brokers.append(try KafkaAddress.broker(String(part), in: text))
        }
        let topic = String(hostAndTopic[1])
        try KafkaAddress.checkTopic(topic, in: text)
        self.init(brokers: brokers, topic: topic)
        if pathAndQuery.count == 2 {
            for pair in pathAndQuery[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = kv.count == 2 ? String(kv[1]) : ""
                switch kv[0] {
                case "group":
                    guard !value.isEmpty, value.utf8.count <= 255, value.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }) else {
                        throw KafkaError("\(text): group wants a name of printable ASCII, up to 255 characters")
                    }
                    group = value
                case "from":
                    switch value {
                    case "beginning", "earliest": fromBeginning = true
                    case "latest", "end": fromBeginning = false
                    default: throw KafkaError("\(text): from wants beginning or latest; got '\(value)'")
                    }
                default:
                    throw KafkaError("\(text): unknown setting '\(kv[0])' (known: group, from; client settings go in --kafka-option)")
                }
            }
        }
    }

    private static func broker(_ text: String, in address: String) throws -> String {
        guard !text.isEmpty else { throw KafkaError("\(address): a broker is empty; expected HOST:PORT[,HOST:PORT…]") }
        var host = text
        var port = "9092"
        if text.hasPrefix("[") {
            // An IPv6 literal: [::1]:9092
            guard let close = text.firstIndex(of: "]") else { throw KafkaError("\(address): unclosed [ in broker '\(text)'") }
            host = String(text[...close])
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) } else if !after.isEmpty { throw KafkaError("\(address): bad broker '\(text)'") }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            port = String(text[text.index(after: colon)...])
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:[]".contains($0)) }) else {
            throw KafkaError("\(address): bad broker host '\(host)'")
        }
        guard let p = Int(port), (1...65535).contains(p) else { throw KafkaError("\(address): broker port must be 1-65535; got '\(port)'") }
        return "\(host):\(p)"
    }

    /// Kafka's own rule for topic names: 1–249 of `[a-zA-Z0-9._-]`.
    static func checkTopic(_ topic: String, in address: String) throws {
        guard (1...249).contains(topic.utf8.count), topic != ".", topic != "..",
              topic.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D })
        else {
            throw KafkaError("\(address): a topic name is 1-249 letters, digits, '.', '_' or '-'")
        }
    }

    /// The address as written back (without client settings, which may hold secrets).
    public var description: String {
        var s = "kafka://\(brokers.joined(separator: ","))/\(topic)"
        var query: [String] = []
        if let group { query.append("group=\(group)") }
        if let fromBeginning { query.append("from=\(fromBeginning ? "beginning" : "latest")") }
        if !query.isEmpty { s += "?" + query.joined(separator: "&") }
        return s
    }
}

/// A Kafka failure, as one line fit for stderr.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
