/// The one open-addressing hash table of the analytics state: slots holding the index of an entry (-1 for
/// an empty slot), probed linearly from the hash's low bits, grown at half full, with backward-shift
/// deletion (no tombstones). The tables built on it — byte keys (`ByteKeyCounter`), Space-Saving
/// summaries, 64-bit hashes (`HashTable64`) — keep their entries densely in arrays of their own, compare
/// keys themselves, and hand this index the hashes; so probing, growth and deletion are written once.
///
/// Keys come from strangers and the hashes are seeded per process (`KeyHashSeed`), so a crafted input
/// cannot make the probe runs long. Not thread-safe; the owner deallocates it (`free`).
struct SlotIndex {
    private(set) var slots: UnsafeMutablePointer<Int32>
    private(set) var mask: Int

    /// An index with room for `capacity` entries before it grows.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: -1, count: size)
    }

    /// Releases the slots.
    func free() { slots.deallocate() }

    /// Looks for the entry whose key `matches` says is the one sought, among those with hash `h`:
    /// returns it (or -1) and the slot where it is (or where a new entry with that hash goes).
    @inline(__always)
    func find(_ h: UInt64, _ matches: (Int) -> Bool) -> (slot: Int, entry: Int) {
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[slot])
            if e < 0 || matches(e) { return (slot, e) }
            slot = (slot + 1) & mask
        }
    }

    /// The entry in the first slot a probe for `h` looks at (-1: empty), read only to bring it into the
    /// cache before the probe (see `ByteKeyCounter.warm`).
    @inline(__always)
    func first(_ h: UInt64) -> Int32 { slots[Int(truncatingIfNeeded: h) & mask] }

    /// Puts entry `entry` in the free `slot` that `find` returned; then, when `count` entries make the
    /// table half full, grows it (`hashOf` gives each entry's hash).
    @inline(__always)
    mutating func insert(_ entry: Int, at slot: Int, count: Int, hashOf: (Int) -> UInt64) {
        slots[slot] = Int32(entry)
        if count * 2 > mask { rebuild(count: count, size: (mask + 1) * 2, hashOf: hashOf) }
    }

    /// Re-places entries `0..<count` in a table of `size` slots (nil: the current size), after growth or
    /// after the owner compacted its entries.
    mutating func rebuild(count: Int, size: Int? = nil, hashOf: (Int) -> UInt64) {
        if let size, size != mask + 1 {
            slots.deallocate()
            slots = .allocate(capacity: size)
            mask = size - 1
        }
        slots.update(repeating: -1, count: mask + 1)
        for i in 0..<count {
            var slot = Int(truncatingIfNeeded: hashOf(i)) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(i)
        }
    }

    /// The smallest size that holds `count` entries at most half full (at least 16 slots).
    static func size(for count: Int) -> Int {
        var size = 16
        while size < count * 2 + 2 { size <<= 1 }
        return size
    }

    /// Takes entry `entry` (hash `h`) out, shifting later entries of its probe run back into the hole.
    mutating func remove(_ entry: Int, hash h: UInt64, hashOf: (Int) -> UInt64) {
        var hole = Int(truncatingIfNeeded: h) & mask
        while Int(slots[hole]) != entry { hole = (hole + 1) & mask }
        var j = (hole + 1) & mask
        while slots[j] >= 0 {
            let ideal = Int(truncatingIfNeeded: hashOf(Int(slots[j]))) & mask
            // Move j into the hole unless its ideal slot lies cyclically in (hole, j].
            let between = hole <= j ? (ideal > hole && ideal <= j) : (ideal > hole || ideal <= j)
            if !between {
                slots[hole] = slots[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        slots[hole] = -1
    }
}
