#if canImport(Glibc)
    import Glibc
#endif

/// Where a followed file's lines in this run begin: the file (by device and inode, whatever its name now)
/// and the byte reading started at (its end when `watch` started, or 0). A drill-down opened during the
/// run reads the file again from there up to where the run had got (see `FollowSource.readSpans`).
public struct ReadSpan: Sendable, Equatable {
    public let path: String
    public let device: dev_t
    public let inode: ino_t
    /// The byte reading started at.
    public let start: Int64

    /// Opens the file at `path` again for reading from `start`, when it is still the same file; nil when it
    /// was replaced or cannot be opened (then the part read before cannot be read again).
    public func reopen() -> Reopened? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_dev == device, st.st_ino == inode, lseek(fd, off_t(start), SEEK_SET) == off_t(start) else {
            close(fd)
            return nil
        }
        return Reopened(fd: fd, start: start)
    }

    /// A followed file opened again at the start of its span; closed when released.
    public final class Reopened: Sendable {
        /// The descriptor, positioned at `start`.
        public let fd: Int32
        public let start: Int64
        init(fd: Int32, start: Int64) {
            self.fd = fd
            self.start = start
        }
        deinit { close(fd) }
    }
}
