#if canImport(Glibc)
    import Glibc
#endif
import StreamtopEngine

/// Top-K of byte keys in bounded memory (Metwally et al.'s Space-Saving): at most `capacity` keys are
/// tracked; a new key replaces the least counted one and inherits its count as an error bound. Exact
/// while the number of distinct keys fits the capacity, and it says when it no longer is. Every key seen
/// more than N/capacity times is guaranteed to be tracked. Not thread-safe.
///
/// Keys are found through a `SlotIndex` (backward-shift deletion on eviction) and ordered by a min-heap
/// of counts, so a count costs one probe and a short sift; a replaced key reuses its entry's byte buffer.
public final class SpaceSaving {
    struct Entry {
        var hash: UInt64
        var count: Int
        var error: Int
        var key: [UInt8]
    }

    /// Most keys tracked at once.
    public let capacity: Int
    private var entries: [Entry] = []
    /// Min-heap of entry indices by count, and each entry's position in it.
    private var heap: [Int32] = []
    private var position: [Int32] = []
    private var slots = SlotIndex(capacity: 32)
    /// Whether a key was ever evicted (then counts are upper bounds).
    public private(set) var evicted = false
    /// Records counted.
    public private(set) var total = 0

    /// Creates a summary that tracks at most `capacity` keys (memory grows with the keys actually seen).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    deinit { slots.free() }

    /// Counts one occurrence of the key `[p, p + n)`.
    public func add(_ p: UnsafePointer<UInt8>, _ n: Int) {
        add(p, n, hash: ByteKeyCounter.hash(p, n))
    }

    /// Counts one occurrence of a key whose `ByteKeyCounter.hash` the caller already has (one key counted
    /// in several windows is hashed once).
    public func add(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64) {
        total += 1
        let (slot, e) = slots.find(h) { e in
            entries[e].hash == h && entries[e].key.count == n
                && (n == 0 || entries[e].key.withUnsafeBufferPointer { ByteKeyCounter.equal($0.baseAddress!, p, n) })
        }
        if e >= 0 {
            entries[e].count += 1
            siftDown(Int(position[e]))
            return
        }
        if entries.count < capacity {
            let i = entries.count
            entries.append(Entry(hash: h, count: 1, error: 0, key: Array(UnsafeBufferPointer(start: p, count: n))))
            position.append(Int32(heap.count))
            heap.append(Int32(i))
            siftUp(heap.count - 1)
            slots.insert(i, at: slot, count: entries.count) { entries[$0].hash }
            return
        }
        // Replace the least counted key; its count becomes the newcomer's error bound.
        evicted = true
        let i = Int(heap[0])
        slots.remove(i, hash: entries[i].hash) { entries[$0].hash }
        let old = entries[i].count
        entries[i].hash = h
        entries[i].count = old + 1
        entries[i].error = old
        entries[i].key.removeAll(keepingCapacity: true)
        entries[i].key.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        // Removing the old key may have moved the run: look for the newcomer's free slot again.
        slots.insert(i, at: slots.find(h) { _ in false }.slot, count: entries.count) { entries[$0].hash }
        siftDown(0)
    }

    /// Adds another summary's counts, as when a sliding window is merged from its panes (Agarwal et al.'s
    /// mergeable summaries): exact when neither summary evicted and the union fits the capacity; otherwise
    /// every count stays an upper bound, its error growing by what an absent key could have had.
    public func merge(_ other: SpaceSaving) {
        guard other.total > 0 else { return }
        let selfFloor = evicted ? entries[Int(heap[0])].count : 0
        let otherFloor = other.evicted ? other.entries[Int(other.heap[0])].count : 0
        // This summary's entries (their indices in `kept` are those of `entries`, found through the
        // table), then the other's keys it lacks.
        var kept = entries.map { Entry(hash: $0.hash, count: $0.count + otherFloor, error: $0.error + otherFloor, key: $0.key) }
        kept.reserveCapacity(entries.count + other.entries.count)
        for e in other.entries {
            if let i = index(of: e.key, hash: e.hash) {
                kept[i].count += e.count - otherFloor
                kept[i].error += e.error - otherFloor
            } else {
                kept.append(Entry(hash: e.hash, count: e.count + selfFloor, error: e.error + selfFloor, key: e.key))
            }
        }
        if kept.count > capacity {
            kept.sort { $0.count != $1.count ? $0.count > $1.count : $0.key.lexicographicallyPrecedes($1.key) }
            kept.removeLast(kept.count - capacity)
            evicted = true
        }
        evicted = evicted || other.evicted
        total += other.total
        entries = kept
        heap = (0..<entries.count).map { Int32($0) }
        position = heap
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        slots.rebuild(count: entries.count, size: SlotIndex.size(for: entries.count)) { entries[$0].hash }
    }

    /// The `k` most counted keys, with whether the counts are estimates (upper bounds).
    public func top(_ k: Int) -> (items: [KeyCount], estimated: Bool) {
        (topWithErrors(k).map { KeyCount(key: $0.key, count: $0.count) }, evicted)
    }

    /// The `k` most counted keys with each count's error bound (the true count is in count−error…count).
    /// Ties are broken by the key as a string. Only the entries counted at least as often as the k-th are
    /// ordered, and only the k taken become strings: a window's row turned every tracked key into a
    /// string and sorted them all, most of a sliding top-K's cost per window.
    public func topWithErrors(_ k: Int) -> [(key: String, count: Int, error: Int)] {
        guard k > 0, !entries.isEmpty else { return [] }
        var candidates = Array(entries.indices)
        if entries.count > k {
            let least = entries.map(\.count).sorted(by: >)[k - 1]
            candidates.removeAll { entries[$0].count < least }
        }
        let ascii = candidates.map { i in entries[i].key.allSatisfy { $0 < 0x80 } }
        var order = Array(candidates.indices)
        order.sort { a, b in
            let (x, y) = (entries[candidates[a]], entries[candidates[b]])
            if x.count != y.count { return x.count > y.count }
            // ASCII strings order as their bytes do; other keys are compared as the strings shown.
            if ascii[a] && ascii[b] { return x.key.lexicographicallyPrecedes(y.key) }
            return String(decoding: x.key, as: UTF8.self) < String(decoding: y.key, as: UTF8.self)
        }
        return order.prefix(k).map { o in
            let e = entries[candidates[o]]
            return (String(decoding: e.key, as: UTF8.self), e.count, e.error)
        }
    }

    /// Writes the whole summary — entries, heap order, flags — so a restored one evicts the same keys.
    public func saveState(_ w: inout StateWriter) {
        w.int(capacity)
        w.bool(evicted)
        w.int(total)
        w.int(entries.count)
        for e in entries {
            w.u64(e.hash)
            w.int(e.count)
            w.int(e.error)
            w.bytes(e.key)
        }
        w.numbers(heap)
    }

    /// Replaces the contents with saved ones.
    public func restoreState(_ r: inout StateReader) throws {
        try r.check(try r.int() == capacity, "a top-K summary's capacity differs")
        evicted = try r.bool()
        total = try r.int()
        let n = try r.count(max: capacity)
        var list: [Entry] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(Entry(hash: try r.u64(), count: try r.int(), error: try r.int(), key: try r.bytes())) }
        let h = try r.numbers(Int32.self)
        try r.check(h.count == n && Set(h).count == n && h.allSatisfy { $0 >= 0 && Int($0) < n }, "a top-K heap is not a permutation")
        entries = list
        heap = h
        position = [Int32](repeating: 0, count: n)
        for (i, e) in heap.enumerated() { position[Int(e)] = Int32(i) }
        slots.rebuild(count: n, size: SlotIndex.size(for: n)) { entries[$0].hash }
    }

    /// The entry holding `key`, if tracked.
    private func index(of key: [UInt8], hash h: UInt64) -> Int? {
        let e = slots.find(h) { entries[$0].hash == h && entries[$0].key == key }.entry
        return e < 0 ? nil : e
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        position[Int(heap[a])] = Int32(a)
        position[Int(heap[b])] = Int32(b)
    }

    private func siftUp(_ start: Int) {
        var c = start
        while c > 0 {
            let parent = (c - 1) / 2
            guard entries[Int(heap[c])].count < entries[Int(heap[parent])].count else { return }
            swapAt(c, parent)
            c = parent
        }
    }

    private func siftDown(_ start: Int) {
        var c = start
        let n = heap.count
        while true {
            let l = 2 * c + 1
            guard l < n else { return }
            let r = l + 1
            var smallest = c
            if entries[Int(heap[l])].count < entries[Int(heap[smallest])].count { smallest = l }
            if r < n && entries[Int(heap[r])].count < entries[Int(heap[smallest])].count { smallest = r }
            guard smallest != c else { return }
            swapAt(c, smallest)
            c = smallest
        }
    }
}
