import CKafka
import StreamtopLogs

/// Writes messages to one topic: log lines for `streamtop produce`, result rows for a Kafka results sink.
///
/// Used by one thread. librdkafka batches and sends in its own threads; `send` only queues (waiting
/// while librdkafka's queue is full) and `flush` waits for every queued message to be delivered or to fail.
public final class KafkaProducer: @unchecked Sendable {
    private let client: KafkaClient
    private let topic: OpaquePointer
    /// The topic's partition ids.
    public let partitions: [Int32]

    /// Connects (waiting up to `timeoutSeconds` for the topic's metadata: an unreachable broker or a
    /// missing topic fails here). `settings` are librdkafka client settings passed through.
    public init(_ address: KafkaAddress, settings: [String] = [], timeoutSeconds: Double = 10) throws {
        if address.group != nil { throw KafkaError("\(address): a group is for readers; drop group= from the address written to") }
        client = try KafkaClient(
            address, consumer: false,
            defaults: [
                // Throughput: batch up to 5 ms of lines, compressed by the broker's default; the
                // idempotent producer keeps order and writes each message once despite retries.
                ("linger.ms", "5"), ("batch.num.messages", "10000"), ("queue.buffering.max.kbytes", "262144"),
                ("enable.idempotence", "true"),
                // A producer's metadata request would otherwise create a missing topic on brokers that
                // allow it (with the broker's default partitions): a typo must fail, not make a topic.
                ("allow.auto.create.topics", "false"),
            ],
            settings: settings)
        partitions = try client.partitions(timeoutMs: Int32(timeoutSeconds * 1000))
        guard let t = ck_topic_new(client.handle, address.topic, nil) else {
            throw KafkaError("cannot open topic \(address.topic): \(KafkaLibrary.describe(ck_last_error_code()))")
        }
        topic = t
    }

    deinit {
        ck_topic_destroy(topic)
    }

    /// Messages delivered and failed so far (as reported by `send`'s and `flush`'s polls).
    public var delivered: UInt64 { client.deliveries.pointee.delivered }
    public var failed: UInt64 { client.deliveries.pointee.failed }
    /// The last delivery error, in words.
    public var lastFailure: String? {
        let e = client.deliveries.pointee.last_error
        return e == 0 ? nil : KafkaLibrary.describe(e)
    }

    /// Queues one message (bytes copied), keyed by `key` if given (the default partitioner then sends
    /// equal keys to one partition). Waits while the local queue is full; throws on other errors.
    public func send(_ payload: UnsafeRawPointer, count: Int, key: UnsafeRawPointer? = nil, keyCount: Int = 0) throws {
        while true {
            let rc = ck_produce(topic, Int32(CK_PARTITION_UA), payload, count, key, key == nil ? 0 : keyCount)
            if rc == 0 { return }
            guard rc == Int32(CK_ERR__QUEUE_FULL) else {
                throw KafkaError("cannot send to \(client.address.topic): \(KafkaLibrary.describe(rc))")
            }
            _ = ck_poll(client.handle, 10)
        }
    }

    /// Serves delivery reports without waiting (call now and then while sending).
    public func poll() { _ = ck_poll(client.handle, 0) }

    /// Waits up to `timeoutSeconds` for every queued message; returns how many are still undelivered.
    @discardableResult
    public func flush(timeoutSeconds: Double) -> Int {
        _ = ck_flush(client.handle, Int32(timeoutSeconds * 1000))
        return Int(ck_outq_len(client.handle))
    }
}
