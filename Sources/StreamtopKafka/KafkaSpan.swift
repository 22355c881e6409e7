import CKafka
import Foundation
import StreamtopLogs

/// The first and last event times a topic holds, for a paced replay's position bar, its seek limit and its
/// end (what `RecordingSpan` reads from a file's head and tail).
///
/// A separate consumer reads the first messages of each partition, then each partition's last ones; it
/// costs a few round trips at start, and gives up (no span: no bar) after `timeoutSeconds`.
public enum KafkaSpan {
    /// Earliest and latest event times found with `timeOf` (bytes, start, end → seconds), or nil.
    public static func of(
        _ address: KafkaAddress, settings: [String], timeoutSeconds: Double = 5,
        timeOf: (UnsafePointer<UInt8>, Int, Int) -> Int64?
    ) -> ClosedRange<Int64>? {
        guard let client = try? KafkaClient(
            address, consumer: true,
            defaults: [
                ("group.id", "streamtop-span-\(UInt64.random(in: 1...UInt64.max))"), ("enable.auto.commit", "false"),
                ("enable.partition.eof", "true"), ("fetch.wait.max.ms", "50"),
            ],
            settings: settings), let ids = try? client.partitions(timeoutMs: Int32(timeoutSeconds * 1000))
        else { return nil }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var ends: [Int32: (low: Int64, high: Int64)] = [:]
        for p in ids {
            var low: Int64 = 0
            var high: Int64 = 0
            guard ck_query_watermark_offsets(client.handle, address.topic, p, &low, &high, Int32(timeoutSeconds * 1000)) == 0, high > low else { continue }
            ends[p] = (low, high)
        }
        guard !ends.isEmpty else { return nil }
        // Heads: each partition's first message with a time (a few unreadable lines are passed over).
        var first = Int64.max
        read(client, address, ends.mapValues { $0.low }, deadline: deadline, timeOf: timeOf) { _, t in
            first = min(first, t)
            return false
        }
        // Tails: from the last message to the end (a broker answering the end query with the start of the
        // last batch, as Tansu does, gets that batch read whole: the newest time is in it).
        var last = Int64.min
        read(client, address, ends.mapValues { max($0.low, $0.high - 1) }, deadline: deadline, timeOf: timeOf) { _, t in
            last = max(last, t)
            return true
        }
        _ = ck_consumer_close(client.handle)
        return first <= last ? first...last : nil
    }

    /// Reads the partitions from `offsets` until each reached its end, or gave a time that `body` answers
    /// false to; of a partition whose messages have no time, at most 1,000.
    private static func read(
        _ client: KafkaClient, _ address: KafkaAddress, _ offsets: [Int32: Int64], deadline: Date,
        timeOf: (UnsafePointer<UInt8>, Int, Int) -> Int64?, _ body: (Int32, Int64) -> Bool
    ) {
        let list = ck_topic_partition_list_new(Int32(offsets.count))!
        defer { ck_topic_partition_list_destroy(list) }
        for (p, o) in offsets { ck_topic_partition_list_add(list, address.topic, p)!.pointee.offset = o }
        guard ck_assign(client.handle, list) == 0 else { return }
        var left = Set(offsets.keys)
        var seen: [Int32: Int] = [:]
        while !left.isEmpty && Date() < deadline {
            guard let m = ck_consumer_poll(client.handle, 100) else { continue }
            defer { ck_message_destroy(m) }
            let p = m.pointee.partition
            guard left.contains(p) else { continue }
            if m.pointee.err != 0 {
                if m.pointee.err == Int32(CK_ERR__PARTITION_EOF) { left.remove(p) }
                continue
            }
            var t: Int64?
            if m.pointee.len > 0, let payload = m.pointee.payload {
                let bytes = payload.assumingMemoryBound(to: UInt8.self)
                var end = m.pointee.len
                if bytes[end - 1] == 0x0A { end -= 1 }
                t = timeOf(bytes, 0, end)
            }
            if let t {
                if !body(p, t) { left.remove(p) }
            } else {
                seen[p, default: 0] += 1
                if seen[p]! >= 1000 { left.remove(p) }
            }
        }
    }
}
