import StreamtopLogs

/// Sends an analytics task's result rows to a topic: one message per row, its JSON as the value and
/// `task|window_start|group key` as the key, so that a compacted topic keeps one row per key and rows sent
/// again after a restart replace themselves. Called under the result sink's lock.
public final class KafkaResultWriter: @unchecked Sendable {
    private let producer: KafkaProducer
    public let address: KafkaAddress
    private var sent = 0

    /// Connects to the topic (which must exist); `settings` are librdkafka client settings.
    public init(_ address: KafkaAddress, settings: [String]) throws {
        self.address = address
        producer = try KafkaProducer(address, settings: settings)
    }

    /// Queues one row. Returns a message when the row could not be queued.
    public func send(key: String, value: String) -> String? {
        var key = key
        var value = value
        do {
            try value.withUTF8 { v in
                try key.withUTF8 { k in
                    try producer.send(v.baseAddress!, count: v.count, key: k.baseAddress!, keyCount: k.count)
                }
            }
        } catch {
            return "\(error)"
        }
        sent += 1
        if sent % 1000 == 0 { producer.poll() }
        return nil
    }

    /// Serves delivery reports; returns a message when deliveries failed since the start.
    public func poll() -> String? {
        producer.poll()
        return failureMessage
    }

    /// Waits up to `timeoutSeconds` for every row sent; returns a message when some were not delivered.
    public func flush(timeoutSeconds: Double = 30) -> String? {
        let left = producer.flush(timeoutSeconds: timeoutSeconds)
        if left > 0 { return "\(left) result rows not delivered to \(address.topic) within \(Int(timeoutSeconds)) s" }
        return failureMessage
    }

    private var failureMessage: String? {
        producer.failed == 0 ? nil : "\(producer.failed) result rows not delivered to \(address.topic): \(producer.lastFailure ?? "?")"
    }
}
