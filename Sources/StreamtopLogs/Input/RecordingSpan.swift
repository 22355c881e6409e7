#if canImport(Glibc)
    import Glibc
#endif

/// The first and last event times of recorded files, read from their first and last 64 KiB (cheap even
/// for gigabytes), for the replay position bar. Gzipped files and standard input have no known span.
public enum RecordingSpan {
    /// Earliest and latest timestamps found (read with `format`), or nil when none can be read.
    public static func of(_ paths: [String], format: LogFormat = .combined) -> (first: Int64, last: Int64)? {
        var first = Int64.max
        var last = Int64.min
        for path in paths where path != "-" {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if FileSource.isGzip(fd) { return nil }
            var st = stat()
            guard fstat(fd, &st) == 0 else { continue }
            let size = Int(st.st_size)
            let window = 64 * 1024
            for offset in [0, max(0, size - window)] {
                var buffer = [UInt8](repeating: 0, count: min(window, size))
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                guard n > 0 else { continue }
                _ = buffer.withUnsafeBufferPointer { b in
                    LineBlock.forEachLine(UnsafeRawBufferPointer(start: b.baseAddress, count: n)) { s, l, _ in
                        if let t = format.eventTime(b.baseAddress!, s, s + l) {
                            first = min(first, t)
                            last = max(last, t)
                        }
                    }
                }
            }
        }
        return first <= last ? (first, last) : nil
    }
}
