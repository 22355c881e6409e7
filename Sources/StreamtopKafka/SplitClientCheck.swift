/// Notices a client whose lines arrive on two partitions of one instance: per-user state (sessions, visits
/// per user) is then split between partitions, and between instances of a group, because the producer did
/// not key messages by client.
///
/// The client is a line's first field (combined, common and most custom formats start with it); JSON lines
/// are skipped. Clients are remembered by a seeded hash (they come from strangers) in a fixed table of
/// 65,536 slots, a newer client replacing an older one in its slot: memory stays fixed, and a report is never
/// wrong (both partitions were seen for that very hash), only perhaps late.
struct SplitClientCheck {
    private var hashes = [UInt64](repeating: 0, count: 1 << 16)
    private var partitions = [Int32](repeating: -1, count: 1 << 16)
    /// The first client seen on two partitions: (client, first partition, second partition).
    private(set) var found: (client: String, first: Int32, second: Int32)?

    /// Checks one message's line.
    mutating func check(_ line: UnsafeRawPointer, count: Int, partition: Int32) {
        guard found == nil, count > 0 else { return }
        let bytes = line.assumingMemoryBound(to: UInt8.self)
        guard bytes[0] != UInt8(ascii: "{") else { return }
        var end = 0
        while end < count && end < 64 && bytes[end] != UInt8(ascii: " ") { end += 1 }
        guard end > 0, end < count else { return }
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(start: line, count: end))
        let h = UInt64(bitPattern: Int64(hasher.finalize())) | 1
        let slot = Int(h & 0xFFFF)
        if hashes[slot] == h {
            if partitions[slot] != partition {
                found = (String(decoding: UnsafeRawBufferPointer(start: line, count: end), as: UTF8.self), partitions[slot], partition)
            }
        } else {
            hashes[slot] = h
            partitions[slot] = partition
        }
    }
}
