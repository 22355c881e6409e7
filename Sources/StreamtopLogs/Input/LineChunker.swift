#if canImport(Glibc)
    import Glibc
#endif

/// Cuts a stream of bytes read from a file descriptor into blocks of whole lines.
///
/// Reads go straight into the block's own buffer; only the partial last line is copied, into the next
/// buffer. Used by one thread at a time.
///
/// Memory stays bounded whatever the input: a line longer than `maxLineBytes` is handed out as its first
/// `maxLineBytes + 1` bytes (so the parser sees it is too long and rejects it as "line too long", head kept
/// for inspection) and the rest of it, up to its newline, is skipped as it is read.
public final class LineChunker {
    /// The default longest line: longer ones are rejected (64 KiB; real access-log lines are < 8 KiB).
    public static let defaultMaxLineBytes = 64 * 1024
    /// Bytes read per block, roughly; a block grows when a single line is longer.
    public let blockSize: Int
    /// The longest line kept whole; see the type's summary.
    public let maxLineBytes: Int
    /// Skipping the tail of an over-long line whose head was already handed out.
    public private(set) var skipping = false
    /// The input's name, for error messages.
    private let name: String
    private var carry: UnsafeMutableRawBufferPointer
    private var carryCount = 0
    /// Byte offset in the source of the first byte not yet handed out in a block.
    public private(set) var offset: Int64 = 0
    /// Physical lines handed out so far (for 1-based line numbers).
    public private(set) var linesHandedOut = 0
    private let sourceIndex: Int

    /// Creates a chunker for the source with index `sourceIndex`.
    public init(sourceIndex: Int, blockSize: Int = 256 * 1024, maxLineBytes: Int = LineChunker.defaultMaxLineBytes, name: String = "input") {
        self.sourceIndex = sourceIndex
        self.blockSize = blockSize
        self.maxLineBytes = max(1, maxLineBytes)
        self.name = name
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
                // A non-blocking FIFO or pipe with a writer but no data yet: nothing to read for now.
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                let err = String(cString: strerror(errno))
                buffer.deallocate()
                throw SourceError("cannot read \(name): \(err)")
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
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if skipping {
            // Drop the rest of the over-long line, up to and including its newline.
            guard let nl = memchr(base, 0x0A, filled) else {
                offset += Int64(filled)
                buffer.deallocate()
                return .partial
            }
            let skipped = base.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
            offset += Int64(skipped)
            skipping = false
            filled -= skipped
            if filled == 0 {
                buffer.deallocate()
                return .partial
            }
            (buffer.baseAddress! + 0).copyMemory(from: buffer.baseAddress! + skipped, byteCount: filled)
        }
        // Cut after the last newline; keep the rest for the next read.
        var cut = filled
        while cut > 0 && base[cut - 1] != 0x0A { cut -= 1 }
        if cut == 0 {
            if filled > maxLineBytes {
                // No newline within the limit: hand out the head and skip the rest of the line.
                let headCount = maxLineBytes + 1
                let head = UnsafeMutableRawBufferPointer.allocate(byteCount: headCount, alignment: 16)
                head.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: headCount)
                buffer.deallocate()
                carryCount = 0
                skipping = true
                let block = makeBlock(head, count: headCount)
                offset += Int64(filled - headCount)
                return .block(block)
            }
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

    /// Starts at a checkpoint's position: the caller has moved the input to byte `offset`, after `lines`
    /// physical lines.
    public func resume(offset: Int64, lines: Int, skipping: Bool = false) {
        carryCount = 0
        self.skipping = skipping
        self.offset = offset
        linesHandedOut = lines
    }

    /// The file generation its blocks carry (`LineBlock.fileGeneration`): one more with each `reset`.
    public var generation = 0

    /// Drops the partial line and restarts offsets (after a truncation or when switching files).
    public func reset() {
        generation += 1
        carryCount = 0
        skipping = false
        offset = 0
        linesHandedOut = 0
    }

    private func makeBlock(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> LineBlock {
        let block = LineBlock(
            owning: buffer, count: count, sourceIndex: sourceIndex, sourceOffset: offset,
            firstLineNumber: linesHandedOut + 1)
        block.fileGeneration = generation
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
