import CZlib
import Dispatch
import Synchronization

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
    /// With `loop`, how many times the files have been started (1 on the first pass); readable from any thread.
    public let passes = Atomic<Int>(1)
    /// When a new pass was last said (monotonic ns; the source thread's).
    private var lastLoopSaid: UInt64 = 0
    /// Called (on the source thread) with a human-readable event: a new pass of a looping replay.
    public var onEvent: ((String) -> Void)?
    private var index = 0
    /// Set by `stop()` from any thread; read by the source thread.
    private let stopped = Atomic<Bool>(false)
    private var fd: Int32 = -1
    /// Set when the current input is gzip-compressed (read through zlib instead of read(2)).
    private var gz: gzFile?
    private var chunker: LineChunker
    private let blockSize: Int
    private let maxLineBytes: Int

    /// Opens the first input at once, so a missing file fails before anything starts; later ones are
    /// checked with `FileSource.checkReadable` by the caller. Lines longer than `maxLineBytes` are cut
    /// (see `LineChunker`).
    public init(paths: [String], loop: Bool = false, blockSize: Int = 256 * 1024, maxLineBytes: Int = LineChunker.defaultMaxLineBytes) throws {
        precondition(!paths.isEmpty)
        self.paths = paths
        self.loop = loop
        self.blockSize = blockSize
        self.maxLineBytes = maxLineBytes
        self.chunker = LineChunker(sourceIndex: 0, blockSize: blockSize, maxLineBytes: maxLineBytes, name: paths[0])
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

    public func stop() { stopped.store(true, ordering: .relaxed) }

    public func nextBlock() throws -> LineBlock? {
        while index < paths.count && !stopped.load(ordering: .relaxed) {
            let result: LineChunker.ReadResult
            if let gz {
                var damage: String?
                do {
                    result = try chunker.read { buffer, count in
                        let n = Int(gzread(gz, buffer, UInt32(min(count, Int(Int32.max)))))
                        if n < 0 {
                            damage = FileSource.gzipError(gz)
                            errno = EIO
                        }
                        return n
                    }
                } catch {
                    throw damaged(damage ?? "\(error)")
                }
                if case .endOfData = result, let problem = FileSource.gzipError(gz) {
                    // zlib reports a truncated stream only as an error state at the end.
                    if let tail = chunker.flush() {
                        pendingDamage = problem
                        return tail
                    }
                    throw damaged(problem)
                }
            } else {
                result = try chunker.read(from: fd)
            }
            switch result {
            case .block(let block):
                if loop { block.pass = passes.load(ordering: .relaxed) }
                return block
            case .partial: continue
            case .endOfData:
                if let tail = chunker.flush() {
                    if loop { tail.pass = passes.load(ordering: .relaxed) }
                    return tail
                }
                if let problem = pendingDamage { throw damaged(problem) }
                // Kept for a checkpoint taken after the last file: a resumed run then checks that file is
                // still the one read (and reads what was appended to it since).
                if paths[index] != "-" { lastFinished = position(index: index, offset: chunker.offset, lines: chunker.linesHandedOut) }
                closeCurrent()
                index += 1
                if index == paths.count && loop {
                    index = 0
                    let pass = passes.add(1, ordering: .relaxed).newValue
                    // Said for the first pass, then at most every 10 s: at --speed max a short recording
                    // loops several times a second and would push everything else out of the decision log.
                    let now = DispatchTime.now().uptimeNanoseconds
                    if pass == 2 || now &- lastLoopSaid >= 10_000_000_000 {
                        lastLoopSaid = now
                        onEvent?("the recording ended; looping (--loop): pass \(pass) starts from the beginning, and the counts go on adding up")
                    }
                }
                if index < paths.count { try open(index) }
            }
        }
        return nil
    }

    /// A gzip error zlib reports for an open stream (nil when the stream is fine so far).
    static func gzipError(_ gz: gzFile) -> String? {
        var code: Int32 = 0
        let message = gzerror(gz, &code)
        guard code != Z_OK && code != Z_STREAM_END else { return nil }
        var text = message.map { String(cString: $0) } ?? ""
        // zlib prefixes the path it was opened with, `<fd:3>: ` for a descriptor: the caller names the file.
        if text.hasPrefix("<fd:"), let colon = text.range(of: ">: ") { text = String(text[colon.upperBound...]) }
        return text.isEmpty ? "error \(code)" : text
    }

    /// The position at the end of the last file read to its end.
    private var lastFinished: FilePosition?
    /// Device and inode of each input opened so far (a checkpoint keeps them).
    private var opened: [Int: (UInt64, UInt64)] = [:]

    /// A truncated or corrupt gzip file, found at the end of the lines that could be read from it.
    private var pendingDamage: String?

    private func damaged(_ problem: String) -> SourceError {
        let name = paths[index]
        return SourceError("\(name) is damaged (\(problem)) after \(chunker.linesHandedOut) lines; the lines before the damage were counted")
    }

    /// Closes the input being read (zlib closes its descriptor itself; standard input stays open).
    private func closeCurrent() {
        if let g = gz {
            gzclose(g)
            gz = nil
        } else if fd > 2 {
            close(fd)
        }
        fd = -1
    }

    private func open(_ i: Int) throws {
        pendingDamage = nil
        let path = paths[i]
        if path == "-" {
            fd = 0
        } else {
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SourceError("cannot open \(path): \(String(cString: strerror(errno)))") }
            let id = FilePosition.identity(fd: fd)
            opened[i] = (id.device, id.inode)
            if FileSource.isGzip(fd) {
                // zlib takes over the descriptor (and closes it).
                guard let g = gzdopen(fd, "rb") else { throw SourceError("cannot read \(path): not a readable gzip file") }
                gzbuffer(g, 256 * 1024)
                gz = g
            }
        }
        chunker = LineChunker(sourceIndex: i, blockSize: blockSize, maxLineBytes: maxLineBytes, name: path == "-" ? "standard input" : path)
    }
}

extension FileSource: ResumableLineSource {
    public var isResumable: Bool { !paths.contains("-") }

    /// One entry per input: the files read to their end (`offset` -1, with the identity they had), the one
    /// being read and how far (after the last one: the last one at its end), those not opened yet (-2).
    public func positions() -> [FilePosition] {
        guard index < paths.count, fd >= 0 || gz != nil else {
            guard let last = lastFinished else { return [] }
            return listed(current: last)
        }
        return listed(current: position(index: index, offset: chunker.offset, lines: chunker.linesHandedOut, skipping: chunker.skipping))
    }

    /// The full list around the current file's position (a paced replay passes where its lines end).
    public func listed(current: FilePosition) -> [FilePosition] {
        paths.indices.map { i in
            if i == current.index { return current }
            let id = opened[i] ?? (0, 0)
            return FilePosition(path: paths[i], index: i, device: id.0, inode: id.1, offset: i < current.index ? -1 : -2, lines: 0, skipping: false, fingerprint: 0)
        }
    }

    /// The position `offset` bytes into the current file (a paced replay hands out less than was read).
    public func position(index i: Int, offset: Int64, lines: Int, skipping: Bool = false) -> FilePosition {
        let id = FilePosition.identity(fd: fd)
        return FilePosition(
            path: paths[i], index: i, device: id.device, inode: id.inode, offset: offset, lines: lines,
            skipping: skipping, fingerprint: fingerprintNow(offset: offset) ?? 0)
    }

    /// A gzip file is fingerprinted whole (its compressed bytes; the offset counts decompressed ones).
    private func fingerprintNow(offset: Int64) -> UInt64? {
        if gz != nil {
            var st = stat()
            guard fstat(fd, &st) == 0 else { return nil }
            return FilePosition.fingerprint(fd: fd, offset: Int64(st.st_size))
        }
        return FilePosition.fingerprint(fd: fd, offset: offset)
    }

    public func resume(at positions: [FilePosition]) throws -> String {
        guard let p = positions.first(where: { $0.offset >= 0 }) else { return "from the start" }
        guard positions.count == paths.count, p.index < paths.count else {
            throw SourceError("the checkpoint read \(positions.count) inputs, this run gives \(paths.count); give the same inputs, or use --fresh")
        }
        // Every input up to the current one must be the file read then (the same file, whatever the path
        // is spelled: ./a.log is a.log): a reordered or changed list would count a file twice or never.
        for saved in positions where saved.index <= p.index && saved.device != 0 {
            var st = stat()
            let same = stat(paths[saved.index], &st) == 0 && UInt64(st.st_dev) == saved.device && UInt64(st.st_ino) == saved.inode
            guard same || (saved.index == p.index) else {
                throw SourceError("the checkpoint read \(Escaped.text(saved.path)) as input \(saved.index + 1), this run gives \(Escaped.text(paths[saved.index])), another file; give the same inputs, or use --fresh")
            }
        }
        closeCurrent()
        index = p.index
        try open(index)
        let name = Escaped.text(p.path)
        guard let print = fingerprintNow(offset: p.offset) else {
            throw SourceError("\(name) is shorter than when the checkpoint was taken (it was read to byte \(p.offset)): it was replaced or truncated; use --fresh to start over")
        }
        guard print == p.fingerprint else {
            throw SourceError("\(name) is not the file the checkpoint read (its bytes before \(p.offset) differ): it was replaced or rewritten; use --fresh to start over")
        }
        if let g = gz {
            guard gzseek(g, off_t(p.offset), SEEK_SET) == off_t(p.offset) else {
                throw SourceError("cannot resume \(name) at byte \(p.offset) of its decompressed lines")
            }
        } else if lseek(fd, off_t(p.offset), SEEK_SET) != off_t(p.offset) {
            throw SourceError("cannot resume \(name) at byte \(p.offset): \(String(cString: strerror(errno)))")
        }
        chunker.resume(offset: p.offset, lines: p.lines, skipping: p.skipping)
        return "\(name) at byte \(p.offset.formatted())"
    }
}
