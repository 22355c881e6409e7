import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Sleeps until something happens in the folders of followed files (inotify), so that an idle `watch`
/// costs no periodic wake-ups: a 20 Hz poll of every file was most of an idle instance's CPU.
///
/// The folders are watched, not the files: a folder's watch reports writes to the files in it and also
/// creations, renames and deletions, so rotations and new pattern matches wake it too, and nothing has to
/// be re-armed when a log is replaced. Events about other files in those folders (a busy /var/log or /tmp)
/// are read and ignored without ending the sleep: only names that are a followed file's, start with one
/// (its rotated generations: access.log.1) or match a followed pattern wake the source. The caller still polls after every wake-up and at least every
/// `fallbackMilliseconds`, so a change inotify cannot see (a network file system, a file renamed into
/// another folder) is only late, never missed. Where inotify is unavailable, `init` returns nil and the
/// caller polls at its interval as before.
final class FileNotifier {
    private let fd: Int32
    /// A pipe whose write end `wake` writes to, so a stop interrupts a sleep at once.
    private var wakePipe: [Int32] = [-1, -1]
    private var watched = Set<String>()
    /// Folders that could not be watched yet (not created yet): tried again at every wait.
    private var missing = Set<String>()
    /// Names (the last path component) that wake: followed files' names and prefixes, and patterns.
    private var names = Set<String>()
    private var patterns = Set<String>()
    /// Whether the last drain saw an event about a followed name.
    private var relevant = false
    /// Whether an event since the last `wait` created, moved or deleted a file (new pattern matches).
    private(set) var foldersChanged = false
    /// The longest sleep without an event.
    let fallbackMilliseconds: Int32

    init?(fallbackMilliseconds: Int32 = 1000) {
        #if os(Linux)
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { return nil }
            guard pipe(&wakePipe) == 0 else {
                close(fd)
                return nil
            }
            for p in wakePipe {
                _ = fcntl(p, F_SETFL, fcntl(p, F_GETFL) | O_NONBLOCK)
                _ = fcntl(p, F_SETFD, FD_CLOEXEC)
            }
            self.fallbackMilliseconds = fallbackMilliseconds
        #else
            return nil
        #endif
    }

    deinit {
        close(fd)
        for p in wakePipe where p >= 0 { close(p) }
    }

    /// Watches the folder holding `path`, and the folder of the file it resolves to when it is a symlink.
    /// Returns false when the folder cannot be watched (the caller keeps polling; nothing is lost).
    /// With `isPattern`, the name part is a glob (`*.log`) that wakes for every matching name.
    @discardableResult
    func watchFolder(of path: String, isPattern: Bool = false) -> Bool {
        var ok = watch(path, isPattern: isPattern)
        if !isPattern, let real = realpath(path, nil) {
            ok = watch(String(cString: real), isPattern: false) && ok
            free(real)
        }
        return ok
    }

    private func watch(_ path: String, isPattern: Bool) -> Bool {
        let name = (path as NSString).lastPathComponent
        if isPattern { patterns.insert(name) } else { names.insert(name) }
        return watch((path as NSString).deletingLastPathComponent)
    }

    /// Whether an event about `name` concerns a followed file: its own name, a rotated generation of it, or
    /// a match of a followed pattern.
    private func wakes(_ name: String) -> Bool {
        if names.contains(name) { return true }
        for n in names where name.hasPrefix(n) { return true }
        for p in patterns where fnmatch(p, name, 0) == 0 { return true }
        return false
    }

    private func watch(_ folder: String) -> Bool {
        let dir = folder.isEmpty ? "." : folder
        if watched.contains(dir) { return true }
        #if os(Linux)
            let mask = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
            guard inotify_add_watch(fd, dir, mask) >= 0 else {
                missing.insert(dir)
                return false
            }
        #endif
        missing.remove(dir)
        watched.insert(dir)
        return true
    }

    /// Sleeps until a watched folder changes, `wake` is called, or `milliseconds` (at most the fallback)
    /// pass; then drains the queued events. Events that arrived before the call end it at once.
    func wait(milliseconds: Int32? = nil) {
        foldersChanged = false
        for dir in missing { _ = watch(dir) }
        let limit = Int64(min(milliseconds ?? fallbackMilliseconds, fallbackMilliseconds))
        let deadline = monotonicNanos() + UInt64(max(0, limit)) * 1_000_000
        while true {
            let left = Int32(clamping: (Int64(deadline) - Int64(monotonicNanos())) / 1_000_000)
            guard left > 0 else { return }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, left)
            let woken = fds[1].revents != 0
            drain()
            if ready <= 0 || woken || relevant { return }
        }
    }

    /// Empties the event queue, noting whether any event created, moved or deleted a file.
    func drain() {
        relevant = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            #if os(Linux)
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let header = MemoryLayout<inotify_event>.size
                    let (mask, length, name) = buffer.withUnsafeBytes { raw -> (UInt32, Int, String) in
                        let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        let bytes = raw[(offset + header)..<min(n, offset + header + Int(e.len))]
                        return (e.mask, Int(e.len), String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
                    }
                    // An overflow lost events: treat it as a change to everything.
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 || wakes(name) {
                        relevant = true
                        if mask & UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_Q_OVERFLOW) != 0 { foldersChanged = true }
                    }
                    offset += header + length
                }
            #endif
        }
        var sink = [UInt8](repeating: 0, count: 64)
        while sink.withUnsafeMutableBytes({ read(wakePipe[0], $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Ends a `wait` in progress (or the next one) at once; safe from any thread.
    func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
    }
}
