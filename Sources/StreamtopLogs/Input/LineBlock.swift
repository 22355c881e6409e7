#if canImport(Glibc)
    import Glibc
#endif

/// A block of whole log lines in one contiguous, owned byte buffer: the unit of transfer between tasks.
///
/// A block is written by one source thread and then only read, so it can be handed between threads
/// without locks (hence `@unchecked Sendable`). The one exception is a map task, which may append derived
/// bytes (normalized paths, networks) after the lines while it alone holds the block; records then point
/// there. The queue hand-off between tasks orders those writes before any later reader.
public final class LineBlock: @unchecked Sendable {
    /// The bytes: whole lines, each ended by `\n` except perhaps the last one of a file, then any derived
    /// bytes a map task appended.
    public private(set) var bytes: UnsafeMutableRawBufferPointer
    /// Number of bytes of lines.
    public let count: Int
    /// Bytes in use: the lines and the derived bytes after them.
    public private(set) var used: Int
    /// Which source (index into the run's list of inputs) the lines come from.
    public let sourceIndex: Int
    /// Byte offset of the first line in its source, for rejects and checkpoints.
    public let sourceOffset: Int64
    /// 1-based line number of the first line in its source.
    public let firstLineNumber: Int
    /// Number of non-empty lines in the block (the report's `lines`).
    public let lineCount: Int
    /// Number of physical lines (empty ones included), to number lines across blocks.
    public let physicalLineCount: Int
    /// Kept alive as long as this block or any block copied or cut from it: a source that must know when
    /// its lines were processed (a Kafka source committing offsets) hangs an object here whose deinit
    /// says so. Set before the block is handed out.
    public var keepAlive: AnyObject?
    /// The partition of a partitioned source the lines come from (nil: a file or stream read in order).
    /// Set before the block is handed out.
    public var partition: SourcePartition?
    /// Which pass of a looping replay the lines come from (0: the input is read once). Event times start
    /// over with each pass; what keeps only the latest times (the site's health) keeps passes apart by it.
    /// Set before the block is handed out.
    public var pass = 0
    /// Which file at its path a followed file's lines come from: 0 for the first, one more after each
    /// rotation or truncation (offsets start over with each). Set before the block is handed out.
    public var fileGeneration = 0
    /// The source index and file generation in one key: where offsets are compared (a drill-down's
    /// boundary), a new file's small offsets are not taken for an old file's.
    @inlinable public var fileKey: Int { sourceIndex | (fileGeneration << 32) }

    /// Takes ownership of `bytes` (allocated with `UnsafeMutableRawBufferPointer.allocate`).
    public init(
        owning bytes: UnsafeMutableRawBufferPointer, count: Int, sourceIndex: Int, sourceOffset: Int64,
        firstLineNumber: Int
    ) {
        self.bytes = bytes
        self.count = count
        self.used = count
        self.sourceIndex = sourceIndex
        self.sourceOffset = sourceOffset
        self.firstLineNumber = firstLineNumber
        var lines = 0
        let physical = LineBlock.forEachLine(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) { _, _, _ in
            lines += 1
        }
        self.lineCount = lines
        self.physicalLineCount = physical
    }

    /// Takes ownership of `bytes` holding the same lines as `original` (a copy): its line counts are
    /// taken over, not counted again (a map task after a fan-out copies every block it rewrites).
    private init(owning bytes: UnsafeMutableRawBufferPointer, sameLinesAs original: LineBlock) {
        self.bytes = bytes
        self.count = original.count
        self.used = original.count
        self.sourceIndex = original.sourceIndex
        self.sourceOffset = original.sourceOffset
        self.firstLineNumber = original.firstLineNumber
        self.lineCount = original.lineCount
        self.physicalLineCount = original.physicalLineCount
    }

    /// Copies `data` into a new block.
    public convenience init(copying data: [UInt8], sourceIndex: Int = 0, sourceOffset: Int64 = 0, firstLineNumber: Int = 1) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
        data.withUnsafeBytes { src in
            if let s = src.baseAddress { buffer.baseAddress!.copyMemory(from: s, byteCount: data.count) }
        }
        self.init(
            owning: buffer, count: data.count, sourceIndex: sourceIndex, sourceOffset: sourceOffset,
            firstLineNumber: firstLineNumber)
    }

    deinit { bytes.deallocate() }

    /// A copy of the lines and derived bytes, for a task that must change a block other tasks also read,
    /// with room for `reserving` more derived bytes (made here, the room costs no second copy).
    public func copy(reserving: Int = 0) -> LineBlock {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(max(bytes.count, used + reserving), 1), alignment: 16)
        buffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: used)
        let b = LineBlock(owning: buffer, sameLinesAs: self)
        b.used = used
        b.keepAlive = keepAlive
        b.partition = partition
        b.pass = pass
        b.fileGeneration = fileGeneration
        return b
    }

    /// The bytes in use of several blocks one after another, for a task that joins records pointing into
    /// them (a union's shares of one source block): returns the block and where each part starts. It has
    /// no lines of its own (`count` and `lineCount` are 0: the parts' lines were counted upstream), keeps
    /// every part's `keepAlive` (a Kafka source commits their offsets once all are processed) and the
    /// first part's source fields and partition.
    public static func concatenating(_ parts: [LineBlock]) -> (block: LineBlock, offsets: [Int]) {
        let total = parts.reduce(0) { $0 + $1.used }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 16)
        var offsets: [Int] = []
        var at = 0
        for p in parts {
            offsets.append(at)
            if p.used > 0 { (buffer.baseAddress! + at).copyMemory(from: p.bytes.baseAddress!, byteCount: p.used) }
            at += p.used
        }
        let first = parts.first
        let b = LineBlock(owning: buffer, count: 0, sourceIndex: first?.sourceIndex ?? 0, sourceOffset: first?.sourceOffset ?? 0, firstLineNumber: first?.firstLineNumber ?? 1)
        b.used = total
        b.keepAlive = parts.compactMap(\.keepAlive) as AnyObject
        b.partition = first?.partition
        return (b, offsets)
    }

    /// Makes room for `n` more derived bytes. May move the buffer: take `base` again afterwards.
    public func reserveDerived(_ n: Int) {
        guard used + n > bytes.count else { return }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(used + n, bytes.count + bytes.count / 2), alignment: 16)
        grown.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: used)
        bytes.deallocate()
        bytes = grown
    }

    /// Where the next derived bytes go (room made with `reserveDerived`).
    @inlinable public var derivedEnd: UnsafeMutablePointer<UInt8> {
        bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + used
    }

    /// Marks `n` bytes written at `derivedEnd` as used and returns their offset from `base`.
    public func commitDerived(_ n: Int) -> Int32 {
        let offset = used
        used += n
        return Int32(offset)
    }

    /// The start of the buffer as bytes.
    @inlinable public var base: UnsafePointer<UInt8> {
        UnsafePointer(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// Calls `body(start, length, lineNumberOffset)` for every non-empty line (one trailing `\r` removed).
    /// `lineNumberOffset` counts physical lines from the start of the block, so empty lines keep numbering right.
    @inlinable
    public func forEachLine(_ body: (Int, Int, Int) -> Void) {
        _ = LineBlock.forEachLine(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), body)
    }

    /// Splits `buffer` into non-empty lines as the report contract defines them, and returns the number
    /// of physical lines (a final line without `\n` counts).
    @inlinable @discardableResult
    public static func forEachLine(_ buffer: UnsafeRawBufferPointer, _ body: (Int, Int, Int) -> Void) -> Int {
        guard let raw = buffer.baseAddress else { return 0 }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let n = buffer.count
        var start = 0
        var physical = 0
        while start < n {
            let stop: Int
            if let nl = memchr(base + start, 0x0A, n - start) {
                stop = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            } else {
                stop = n
            }
            var length = stop - start
            if length > 0 && base[start + length - 1] == 0x0D { length -= 1 }
            if length > 0 { body(start, length, physical) }
            physical += 1
            start = stop + 1
        }
        return physical
    }
}
