import StreamtopEngine
import Foundation

/// HyperLogLog with 2^12 one-byte registers (4 KiB): distinct counts with a standard error of about
/// 1.04/√4096 ≈ 1.6%, whatever the number of distinct values. Values are 64-bit hashes.
public struct HyperLogLog: Sendable, Equatable {
    static let precision = 12
    static let count = 1 << precision
    private var registers = [UInt8](repeating: 0, count: HyperLogLog.count)

    /// An empty sketch.
    public init() {}

    /// Adds a hashed value.
    public mutating func add(_ hash: UInt64) {
        // Mix again: the caller's hash may have weak high bits.
        var h = hash &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        let index = Int(h >> UInt64(64 - HyperLogLog.precision))
        let rest = (h << UInt64(HyperLogLog.precision)) | (1 << UInt64(HyperLogLog.precision - 1))
        let rank = UInt8(rest.leadingZeroBitCount + 1)
        registers.withUnsafeMutableBufferPointer { r in
            if rank > r[index] { r[index] = rank }
        }
    }

    /// Merges another sketch (the union of both sets).
    public mutating func merge(_ other: HyperLogLog) {
        for i in 0..<HyperLogLog.count where other.registers[i] > registers[i] { registers[i] = other.registers[i] }
    }

    /// Writes the registers.
    public func saveState(_ w: inout StateWriter) { w.bytes(registers) }

    /// The registers, one byte each (what another instance needs for a union).
    public var registerBytes: [UInt8] { registers }

    /// A sketch from registers sent by another instance; nil unless there are exactly as many as this
    /// build keeps and each holds a possible rank.
    public init?(registerBytes: [UInt8]) {
        guard registerBytes.count == HyperLogLog.count, registerBytes.allSatisfy({ $0 <= 64 - HyperLogLog.precision + 1 }) else { return nil }
        registers = registerBytes
    }

    /// Reads registers written by `saveState`.
    public init(restoring r: inout StateReader) throws {
        let regs = try r.bytes()
        try r.check(regs.count == HyperLogLog.count, "a HyperLogLog sketch has \(regs.count) registers")
        registers = regs
    }

    /// The estimated number of distinct values (with the small-range correction).
    public var estimate: Double {
        let m = Double(HyperLogLog.count)
        var sum = 0.0
        var zeros = 0
        for r in registers {
            sum += 1 / Double(UInt64(1) << UInt64(r))
            if r == 0 { zeros += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        let raw = alpha * m * m / sum
        if raw <= 2.5 * m && zeros > 0 { return m * log(m / Double(zeros)) }  // linear counting
        return raw
    }
}

/// Counts distinct values exactly up to `exactLimit`, then with HyperLogLog, so memory stays bounded
/// (at most `exactLimit` hashes, then 4 KiB) and the result says whether it is an estimate.
/// A value type: copies do not share state (the exact set is copied on write).
///
/// The sketch is built only when the exact set overflows, from the hashes it held: HyperLogLog registers
/// depend on the set of values, not their order, so the estimate is the one a sketch kept all along would
/// give, and the exact phase (most windows) costs one table update per value instead of two.
public struct DistinctCounter {
    private var exact: HashTable64? = HashTable64()
    private var sketch: HyperLogLog?
    /// Above this many distinct values the count becomes an estimate.
    public let exactLimit: Int

    /// The default `exactLimit`.
    public static let defaultExactLimit = 4096

    /// Creates a counter.
    public init(exactLimit: Int = DistinctCounter.defaultExactLimit) { self.exactLimit = exactLimit }

    /// Adds a hashed value.
    public mutating func add(_ hash: UInt64) {
        guard exact != nil else {
            sketch!.add(hash)
            return
        }
        if !isKnownUniquelyReferenced(&exact!) { exact = exact!.copy() }
        exact!.set(hash, 0)
        if exact!.count > exactLimit { overflow() }
    }

    /// Switches from the exact set to the sketch of its values.
    private mutating func overflow() {
        sketch = sketchOfValues
        exact = nil
    }

    /// Merges another counter (the union of both sets): exact while both are exact and the union fits.
    public mutating func merge(_ other: DistinctCounter) {
        if let o = other.exact, exact != nil {
            if !isKnownUniquelyReferenced(&exact!) { exact = exact!.copy() }
            exact!.reserve(min(exact!.count + o.count, exactLimit + 1))
            o.forEach { k, _ in exact!.set(k, 0) }
            if exact!.count > exactLimit { overflow() }
            return
        }
        if exact != nil { overflow() }
        sketch!.merge(other.sketchOfValues)
    }

    /// The HyperLogLog sketch of the values (built from the exact set while there is one).
    public var sketchOfValues: HyperLogLog {
        if let sketch { return sketch }
        var s = HyperLogLog()
        exact?.forEach { k, _ in s.add(k) }
        return s
    }

    /// Writes the exact set or the sketch.
    public func saveState(_ w: inout StateWriter) {
        w.int(exactLimit)
        w.bool(exact != nil)
        if let exact { exact.saveState(&w) } else { sketch!.saveState(&w) }
    }

    /// Reads a counter written by `saveState`.
    public init(restoring r: inout StateReader) throws {
        exactLimit = try r.int()
        if try r.bool() {
            let t = HashTable64()
            try t.restoreState(&r)
            exact = t
            sketch = nil
        } else {
            exact = nil
            sketch = try HyperLogLog(restoring: &r)
        }
    }

    /// Whether the count is an estimate (without computing it).
    public var isEstimated: Bool { exact == nil }

    /// The count, and whether it is an estimate (standard error ≈ 1.6%).
    public var count: (value: Int, estimated: Bool) {
        if let e = exact { return (e.count, false) }
        return (Int((sketch?.estimate ?? 0).rounded()), true)
    }
}
