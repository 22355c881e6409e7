import Foundation
import Synchronization

/// The seed of every hash over untrusted bytes (paths, clients, user agents), drawn at random once per
/// process so that nobody can precompute keys that collide in streamtop's tables.
///
/// `STREAMTOP_HASH_SEED` (a decimal or 0x-prefixed number) fixes it, for runs that must give identical
/// estimates (HyperLogLog counts depend on the hash) across processes, such as comparing two runs byte
/// for byte. Read once, on first use; thread-safe.
public enum KeyHashSeed {
    private static let storage = Atomic<UInt64>({
        if let text = ProcessInfo.processInfo.environment["STREAMTOP_HASH_SEED"], let v = parse(text) { return v }
        return UInt64.random(in: 0...UInt64.max)
    }())

    /// The seed in force.
    public static var value: UInt64 {
        @inline(__always) get { storage.load(ordering: .relaxed) }
    }

    /// Takes the seed of a checkpointed run, whose tables hold hashes made with it. Call before any table
    /// is built (a resumed run does, before it builds its pipeline).
    public static func adopt(_ seed: UInt64) { storage.store(seed, ordering: .relaxed) }

    static func parse(_ text: String) -> UInt64? {
        text.lowercased().hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }
}
