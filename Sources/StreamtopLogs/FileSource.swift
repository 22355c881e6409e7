import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Reads files (or standard input, written `-`) from start to end, one after the other, as fast as the
/// consumer takes the blocks. Optionally starts over at the end (for the looping demo).
public final class FileSource: LineSource {
    /// The inputs, in reading order.
    public let paths: [String]
    /// Whether to start again from the first file after the last one ends.
    public let loop: Bool
    private var index = 0
    private var fd: Int32 = -1
    /// Set when the current input is gzip-compressed (read through zlib instead of read(2)).
    private var gz: gzFile?
    private var chunker: LineChunker
    private let blockSize: Int

    /// Opens the first input at once, so a missing file fails before anything starts; later ones are
    /// checked with `FileSource.checkReadable` by the caller.
    public init(paths: [String], loop: Bool = false, blockSize: Int = 256 * 1024) throws {
        precondition(!paths.isEmpty)
        self.paths = paths
        self.loop = loop
        self.blockSize = blockSize
        self.chunker = LineChunker(sourceIndex: 0, blockSize: blockSize)
        for p in paths { try FileSource.checkReadable(p) }
        try open(0)
    }

    deinit {
        if let gz { gzclose(gz) } else if fd > 2 { close(fd) }
    }

    /// Fails with a clear message unless `path` is `-` or a readable regular file (or FIFO).
    public static func checkReadable(_ path: String) throws {
        if path == "-" { return }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SourceError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SourceError("cannot read \(path): it is a directory") }
        guard access(path, R_OK) == 0 else {
            throw SourceError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Whether the file starts with the gzip magic bytes (the position is restored).
    static func isGzip(_ fd: Int32) -> Bool {
        var magic: (UInt8, UInt8) = (0, 0)
        let n = pread(fd, &magic, 2, 0)
        return n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
    }

    /// A label such as `access.log (+2 more)`.
    public var label: String {
        let first = paths[0] == "-" ? "stdin" : (paths[0].split(separator: "/").last.map(String.init) ?? paths[0])
        return paths.count > 1 ? "\(first) (+\(paths.count - 1) more)" : first
    }

    public func stop() { index = paths.count }

    public func nextBlock() throws -> LineBlock? {
        while index < paths.count {
            let result: LineChunker.ReadResult
            if let gz {
                result = try chunker.read { buffer, count in
                    let n = Int(gzread(gz, buffer, UInt32(min(count, Int(Int32.max)))))
                    if n < 0 { errno = EIO }
                    return n
                }
            } else {
                result = try chunker.read(from: fd)
            }
            switch result {
            case .block(let block): return block
            case .partial: continue
            case .endOfData:
                if let tail = chunker.flush() { return tail }
                if let g = gz {
                    gzclose(g)
                    gz = nil
                } else if fd > 2 {
                    close(fd)
                }
                fd = -1
                index += 1
                if index == paths.count && loop {
                    index = 0
                }
                if index < paths.count { try open(index) }
            }
        }
        return nil
    }

    private func open(_ i: Int) throws {
        let path = paths[i]
        if path == "-" {
            fd = 0
        } else {
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SourceError("cannot open \(path): \(String(cString: strerror(errno)))") }
            if FileSource.isGzip(fd) {
                // zlib takes over the descriptor (and closes it).
                guard let g = gzdopen(fd, "rb") else { throw SourceError("cannot read \(path): not a readable gzip file") }
                gzbuffer(g, 256 * 1024)
                gz = g
            }
        }
        chunker = LineChunker(sourceIndex: i, blockSize: blockSize)
    }
}
