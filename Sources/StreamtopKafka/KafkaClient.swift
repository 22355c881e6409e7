import CKafka
import StreamtopLogs

/// One librdkafka handle (consumer or producer) made from an address and the user's client settings.
///
/// Settings pass through to librdkafka unchanged (`security.protocol`, `sasl.*`, `ssl.*`, …); only their
/// names are ever shown, never their values, because they hold passwords.
final class KafkaClient {
    let handle: OpaquePointer
    let address: KafkaAddress
    /// Kept alive for the delivery callback of a producer.
    let deliveries: UnsafeMutablePointer<ck_delivery_counts_t>

    /// Creates a consumer or producer. `settings` are the user's `name=value` pairs, applied last so they
    /// win over streamtop's defaults (`defaults`).
    init(_ address: KafkaAddress, consumer: Bool, defaults: [(String, String)], settings: [String]) throws {
        try KafkaLibrary.load()
        self.address = address
        deliveries = .allocate(capacity: 1)
        deliveries.initialize(to: ck_delivery_counts_t())
        guard let conf = ck_conf_new() else { throw KafkaError("librdkafka could not make a configuration") }
        var handed = false
        defer { if !handed { ck_conf_destroy(conf) } }
        ck_conf_quiet_log(conf)
        ck_conf_keep_errors(conf)
        if !consumer { ck_conf_count_deliveries(conf, deliveries) }
        var pairs: [(String, String)] = [("bootstrap.servers", address.brokers.joined(separator: ","))] + defaults
        for s in settings {
            let kv = s.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty else { throw KafkaError("--kafka-option wants NAME=VALUE, e.g. security.protocol=SASL_SSL; got a setting without '='") }
            if let why = KafkaClient.owned[String(kv[0])] { throw KafkaError("Kafka setting \(kv[0]) (--kafka-option or --kafka-config): \(why)") }
            pairs.append((String(kv[0]), String(kv[1])))
        }
        var err = [CChar](repeating: 0, count: 512)
        for (name, value) in pairs {
            guard ck_conf_set(conf, name, value, &err, err.count) == Int32(CK_CONF_OK) else {
                // librdkafka's message may quote the value: say only the name.
                throw KafkaError("Kafka client setting '\(name)' refused by librdkafka (\(KafkaClient.withoutValue(String(cString: err), value)))")
            }
        }
        guard let rk = ck_new(consumer ? Int32(CK_CONSUMER) : Int32(CK_PRODUCER), conf, &err, err.count) else {
            throw KafkaError("cannot start a Kafka client: \(KafkaClient.withoutValue(String(cString: err), nil))")
        }
        handed = true
        handle = rk
    }

    /// Settings streamtop's reading depends on, and where they come from instead.
    static let owned: [String: String] = [
        "bootstrap.servers": "the brokers come from the kafka:// address",
        "metadata.broker.list": "the brokers come from the kafka:// address",
        "group.id": "the group comes from the address (?group=NAME)",
        "auto.offset.reset": "where reading starts comes from the address (?from=beginning|latest)",
        "enable.auto.commit": "streamtop commits offsets itself, once their lines were counted",
        "enable.auto.offset.store": "streamtop commits offsets itself, once their lines were counted",
        "enable.partition.eof": "a replay needs it and a watch does not; streamtop sets it",
    ]

    deinit {
        ck_destroy(handle)
        deliveries.deallocate()
    }

    /// An error message with a secret value cut out.
    static func withoutValue(_ message: String, _ value: String?) -> String {
        guard let value, value.count >= 3 else { return message }
        return message.replacingOccurrences(of: value, with: "…")
    }

    /// The topic's partition ids, asked of the brokers (waits up to `timeoutMs`). Throws when no broker
    /// answers or the topic does not exist.
    func partitions(timeoutMs: Int32) throws -> [Int32] {
        guard let topic = ck_topic_new(handle, address.topic, nil) else {
            throw KafkaError("cannot open topic \(address.topic): \(KafkaLibrary.describe(Int32(ck_last_error_code())))")
        }
        defer { ck_topic_destroy(topic) }
        var meta: UnsafePointer<ck_metadata_t>?
        let rc = ck_metadata(handle, 0, topic, &meta, timeoutMs)
        guard rc == 0, let m = meta else {
            let brokers = address.brokers.joined(separator: ",")
            if let refused = KafkaClient.securityFailure { throw KafkaError("Kafka brokers \(brokers) answered, but the connection was refused: \(refused)") }
            throw KafkaError("Kafka brokers \(brokers) unreachable (\(KafkaClient.connectFailure ?? KafkaLibrary.describe(rc)))")
        }
        defer { ck_metadata_destroy(m) }
        guard m.pointee.topic_cnt == 1 else { throw KafkaError("topic \(address.topic): the brokers sent no metadata for it") }
        let t = m.pointee.topics[0]
        if t.err == Int32(CK_ERR_UNKNOWN_TOPIC_OR_PART) || t.err == Int32(CK_ERR__UNKNOWN_TOPIC) || t.partition_cnt == 0 {
            throw KafkaError("topic \(address.topic) does not exist on \(address.brokers.joined(separator: ",")) (create it first; streamtop does not create topics)")
        }
        guard t.err == 0 else { throw KafkaError("topic \(address.topic): \(KafkaLibrary.describe(t.err))") }
        return (0..<Int(t.partition_cnt)).map { t.partitions[$0].id }.sorted()
    }

    /// The latest log line when it says that authentication or TLS failed (wrong credentials, a mechanism
    /// the broker does not offer, a certificate refused): the brokers answer, so they are not unreachable.
    static var securityFailure: String? {
        let log = KafkaLibrary.lastLog
        let lower = log.lowercased()
        guard ["sasl", "authentication", "ssl handshake", "certificate"].contains(where: { lower.contains($0) }) else { return nil }
        // Drop the broker prefix (`sasl_plaintext://127.0.0.1:9092/bootstrap: `) and the state suffix.
        var text = Substring(log)
        if let r = text.range(of: "/bootstrap: ") ?? text.range(of: ": ") { text = text[r.upperBound...] }
        if let r = text.range(of: " (after") { text = text[..<r.lowerBound] }
        return Escaped.text(String(text))
    }

    /// Why the latest connection failed, from librdkafka's log (`Connection refused`), if it said.
    static var connectFailure: String? { shortReason(KafkaLibrary.lastLog) }

    /// The reason in one of librdkafka's connection messages (`…: Connect to ipv4#127.0.0.1:9 failed:
    /// Connection refused (after 0ms in state CONNECT)` → `Connection refused`), or nil.
    static func shortReason(_ message: String) -> String? {
        guard let r = message.range(of: "failed: ") else { return nil }
        let tail = message[r.upperBound...]
        return String(tail[..<(tail.range(of: " (after")?.lowerBound ?? tail.endIndex)])
    }

    /// librdkafka's latest log line, as a suffix for an error message.
    static var detail: String {
        let l = KafkaLibrary.lastLog
        return l.isEmpty ? "" : " (librdkafka: \(l))"
    }
}
