/// An open-addressing hash table from 64-bit hashes to 64-bit values (linear probing), for state keyed
/// by hashes that are already well mixed: no rehashing of the key (Swift's `Set` and `Dictionary` run
/// SipHash on every lookup) and one flat allocation. Used as a set (distinct counts) and a map (last
/// request per user). Not thread-safe.
public final class HashTable64 {
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<Int64>
    private var used: UnsafeMutablePointer<Bool>
    private var mask: Int
    /// Entries held.
    public private(set) var count = 0

    /// An empty table.
    public init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        used = .allocate(capacity: size)
        used.initialize(repeating: false, count: size)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        used.deallocate()
    }

    /// A copy of the table.
    public func copy() -> HashTable64 {
        let t = HashTable64(capacity: count)
        forEach { t.set($0, $1) }
        return t
    }

    @inline(__always) private func find(_ key: UInt64) -> (slot: Int, found: Bool) {
        var slot = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while used[slot] {
            if keys[slot] == key { return (slot, true) }
            slot = (slot + 1) & mask
        }
        return (slot, false)
    }

    /// The value for a key, or nil.
    public func get(_ key: UInt64) -> Int64? {
        let (slot, found) = find(key)
        return found ? values[slot] : nil
    }

    /// Sets a key's value. Returns true when the key is new.
    @discardableResult
    public func set(_ key: UInt64, _ value: Int64) -> Bool {
        let (slot, found) = find(key)
        values[slot] = value
        if found { return false }
        keys[slot] = key
        used[slot] = true
        count += 1
        if count * 2 > mask { resize(to: (mask + 1) * 2) }
        return true
    }

    /// Looks a key up once for a read and a write: `body` gets the value (nil when absent) and returns
    /// the value to store (nil: leave the table as it was).
    @inline(__always)
    public func update(_ key: UInt64, _ body: (Int64?) -> Int64?) {
        let (slot, found) = find(key)
        guard let value = body(found ? values[slot] : nil) else { return }
        values[slot] = value
        if found { return }
        keys[slot] = key
        used[slot] = true
        count += 1
        if count * 2 > mask { resize(to: (mask + 1) * 2) }
    }

    /// Makes room for `n` entries in all, so that adding them does not grow the table step by step.
    public func reserve(_ n: Int) {
        var size = mask + 1
        while n * 2 > size - 1 { size <<= 1 }
        if size > mask + 1 { resize(to: size) }
    }

    /// Calls `body` with every key and value.
    public func forEach(_ body: (UInt64, Int64) -> Void) {
        for i in 0...mask where used[i] { body(keys[i], values[i]) }
    }

    /// Keeps the entries whose value passes `keep` (and shrinks the table when it got much emptier).
    public func filter(keepingValues keep: (Int64) -> Bool) {
        var kept: [(UInt64, Int64)] = []
        kept.reserveCapacity(count)
        forEach { k, v in if keep(v) { kept.append((k, v)) } }
        var size = 16
        while size < kept.count * 2 + 2 { size <<= 1 }
        // Shrink only when most of the table went; otherwise keep its size for the users to come.
        resize(to: kept.count * 8 < mask ? size : mask + 1, entries: kept)
    }

    private func resize(to size: Int, entries: [(UInt64, Int64)]? = nil) {
        var all = entries ?? []
        if entries == nil {
            all.reserveCapacity(count)
            forEach { all.append(($0, $1)) }
        }
        keys.deallocate()
        values.deallocate()
        used.deallocate()
        mask = size - 1
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        used = .allocate(capacity: size)
        used.initialize(repeating: false, count: size)
        count = 0
        for (k, v) in all { set(k, v) }
    }
}
