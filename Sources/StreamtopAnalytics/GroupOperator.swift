import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Groups records by a field and keeps per group: count, bytes sum/min/max/average, and serving time
/// average/max where the format logs it. Each worker has its own groups (no shared lock); they are merged
/// when the result is written — at the end of the input, atomically (a temporary file renamed into place,
/// so a killed run never leaves half a JSON file).
public final class GroupOperator: StreamOperator {
    /// What to group by.
    public enum Key: String, CaseIterable, Sendable {
        case status, statusClass = "status_class", method, path, client
    }

    /// One group in the result.
    public struct Group: Codable, Equatable, Sendable {
        public var key: String
        public var count: Int
        public var bytes_sum: Int64
        public var bytes_min: Int64
        public var bytes_max: Int64
        public var bytes_avg: Double
        public var request_time_avg_us: Double?
        public var request_time_max_us: Int64?
    }

    final class Slot {
        struct Stats {
            var sum: Int64 = 0
            var min = Int64.max
            var max = Int64.min
            var timeSum: Int64 = 0
            var timeCount = 0
            var timeMax: Int64 = 0
        }
        let lock = Mutex(())
        let keys = ByteKeyCounter(initialCapacity: 256)
        var stats: [Stats] = []
    }

    /// The grouping field.
    public let key: Key
    private let slots: [Slot]

    /// Groups by `key`, with one state per worker slot.
    public init(by key: Key, slots: Int) {
        self.key = key
        self.slots = (0..<max(1, slots)).map { _ in Slot() }
    }

    public var maxParallelism: Int { slots.count }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let parsed = batch.payload as! ParsedBlock
        let base = parsed.lines.base
        let s = slots[slot]
        s.lock.withLock { _ in
            var scratch: (UInt8, UInt8, UInt8) = (0, 0, 0)
            withUnsafeMutableBytes(of: &scratch) { buf in
                let digits = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
                for r in parsed.records {
                    let index: Int
                    switch key {
                    case .status, .statusClass:
                        digits[0] = UInt8(48 + r.status / 100)
                        digits[1] = key == .status ? UInt8(48 + r.status / 10 % 10) : UInt8(ascii: "x")
                        digits[2] = key == .status ? UInt8(48 + r.status % 10) : UInt8(ascii: "x")
                        index = s.keys.slot(digits, 3)
                    case .method:
                        index = r.hasRequestLine ? s.keys.slot(base + Int(r.methodStart), Int(r.methodLength)) : s.keys.slot(FilterExpression.dash, 1)
                    case .path:
                        index = r.hasPath ? s.keys.slot(base + Int(r.pathStart), Int(r.pathLength)) : s.keys.slot(FilterExpression.dash, 1)
                    case .client:
                        index = s.keys.slot(base + Int(r.clientStart), Int(r.clientLength))
                    }
                    if index == s.stats.count { s.stats.append(Slot.Stats()) }
                    s.stats[index].sum += r.size
                    s.stats[index].min = Swift.min(s.stats[index].min, r.size)
                    s.stats[index].max = Swift.max(s.stats[index].max, r.size)
                    if r.requestMicros >= 0 {
                        s.stats[index].timeSum += r.requestMicros
                        s.stats[index].timeCount += 1
                        s.stats[index].timeMax = Swift.max(s.stats[index].timeMax, r.requestMicros)
                    }
                }
            }
        }
        return OperatorOutput(batch: batch)
    }

    /// The groups of every slot merged, largest count first (ties by key), at most `limit`.
    public func groups(limit: Int = Int.max) -> [Group] {
        var merged: [String: (count: Int, stats: Slot.Stats)] = [:]
        for s in slots {
            s.lock.withLock { _ in
                for i in 0..<s.keys.count {
                    let k = s.keys.key(at: i)
                    var m = merged[k] ?? (0, Slot.Stats())
                    let st = s.stats[i]
                    m.count += s.keys.count(at: i)
                    m.stats.sum += st.sum
                    m.stats.min = Swift.min(m.stats.min, st.min)
                    m.stats.max = Swift.max(m.stats.max, st.max)
                    m.stats.timeSum += st.timeSum
                    m.stats.timeCount += st.timeCount
                    m.stats.timeMax = Swift.max(m.stats.timeMax, st.timeMax)
                    merged[k] = m
                }
            }
        }
        return merged.map { k, v in
            Group(
                key: k, count: v.count, bytes_sum: v.stats.sum, bytes_min: v.stats.min, bytes_max: v.stats.max,
                bytes_avg: (Double(v.stats.sum) / Double(max(1, v.count)) * 10).rounded() / 10,
                request_time_avg_us: v.stats.timeCount > 0 ? (Double(v.stats.timeSum) / Double(v.stats.timeCount)).rounded() : nil,
                request_time_max_us: v.stats.timeCount > 0 ? v.stats.timeMax : nil)
        }
        .sorted { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
        .prefix(limit).map { $0 }
    }

    /// Writes the groups as one JSON document, atomically (temporary file, then rename).
    public func write(to path: String, limit: Int) throws {
        struct Document: Encodable {
            var group_by: String
            var groups: [Group]
        }
        let data = try HeadlessReport.encoder().encode(Document(group_by: key.rawValue, groups: groups(limit: limit)))
        let url = URL(fileURLWithPath: path)
        try data.write(to: url, options: .atomic)
    }
}
