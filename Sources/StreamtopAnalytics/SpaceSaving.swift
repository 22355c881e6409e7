#if canImport(Glibc)
    import Glibc
#endif

/// Top-K of byte keys in bounded memory (Metwally et al.'s Space-Saving): at most `capacity` keys are
/// tracked; a new key replaces the least counted one and inherits its count as an error bound. Exact
/// while the number of distinct keys fits the capacity, and it says when it no longer is. Every key seen
/// more than N/capacity times is guaranteed to be tracked. Not thread-safe.
public final class SpaceSaving {
    struct Entry {
        var key: [UInt8]
        var hash: UInt64
        var count: Int
        var error: Int
    }

    /// Most keys tracked at once.
    public let capacity: Int
    private var entries: [Entry] = []
    /// Min-heap of entry indices by count, and each entry's position in it.
    private var heap: [Int] = []
    private var position: [Int] = []
    private var index: [UInt64: [Int]] = [:]
    /// Whether a key was ever evicted (then counts are upper bounds).
    public private(set) var evicted = false
    /// Records counted.
    public private(set) var total = 0

    /// Creates a summary that tracks at most `capacity` keys.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        entries.reserveCapacity(self.capacity)
    }

    /// Counts one occurrence of the key `[p, p + n)`.
    public func add(_ p: UnsafePointer<UInt8>, _ n: Int) {
        total += 1
        let h = ByteKeyCounter.hash(p, n)
        if let candidates = index[h] {
            for i in candidates where entries[i].key.count == n && entries[i].key.withUnsafeBufferPointer({ n == 0 || memcmp($0.baseAddress!, p, n) == 0 }) {
                entries[i].count += 1
                siftDown(position[i])
                return
            }
        }
        let key = Array(UnsafeBufferPointer(start: p, count: n))
        if entries.count < capacity {
            let i = entries.count
            entries.append(Entry(key: key, hash: h, count: 1, error: 0))
            position.append(heap.count)
            heap.append(i)
            index[h, default: []].append(i)
            siftUp(heap.count - 1)
            return
        }
        // Replace the least counted key; its count becomes the newcomer's error bound.
        evicted = true
        let i = heap[0]
        let old = entries[i]
        index[old.hash]?.removeAll { $0 == i }
        if index[old.hash]?.isEmpty == true { index[old.hash] = nil }
        entries[i] = Entry(key: key, hash: h, count: old.count + 1, error: old.count)
        index[h, default: []].append(i)
        siftDown(0)
    }

    /// The `k` most counted keys, with whether the counts are estimates (upper bounds).
    public func top(_ k: Int) -> (items: [KeyCount], estimated: Bool) {
        let sorted = entries.sorted {
            $0.count != $1.count ? $0.count > $1.count : String(decoding: $0.key, as: UTF8.self) < String(decoding: $1.key, as: UTF8.self)
        }
        return (sorted.prefix(k).map { KeyCount(key: String(decoding: $0.key, as: UTF8.self), count: $0.count) }, evicted)
    }

    /// The `k` most counted keys with each count's error bound (the true count is in count−error…count).
    public func topWithErrors(_ k: Int) -> [(key: String, count: Int, error: Int)] {
        entries.sorted {
            $0.count != $1.count ? $0.count > $1.count : String(decoding: $0.key, as: UTF8.self) < String(decoding: $1.key, as: UTF8.self)
        }
        .prefix(k).map { (String(decoding: $0.key, as: UTF8.self), $0.count, $0.error) }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        position[heap[a]] = a
        position[heap[b]] = b
    }

    private func siftUp(_ start: Int) {
        var c = start
        while c > 0 {
            let parent = (c - 1) / 2
            guard entries[heap[c]].count < entries[heap[parent]].count else { return }
            swapAt(c, parent)
            c = parent
        }
    }

    private func siftDown(_ start: Int) {
        var c = start
        while true {
            let l = 2 * c + 1
            let r = l + 1
            var smallest = c
            if l < heap.count && entries[heap[l]].count < entries[heap[smallest]].count { smallest = l }
            if r < heap.count && entries[heap[r]].count < entries[heap[smallest]].count { smallest = r }
            guard smallest != c else { return }
            swapAt(c, smallest)
            c = smallest
        }
    }
}
