/// Reads what `StateWriter` wrote, in the same order. Every read checks the bounds: a damaged or
/// hand-edited checkpoint fails with `StateReader.Damaged`, never a crash or a wild allocation.
public struct StateReader {
    /// A checkpoint's bytes that do not decode.
    public struct Damaged: Error, CustomStringConvertible {
        /// What did not decode.
        public let description: String
        /// Creates the error.
        public init(_ description: String) { self.description = description }
    }

    private let data: [UInt8]
    private var at = 0

    /// A reader over `data`.
    public init(_ data: [UInt8]) { self.data = data }

    /// Whether every byte was read.
    public var isAtEnd: Bool { at == data.count }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= data.count - at else { throw Damaged("state ends early (wanted \(n) bytes at \(at) of \(data.count))") }
        defer { at += n }
        return data[at..<at + n]
    }

    /// Reads a 64-bit unsigned integer.
    public mutating func u64() throws -> UInt64 {
        let s = try take(8)
        var v: UInt64 = 0
        for (i, b) in s.enumerated() { v |= UInt64(b) << UInt64(8 * i) }
        return v
    }
    /// Reads a 64-bit signed integer.
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    /// Reads a 64-bit signed integer as `Int`.
    public mutating func int() throws -> Int { Int(try i64()) }
    /// Reads a count or length: an integer in `0...limit`.
    public mutating func count(max limit: Int = Int(Int32.max)) throws -> Int {
        let n = try int()
        guard n >= 0 && n <= limit else { throw Damaged("a count of \(n) is out of range (0…\(limit))") }
        return n
    }
    /// Reads a boolean.
    public mutating func bool() throws -> Bool {
        let b = try take(1).first!
        guard b <= 1 else { throw Damaged("a flag holds \(b)") }
        return b == 1
    }
    /// Reads a double.
    public mutating func double() throws -> Double { Double(bitPattern: try u64()) }
    /// Reads length-prefixed bytes.
    public mutating func bytes() throws -> [UInt8] {
        let n = try count(max: data.count - at)
        return Array(try take(n))
    }
    /// Reads `n` bytes written by `StateWriter.appendRaw`.
    public mutating func rawBytes(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    /// Reads a string.
    public mutating func string() throws -> String { String(decoding: try bytes(), as: UTF8.self) }
    /// Reads an array of fixed-width integers written by `StateWriter.numbers`.
    public mutating func numbers<T: FixedWidthInteger>(_ type: T.Type = T.self) throws -> [T] {
        let n = try count(max: (data.count - at) / MemoryLayout<T>.size)
        let s = try take(n * MemoryLayout<T>.size)
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            s.withUnsafeBytes { src in
                if n > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: src.baseAddress!, byteCount: n * MemoryLayout<T>.size) }
            }
            initialized = n
        }
    }
    /// Reads a dictionary written by `StateWriter.counts`.
    public mutating func counts() throws -> [Int64: Int] {
        let n = try count(max: (data.count - at) / 16)
        var d = [Int64: Int](minimumCapacity: n)
        for _ in 0..<n {
            let k = try i64()
            d[k] = try int()
        }
        return d
    }
    /// Reads a nested section written by `StateWriter.section`: `body` must read all of it.
    public mutating func section<T>(_ what: String, _ body: (inout StateReader) throws -> T) throws -> T {
        var inner = StateReader(try bytes())
        let v = try body(&inner)
        guard inner.isAtEnd else { throw Damaged("\(what): \(inner.data.count - inner.at) bytes left over") }
        return v
    }
    /// Fails unless `condition` holds, naming what is wrong.
    public func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw Damaged(what()) }
    }
}
