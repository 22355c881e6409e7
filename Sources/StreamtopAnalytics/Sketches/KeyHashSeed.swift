import Foundation

/// The seed of every hash over untrusted bytes (paths, clients, user agents), drawn at random once per
/// process so that nobody can precompute keys that collide in streamtop's tables.
///
/// `STREAMTOP_HASH_SEED` (a decimal or 0x-prefixed number) fixes it, for runs that must give identical
/// estimates (HyperLogLog counts depend on the hash) across processes, such as comparing two runs byte
/// for byte. Read once, on first use; thread-safe.
public enum KeyHashSeed {
    /// The seed in force.
    public static let value: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["STREAMTOP_HASH_SEED"], let v = parse(text) { return v }
        return UInt64.random(in: 0...UInt64.max)
    }()

    static func parse(_ text: String) -> UInt64? {
        text.lowercased().hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }
}
