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
    private var chunker: LineChunker
    private let blockSize: Int
    /// Number of times the input was started over.
    public private(set) var loops = 0
    /// Called (on the source thread) each time reading starts on an input, with its index.
    public var onInputStart: ((Int) -> Void)?

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

    deinit { if fd > 2 { close(fd) } }

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

    /// A label such as `access.log (+2 more)`.
    public var label: String {
        let first = paths[0] == "-" ? "stdin" : (paths[0].split(separator: "/").last.map(String.init) ?? paths[0])
        return paths.count > 1 ? "\(first) (+\(paths.count - 1) more)" : first
    }

    public func stop() { index = paths.count }

    public func nextBlock() throws -> LineBlock? {
        while index < paths.count {
            switch try chunker.read(from: fd) {
            case .block(let block): return block
            case .partial: continue
            case .endOfData:
                if let tail = chunker.flush() { return tail }
                if fd > 2 { close(fd) }
                fd = -1
                index += 1
                if index == paths.count && loop {
                    index = 0
                    loops += 1
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
        }
        chunker = LineChunker(sourceIndex: i, blockSize: blockSize)
        onInputStart?(i)
    }
}
