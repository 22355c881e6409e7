#if canImport(Glibc)
    import Glibc
#endif
import CPrefetch
import StreamtopEngine

/// Counts occurrences of byte-string keys without allocating per lookup: keys are hashed and compared
/// in place, and copied into an arena only the first time they are seen.
///
/// Keys are distinct as written (two keys that differ only in invalid UTF-8 are two keys), as the report
/// contract requires. Not thread-safe: one owner at a time.
public final class ByteKeyCounter {
    struct Entry {
        var hash: UInt64
        var offset: Int
        var length: Int
        var count: Int
        var validUTF8: Bool
    }

    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private var arenaCount = 0
    private var entries: UnsafeMutablePointer<Entry>
    private var entryCapacity: Int
    /// Number of distinct keys.
    public private(set) var count = 0
    private var slots: SlotIndex

    /// Creates an empty counter.
    public init(initialCapacity: Int = 1024) {
        slots = SlotIndex(capacity: initialCapacity)
        entryCapacity = max(initialCapacity, 8)
        entries = .allocate(capacity: entryCapacity)
        arenaCapacity = max(initialCapacity * 16, 256)
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.free()
        entries.deallocate()
        arena.deallocate()
    }

    /// Adds `n` to the count of the key `[p, p + length)`.
    @inlinable @inline(__always)
    public func add(_ p: UnsafePointer<UInt8>, _ length: Int, _ n: Int = 1) {
        addHashed(p, length, ByteKeyCounter.hash(p, length), n)
    }

    /// Adds `n` to the count of a key given as bytes (named differently from the pointer version so
    /// that an array argument never silently converts to a pointer).
    public func add(key: [UInt8], count n: Int = 1) {
        key.withUnsafeBufferPointer { b in
            let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
            add(p, b.count, n)
        }
    }

    /// Adds `n` to the key's count and returns the key's stable index (0, 1, 2… in order of first sight),
    /// so callers can keep more per-key values in arrays of their own.
    @discardableResult
    public func slot(_ p: UnsafePointer<UInt8>, _ length: Int, _ n: Int = 1) -> Int {
        addHashed(p, length, ByteKeyCounter.hash(p, length), n)
    }

    /// The key bytes at an index returned by `slot`, as printed (invalid UTF-8 as U+FFFD).
    public func key(at index: Int) -> String { printed(entries[index]) }

    /// The raw key bytes at an index returned by `slot`.
    public func keyBytes(at index: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: arena + entries[index].offset, count: entries[index].length))
    }

    /// The index of a key already counted, without counting it; nil for a new key.
    public func index(of p: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let h = ByteKeyCounter.hash(p, length)
        let e = slots.find(h) { isKey($0, p, length, h) }.entry
        return e < 0 ? nil : e
    }

    /// Whether entry `e` holds the key `[p, p + length)` with hash `h`.
    @inline(__always)
    private func isKey(_ e: Int, _ p: UnsafePointer<UInt8>, _ length: Int, _ h: UInt64) -> Bool {
        let entry = entries[e]
        return entry.hash == h && entry.length == length && ByteKeyCounter.equal(arena + entry.offset, p, length)
    }

    /// Whether `n` bytes at `a` and `b` are equal. Keys up to 16 bytes (addresses, methods, statuses, short
    /// paths) are compared with two overlapping loads instead of a call to memcmp, whose call cost was most
    /// of comparing them (3 % of the analytics benchmark, nearly all in the report's tables).
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        if n >= 8 {
            guard n <= 16 else { return memcmp(a, b, n) == 0 }
            return ra.loadUnaligned(as: UInt64.self) == rb.loadUnaligned(as: UInt64.self)
                && ra.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
                && ra.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == rb.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        for i in 0..<n where a[i] != b[i] { return false }
        return true
    }

    /// Where a key with hash `h` would be found, brought into the cache in three stages, each a prefetch
    /// (a load started, not waited for): its first slot, then (once that is in) the slot's entry, then
    /// the entry's key bytes, which counting compares. Run over a few dozen records a stage at a time,
    /// the misses of all their probes are in flight together instead of each probe waiting for its own:
    /// at a live rate, with the tables cold between blocks, those misses were most of the report's cost
    /// per line. (Plain loads did this before; the one-by-one chain of dependent loads still waited.)
    @inline(__always)
    func prefetchSlot(_ h: UInt64) { streamtop_prefetch(slots.slots + (Int(truncatingIfNeeded: h) & slots.mask)) }

    /// The second stage of `prefetchSlot`.
    @inline(__always)
    func prefetchEntry(_ h: UInt64) {
        let e = Int(slots.first(h))
        if e >= 0 { streamtop_prefetch(entries + e) }
    }

    /// The third stage of `prefetchSlot`.
    @inline(__always)
    func prefetchKey(_ h: UInt64) {
        let e = Int(slots.first(h))
        if e >= 0 { streamtop_prefetch(arena + entries[e].offset) }
    }

    /// Adds `n` to the count of the key at an index `addHashed` returned (valid until the next prune).
    @inline(__always)
    func add(at index: Int, _ n: Int = 1) { entries[index].count += n }

    /// The count at an index returned by `slot`.
    public func count(at index: Int) -> Int { entries[index].count }

    @usableFromInline @discardableResult
    func addHashed(_ p: UnsafePointer<UInt8>, _ length: Int, _ h: UInt64, _ n: Int) -> Int {
        let (slot, e) = slots.find(h) { isKey($0, p, length, h) }
        if e >= 0 {
            entries[e].count += n
            return e
        }
        insert(p, length, h, n, slot: slot)
        return count - 1
    }

    private func insert(_ p: UnsafePointer<UInt8>, _ length: Int, _ h: UInt64, _ n: Int, slot: Int) {
        if arenaCount + length > arenaCapacity {
            var cap = arenaCapacity * 2
            while cap < arenaCount + length { cap *= 2 }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
            bigger.update(from: arena, count: arenaCount)
            arena.deallocate()
            arena = bigger
            arenaCapacity = cap
        }
        if length > 0 { (arena + arenaCount).update(from: p, count: length) }
        if count == entryCapacity {
            let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: entryCapacity * 2)
            bigger.moveInitialize(from: entries, count: count)
            entries.deallocate()
            entries = bigger
            entryCapacity *= 2
        }
        let valid = ByteKeyCounter.isValidUTF8(p, length)
        (entries + count).initialize(to: Entry(hash: h, offset: arenaCount, length: length, count: n, validUTF8: valid))
        arenaCount += length
        count += 1
        slots.insert(count - 1, at: slot, count: count) { entries[$0].hash }
    }

    /// Drops the least counted keys to bound memory: every key counted no more than the median count,
    /// so at least half of them go. Returns that threshold — the largest count a dropped key had, which
    /// bounds how much any key's count may now fall short. Indices from `slot` are invalid afterwards.
    @discardableResult
    public func pruneLeastCounted() -> Int {
        guard count > 0 else { return 0 }
        var counts = (0..<count).map { entries[$0].count }
        counts.sort()
        let threshold = counts[counts.count / 2]
        // Entries and their bytes are in insertion order, so both compact in place, front to back.
        var kept = 0
        var bytes = 0
        for i in 0..<count where entries[i].count > threshold {
            var e = entries[i]
            if e.length > 0 && e.offset != bytes { memmove(arena + bytes, arena + e.offset, e.length) }
            e.offset = bytes
            bytes += e.length
            entries[kept] = e
            kept += 1
        }
        count = kept
        arenaCount = bytes
        slots.rebuild(count: count) { entries[$0].hash }
        return threshold
    }

    /// Writes every key, its count and hash, in order of first sight (for a checkpoint).
    public func saveState(_ w: inout StateWriter) {
        w.int(count)
        w.numbers((0..<count).map { entries[$0].hash })
        w.numbers((0..<count).map { Int64(entries[$0].length) })
        w.numbers((0..<count).map { Int64(entries[$0].count) })
        var bytes = 0
        for i in 0..<count { bytes += entries[i].length }
        w.int(bytes)
        for i in 0..<count where entries[i].length > 0 {
            w.appendRaw(UnsafeRawPointer(arena + entries[i].offset), count: entries[i].length)
        }
    }

    /// Replaces the contents with saved ones (hashes were taken under the checkpoint's seed, which the
    /// restored run adopts).
    public func restoreState(_ r: inout StateReader) throws {
        let n = try r.count()
        let hashes = try r.numbers(UInt64.self)
        let lengths = try r.numbers(Int64.self)
        let counts = try r.numbers(Int64.self)
        try r.check(hashes.count == n && lengths.count == n && counts.count == n, "key table lengths differ")
        let total = try r.count()
        try r.check(lengths.reduce(0, { $0 + Int($1) }) == total && lengths.allSatisfy { $0 >= 0 }, "key bytes do not add up")
        let bytes = try r.rawBytes(total)
        slots.free()
        entries.deallocate()
        arena.deallocate()
        entryCapacity = max(n, 8)
        entries = .allocate(capacity: entryCapacity)
        arenaCapacity = max(total, 256)
        arena = .allocate(capacity: arenaCapacity)
        bytes.withUnsafeBufferPointer { if total > 0 { arena.update(from: $0.baseAddress!, count: total) } }
        var offset = 0
        for i in 0..<n {
            let length = Int(lengths[i])
            let valid = ByteKeyCounter.isValidUTF8(arena + offset, length)
            (entries + i).initialize(to: Entry(hash: hashes[i], offset: offset, length: length, count: Int(counts[i]), validUTF8: valid))
            offset += length
        }
        arenaCount = total
        count = n
        slots = SlotIndex(capacity: max(n, 16))
        slots.rebuild(count: n) { entries[$0].hash }
    }

    /// Adds every key and count of `other` into this counter.
    public func merge(_ other: ByteKeyCounter) { merge(other) { _, _ in } }

    /// Adds every key and count of `other`, calling `body(theirs, mine)` with each key's index in `other`
    /// and in this counter, for callers that keep more per-key values in arrays beside the counter.
    public func merge(_ other: ByteKeyCounter, _ body: (Int, Int) -> Void) {
        for i in 0..<other.count {
            let e = other.entries[i]
            body(i, addHashed(other.arena + e.offset, e.length, e.hash, e.count))
        }
    }

    /// Calls `body` with each key's bytes and count.
    public func forEach(_ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) {
        for i in 0..<count {
            let e = entries[i]
            body(UnsafeBufferPointer(start: arena + e.offset, count: e.length), e.count)
        }
    }

    /// A HyperLogLog sketch of the keys, from the hashes the table already holds (no key is hashed
    /// again): what another instance unions with its own when both hash with the same seed.
    public func sketch() -> HyperLogLog {
        var s = HyperLogLog()
        for i in 0..<count { s.add(entries[i].hash) }
        return s
    }

    /// The `k` most frequent keys, by count descending, ties by the printed key's UTF-8 bytes, then by
    /// the raw bytes. Invalid UTF-8 is printed as U+FFFD.
    public func top(_ k: Int) -> [KeyCount] {
        guard k > 0 else { return [] }
        // A heap of the best k so far with the worst at its root: each key costs one count comparison
        // when it cannot enter (most keys), log k when it can. Inserting into a sorted array instead cost
        // O(k) per entering key, which with k = 500 and many tied counts was a summary's largest part.
        var heap: [Int] = []
        heap.reserveCapacity(min(k, count))
        for i in 0..<count {
            if heap.count < k {
                heap.append(i)
                var c = heap.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    guard ranksBefore(heap[p], heap[c]) else { break }
                    heap.swapAt(p, c)
                    c = p
                }
            } else if entries[i].count >= entries[heap[0]].count && ranksBefore(i, heap[0]) {
                heap[0] = i
                var p = 0
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var worst = p
                    if l < heap.count && ranksBefore(heap[worst], heap[l]) { worst = l }
                    if r < heap.count && ranksBefore(heap[worst], heap[r]) { worst = r }
                    if worst == p { break }
                    heap.swapAt(p, worst)
                    p = worst
                }
            }
        }
        heap.sort { ranksBefore($0, $1) }
        return heap.map { KeyCount(key: printed(entries[$0]), count: entries[$0].count) }
    }

    /// Total of all counts.
    public var total: Int {
        var t = 0
        for i in 0..<count { t += entries[i].count }
        return t
    }

    private func ranksBefore(_ a: Int, _ b: Int) -> Bool {
        let ea = entries[a]
        let eb = entries[b]
        if ea.count != eb.count { return ea.count > eb.count }
        if ea.validUTF8 && eb.validUTF8 { return rawLess(ea, eb) }
        let pa = Array(printed(ea).utf8)
        let pb = Array(printed(eb).utf8)
        if pa != pb { return pa.lexicographicallyPrecedes(pb) }
        return rawLess(ea, eb)
    }

    private func rawLess(_ a: Entry, _ b: Entry) -> Bool {
        let n = min(a.length, b.length)
        let c = n == 0 ? 0 : memcmp(arena + a.offset, arena + b.offset, n)
        return c != 0 ? c < 0 : a.length < b.length
    }

    private func printed(_ e: Entry) -> String {
        String(decoding: UnsafeBufferPointer(start: arena + e.offset, count: e.length), as: UTF8.self)
    }

    /// A fast 64-bit hash of a byte range (multiply-xorshift mixing), seeded with the process's random
    /// `KeyHashSeed`: keys come from strangers, and the tables probe linearly, so a log crafted to collide
    /// under a known hash must not make counting quadratic.
    @inlinable @inline(__always)
    public static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        hash(p, n, seed: KeyHashSeed.value)
    }

    /// The hash with an explicit seed (tests, and restoring state hashed under a saved seed).
    ///
    /// 16 bytes a round in two independent lanes, and the last 1–15 bytes in at most two loads (the last
    /// 8 read overlapping what came before; shorter keys in two overlapping 4-byte loads or three bytes).
    /// One lane of 8 bytes a round and a byte-at-a-time tail took 30 ns for a 117-byte user agent, a
    /// chain of dependent multiplies; this takes 20 ns (a 14-byte address 9.4 → 8.4 ns), and a record's
    /// agent is hashed by the bot check, the visits and the report. A change here changes every saved
    /// hash: `CheckpointStore.version` and `ClusterShare.fingerprint` name the hash they were made with.
    @inlinable @inline(__always)
    public static func hash(_ p: UnsafePointer<UInt8>, _ n: Int, seed: UInt64) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ seed
        var b: UInt64 = 0xD6E8_FEB8_6659_FD93 ^ seed
        var i = 0
        while i + 16 <= n {
            a = (a ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            b = (b ^ raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
            a ^= a >> 32
            b ^= b >> 32
            i += 16
        }
        if i + 8 <= n {
            a = (a ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            a ^= a >> 32
            i += 8
        }
        var tail: UInt64 = 0
        if i < n {
            if n >= 8 {
                tail = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else if n >= 4 {
                tail = UInt64(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) << 32
                    | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            } else {
                tail = UInt64(p[0]) << 16 | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1])
            }
        }
        // Two folded multiplies (the 128-bit product's halves XORed) finish it. Each carries every input
        // bit into every output bit, down as well as up: with a plain multiply the last bytes, which sit in
        // the tail's high bits, never reached the low bits a table probes first (`10.0.0.100`…`10.0.0.199`
        // all started at one slot). The length joins the second lane here, not the first lane with the
        // tail, where other last bytes could cancel it (`ab` and `abc` collided whatever the seed).
        let m = (a ^ tail).multipliedFullWidth(by: b ^ UInt64(truncatingIfNeeded: n))
        let f = (m.high ^ m.low).multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        let h = f.high ^ f.low
        return h
    }

    static func isValidUTF8(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var ascii = true
        for i in 0..<n where p[i] >= 0x80 {
            ascii = false
            break
        }
        if ascii { return true }
        let buffer = UnsafeBufferPointer(start: p, count: n)
        return String(validating: buffer, as: UTF8.self) != nil
    }
}

/// A key and how often it was seen.
public struct KeyCount: Sendable, Codable, Equatable {
    /// The key as printed (invalid UTF-8 replaced by U+FFFD).
    public var key: String
    /// Its count.
    public var count: Int
    /// Creates a pair.
    public init(key: String, count: Int) {
        self.key = key
        self.count = count
    }
}
