/// Writes operator state as compact binary for a checkpoint: fixed-width little-endian numbers,
/// length-prefixed bytes and strings, and whole arrays of plain numbers copied at once (a table of a
/// million hashes is one copy, not a million calls). `StateReader` reads it back in the same order.
public struct StateWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init() {}

    /// Writes a 64-bit signed integer.
    public mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    /// Writes a 64-bit signed integer.
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    /// Writes a 64-bit unsigned integer.
    public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    /// Writes a boolean as one byte.
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    /// Writes a double by its bit pattern.
    public mutating func double(_ v: Double) { u64(v.bitPattern) }
    /// Writes a length, then the bytes.
    public mutating func bytes(_ v: [UInt8]) {
        int(v.count)
        bytes.append(contentsOf: v)
    }
    /// Appends bytes with no length (the reader must know it: `StateReader.rawBytes`).
    public mutating func appendRaw(_ p: UnsafeRawPointer, count: Int) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: count))
    }
    /// Writes a string as its UTF-8 bytes.
    public mutating func string(_ v: String) { bytes(Array(v.utf8)) }
    /// Writes an array of fixed-width integers (their memory, little-endian machines only; see
    /// `StateReader.numbers`).
    public mutating func numbers<T: FixedWidthInteger>(_ v: [T]) {
        int(v.count)
        v.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    /// Writes a dictionary from 64-bit integers to counts, sorted by key (so equal states write equal bytes).
    public mutating func counts(_ v: [Int64: Int]) {
        int(v.count)
        for k in v.keys.sorted() {
            i64(k)
            int(v[k]!)
        }
    }
    /// Writes a nested section: its length first, so a reader can check it ends where it should.
    public mutating func section(_ body: (inout StateWriter) -> Void) {
        var inner = StateWriter()
        body(&inner)
        bytes(inner.bytes)
    }
}
