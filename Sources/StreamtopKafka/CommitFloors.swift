/// What a Kafka group's commit says besides the offset: per event-time task, the event time through which
/// that task's windows were written (see `SourcePartition.floors`). It travels as the commit's metadata
/// (Kafka Streams keeps its partition time there the same way), so the member that reads the partition
/// next — after a rebalance, or the same instance restarted — does not write a window again from only
/// the records after the committed offset.
///
/// Text, one task per line after a version line: `streamtop-floors 1`, then `TASK<tab>SECONDS`. Brokers
/// keep up to 4 KiB of metadata by default; tasks that do not fit are left out (their windows may then be
/// written again, from part of their records). Note: Tansu 0.6 keeps no metadata (committed metadata
/// reads back empty), so there this is lost and the member reading next has no floor.
public enum CommitFloors {
    static let header = "streamtop-floors 1"
    static let limit = 4000

    /// The metadata for `floors` (empty when there is none).
    public static func encode(_ floors: [String: Int64]) -> [UInt8] {
        guard !floors.isEmpty else { return [] }
        var text = header + "\n"
        for (task, t) in floors.sorted(by: { $0.key < $1.key }) where !task.contains("\t") && !task.contains("\n") {
            let line = "\(task)\t\(t)\n"
            if text.utf8.count + line.utf8.count > limit { break }
            text += line
        }
        return Array(text.utf8)
    }

    /// The floors in `metadata` (none when it is empty or not streamtop's).
    public static func decode(_ metadata: [UInt8]) -> [String: Int64] {
        let lines = String(decoding: metadata, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == Substring(header) else { return [:] }
        var floors: [String: Int64] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2, let t = Int64(parts[1]) else { continue }
            floors[String(parts[0])] = t
        }
        return floors
    }
}
