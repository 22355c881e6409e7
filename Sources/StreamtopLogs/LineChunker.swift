#if canImport(Glibc)
    import Glibc
#endif

/// Cuts a stream of bytes read from a file descriptor into blocks of whole lines.
///
/// Reads go straight into the block's own buffer; only the partial last line is copied, into the next
/// buffer. Used by one thread at a time.
public final class LineChunker {
    /// Bytes read per block, roughly; a block grows when a single line is longer.
    public let blockSize: Int
    private var carry: UnsafeMutableRawBufferPointer
    private var carryCount = 0
    /// Byte offset in the source of the first byte not yet handed out in a block.
    public private(set) var offset: Int64 = 0
    /// Physical lines handed out so far (for 1-based line numbers).
    public private(set) var linesHandedOut = 0
    private let sourceIndex: Int

    /// Creates a chunker for the source with index `sourceIndex`.
    public init(sourceIndex: Int, blockSize: Int = 256 * 1024) {
        self.sourceIndex = sourceIndex
        self.blockSize = blockSize
        carry = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    }

    deinit { carry.deallocate() }

    /// The outcome of one read.
    public enum ReadResult {
        /// A block of whole lines.
        case block(LineBlock)
        /// The read returned no new bytes (end of file for now).
        case endOfData
        /// Bytes were read, but no line is complete yet.
        case partial
    }

    /// Reads once from `fd` and returns the whole lines that are now complete.
    public func read(from fd: Int32) throws -> ReadResult {
        try read { buffer, count in Glibc.read(fd, buffer, count) }
    }

    /// Reads with `reader` (which fills a buffer like read(2): bytes read, 0 at the end, -1 on error with
    /// errno set) and returns the whole lines that are now complete.
    public func read(with reader: (UnsafeMutableRawPointer, Int) -> Int) throws -> ReadResult {
        let capacity = max(blockSize, carryCount * 2)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        if carryCount > 0 { buffer.baseAddress!.copyMemory(from: carry.baseAddress!, byteCount: carryCount) }
        var filled = carryCount
        var sawEOF = false
        // Fill the buffer (several reads for pipes) so that blocks are big.
        while filled < capacity {
            let n = reader(buffer.baseAddress! + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                let err = String(cString: strerror(errno))
                buffer.deallocate()
                throw SourceError("read failed: \(err)")
            }
            if n == 0 {
                sawEOF = true
                break
            }
            filled += n
            if n < 65536 { break }  // a pipe or a growing file: hand out what we have
        }
        if filled == carryCount {
            buffer.deallocate()
            return sawEOF ? .endOfData : .partial
        }
        // Cut after the last newline; keep the rest for the next read.
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var cut = filled
        while cut > 0 && base[cut - 1] != 0x0A { cut -= 1 }
        if cut == 0 {
            stash(buffer, from: 0, count: filled)
            buffer.deallocate()
            return .partial
        }
        stash(buffer, from: cut, count: filled - cut)
        return .block(makeBlock(buffer, count: cut))
    }

    /// Hands out the partial last line as a block (at the end of a file that does not end in `\n`).
    public func flush() -> LineBlock? {
        guard carryCount > 0 else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: carryCount, alignment: 16)
        buffer.baseAddress!.copyMemory(from: carry.baseAddress!, byteCount: carryCount)
        let n = carryCount
        carryCount = 0
        return makeBlock(buffer, count: n)
    }

    /// Drops the partial line and restarts offsets (after a truncation or when switching files).
    public func reset() {
        carryCount = 0
        offset = 0
        linesHandedOut = 0
    }

    private func makeBlock(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> LineBlock {
        let block = LineBlock(
            owning: buffer, count: count, sourceIndex: sourceIndex, sourceOffset: offset,
            firstLineNumber: linesHandedOut + 1)
        offset += Int64(count)
        linesHandedOut += block.physicalLineCount
        return block
    }

    private func stash(_ buffer: UnsafeMutableRawBufferPointer, from: Int, count: Int) {
        if count > carry.count {
            carry.deallocate()
            carry = UnsafeMutableRawBufferPointer.allocate(byteCount: count * 2, alignment: 16)
        }
        if count > 0 { carry.baseAddress!.copyMemory(from: buffer.baseAddress! + from, byteCount: count) }
        carryCount = count
    }
}
