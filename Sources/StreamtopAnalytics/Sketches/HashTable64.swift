import CPrefetch
import StreamtopEngine
/// A table from 64-bit hashes to 64-bit values, for state keyed by hashes that are already well mixed (and
/// seeded): no rehashing of the key (Swift's `Set` and `Dictionary` run SipHash on every lookup), entries
/// kept densely (a scan or a filter walks only them), a `SlotIndex` to find them. Used as a set (distinct
/// counts) and a map (last request per user). Not thread-safe.
public final class HashTable64 {
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<Int64>
    private var capacity: Int
    private var slots: SlotIndex
    /// Entries held.
    public private(set) var count = 0

    /// An empty table with room for `capacity` entries.
    public init(capacity: Int = 16) {
        self.capacity = max(8, capacity)
        keys = .allocate(capacity: self.capacity)
        values = .allocate(capacity: self.capacity)
        slots = SlotIndex(capacity: self.capacity)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        slots.free()
    }

    /// A copy of the table.
    public func copy() -> HashTable64 {
        let t = HashTable64(capacity: count)
        forEach { t.set($0, $1) }
        return t
    }

    /// Where the table looks a key up first: mixed, as the caller's hash may have weak low bits.
    @inline(__always) private static func spread(_ key: UInt64) -> UInt64 { key ^ (key >> 29) }

    @inline(__always) private func find(_ key: UInt64) -> (slot: Int, entry: Int) {
        slots.find(Self.spread(key)) { keys[$0] == key }
    }

    /// Starts bringing the first slot a lookup of `key` reads into the cache (a prefetch: not waited for).
    @inline(__always)
    public func prefetchSlot(_ key: UInt64) {
        streamtop_prefetch(slots.slots + (Int(truncatingIfNeeded: Self.spread(key)) & slots.mask))
    }

    /// Once that slot is in: starts bringing the entry it points to (its key and value) into the cache.
    @inline(__always)
    public func prefetchEntry(_ key: UInt64) {
        let e = Int(slots.first(Self.spread(key)))
        if e >= 0 {
            streamtop_prefetch(keys + e)
            streamtop_prefetch(values + e)
        }
    }

    /// The value for a key, or nil.
    public func get(_ key: UInt64) -> Int64? {
        let e = find(key).entry
        return e >= 0 ? values[e] : nil
    }

    /// Sets a key's value. Returns true when the key is new.
    @discardableResult
    public func set(_ key: UInt64, _ value: Int64) -> Bool {
        let (slot, e) = find(key)
        if e >= 0 {
            values[e] = value
            return false
        }
        append(key, value, at: slot)
        return true
    }

    /// Looks a key up once for a read and a write: `body` gets the value (nil when absent) and returns
    /// the value to store (nil: leave the table as it was).
    @inline(__always)
    public func update(_ key: UInt64, _ body: (Int64?) -> Int64?) {
        let (slot, e) = find(key)
        guard let value = body(e >= 0 ? values[e] : nil) else { return }
        if e >= 0 { values[e] = value } else { append(key, value, at: slot) }
    }

    private func append(_ key: UInt64, _ value: Int64, at slot: Int) {
        if count == capacity { grow(to: capacity * 2) }
        keys[count] = key
        values[count] = value
        count += 1
        slots.insert(count - 1, at: slot, count: count) { Self.spread(keys[$0]) }
    }

    private func grow(to n: Int) {
        let k = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        let v = UnsafeMutablePointer<Int64>.allocate(capacity: n)
        k.update(from: keys, count: count)
        v.update(from: values, count: count)
        keys.deallocate()
        values.deallocate()
        keys = k
        values = v
        capacity = n
    }

    /// Makes room for `n` entries in all, so that adding them does not grow the table step by step.
    public func reserve(_ n: Int) {
        guard n > capacity else { return }
        grow(to: n)
        slots.rebuild(count: count, size: SlotIndex.size(for: n)) { Self.spread(keys[$0]) }
    }

    /// Writes every key and value, in order (for a checkpoint).
    public func saveState(_ w: inout StateWriter) {
        w.numbers(Array(UnsafeBufferPointer(start: keys, count: count)))
        w.numbers(Array(UnsafeBufferPointer(start: values, count: count)))
    }

    /// Replaces the contents with saved ones.
    public func restoreState(_ r: inout StateReader) throws {
        let k = try r.numbers(UInt64.self)
        let v = try r.numbers(Int64.self)
        try r.check(k.count == v.count, "a table's keys and values differ in number")
        count = 0
        reserve(k.count)
        k.withUnsafeBufferPointer { if !$0.isEmpty { keys.update(from: $0.baseAddress!, count: $0.count) } }
        v.withUnsafeBufferPointer { if !$0.isEmpty { values.update(from: $0.baseAddress!, count: $0.count) } }
        count = k.count
        slots.rebuild(count: count) { Self.spread(keys[$0]) }
    }

    /// Calls `body` with every key and value.
    public func forEach(_ body: (UInt64, Int64) -> Void) {
        for i in 0..<count { body(keys[i], values[i]) }
    }

    /// Keeps the entries whose value passes `keep` (in place; the index shrinks when most entries went).
    public func filter(keepingValues keep: (Int64) -> Bool) {
        var kept = 0
        for i in 0..<count where keep(values[i]) {
            keys[kept] = keys[i]
            values[kept] = values[i]
            kept += 1
        }
        count = kept
        // Shrink only when most of the table went; otherwise keep its size for the users to come.
        let size = kept * 8 < slots.mask ? SlotIndex.size(for: kept) : nil
        slots.rebuild(count: count, size: size) { Self.spread(keys[$0]) }
    }
}
