/// Remembers which user agents are bots', by the seeded 64-bit hash of the agent: agents repeat (a site
/// sees a few thousand distinct ones in millions of requests), and hashing one costs a fraction of
/// scanning it for every marker. Direct-mapped, 4,096 entries; a miss scans and replaces the entry.
///
/// Two distinct agents share an entry only if their 64-bit hashes are equal, which a stranger cannot
/// arrange: the hash is seeded per process (`KeyHashSeed`). Not thread-safe: one per worker.
final class BotVerdictCache {
    private static let size = 4096
    /// Per entry: the agent's hash with the low bit replaced by the verdict; 0 is empty. A fixed
    /// allocation, not an array: an array's reads and writes retained its buffer and checked its
    /// uniqueness for every record the map task marked.
    private let entries: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: size)
        p.initialize(repeating: 0, count: size)
        return p
    }()

    deinit { entries.deallocate() }

    /// Whether the agent at `p` (`n` bytes) is a bot's (see `BotDetector.isBot`).
    @inline(__always)
    func isBot(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let h = ByteKeyCounter.hash(p, n) | 1
        let i = Int(truncatingIfNeeded: h >> 52) & (Self.size - 1)
        let e = entries[i]
        if e | 1 == h { return e & 1 == 0 }  // verdict bit 0 means bot, so an entry is never 0
        let bot = BotDetector.isBot(p, n)
        entries[i] = bot ? h & ~1 : h
        return bot
    }
}
