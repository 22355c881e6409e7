#if canImport(Glibc)
    import Glibc
#endif

/// Replaces a file's content atomically: the bytes go to a temporary file in the same folder, which is
/// flushed and renamed over the old one, so a reader (or a crash) sees the old content or the new, never
/// half of either. A failure leaves the old file in place and removes the temporary one.
public enum AtomicFile {
    /// Writes `bytes` to `path`; returns nil on success, else the system's reason.
    public static func replace(_ path: String, with bytes: [UInt8]) -> String? {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        var failure: String?
        bytes.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                let n = write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failure = n == 0 ? "nothing written" : String(cString: strerror(errno))
                    return
                }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 && errno != EINVAL { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if failure != nil { unlink(temporary) }
        return failure
    }
}
