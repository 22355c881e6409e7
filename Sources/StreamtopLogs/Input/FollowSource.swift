import Foundation
#if canImport(Glibc)
import Synchronization
    import Glibc
#endif

/// Follows files like `tail -F`: reads what is appended, survives rename- and copy-truncate rotation,
/// waits for files that do not exist yet, and keeps a partial last line until its newline arrives.
///
/// After a rename, the old file is still read for a grace period, because writers such as nginx keep
/// appending to it until they reopen their log.
public final class FollowSource: LineSource {
    /// One followed path.
    final class Follower {
        let path: String
        let index: Int
        var fd: Int32 = -1
        var inode: ino_t = 0
        var device: dev_t = 0
        var chunker: LineChunker
        /// The file that was renamed away, still read until `graceUntil`.
        var rotatedFd: Int32 = -1
        var rotatedChunker: LineChunker?
        var graceUntil: UInt64 = 0
        /// Older generations still to read after the rotated file, oldest first (found when a restart
        /// sees the log rotated more than once while streamtop was down).
        var backlog: [(fd: Int32, chunker: LineChunker)] = []
        /// The first bytes of the file as read (up to `headBytes`): a copy-truncate that regrows past the
        /// read position within one poll changes them, which the size alone cannot show.
        var head: [UInt8] = []
        /// Size and modification time at the last look, to skip the head check while nothing changed.
        var lastSize: Int64 = -1
        var lastModified = timespec()

        init(path: String, index: Int, chunker: LineChunker) {
            self.path = path
            self.index = index
            self.chunker = chunker
        }
    }

    /// Bytes of a file's head compared to detect a copy-truncate that regrew within one poll.
    static let headBytes = 512

    private var followers: [Follower]
    /// Patterns to look for new files with, and when they were last expanded.
    private let patterns: [String]
    private var lastExpansion: UInt64 = 0
    private let stopped = Atomic<Bool>(false)
    private let blockSize: Int
    private let maxLineBytes: Int
    /// Most files followed at once (from the open-file limit); later pattern matches beyond it are refused.
    private let maxFiles: Int
    let pollInterval: UInt32
    /// Wakes the source when a followed folder changes (nil where inotify is unavailable: then it polls).
    private let notifier = FileNotifier()
    /// When the files were last polled: after a wake-up the source waits out the rest of `pollInterval`,
    /// so a writer's many small writes arrive as one block per interval, not one per write.
    private var lastPoll: UInt64 = 0
    /// Set when a folder event created, moved or deleted a file: the patterns are expanded at once.
    private var expansionDue = false
    /// Seconds a renamed-away file is still read.
    public var rotationGrace: Double = 5
    /// Whether a stop hands out the partial last line of each file (a writer may be mid-line). A run that
    /// keeps checkpoints leaves it unread instead, so the resumed run reads the whole line once it ends.
    public var flushPartialLinesOnStop = true
    /// For a run nobody watches (headless): the shortest time between two reads of a growing file, in ms,
    /// while `watched` says nobody looks. Set before the source starts. A service instance then batches a
    /// followed file's lines once a second, as log shippers flush (Fluent Bit's default), and each longer
    /// block repeats fewer cache misses on the report's tables (benchmarks/idle.sh, 20 k lines/s, headless
    /// with /metrics scraped every second: 1.63–1.77 % of a core before, 1.47–1.67 % after).
    public var unwatched: (milliseconds: UInt32, watched: @Sendable () -> Bool)?
    /// Called (on the source thread) with a human-readable event: rotation, truncation, file appeared.
    public var onEvent: ((String) -> Void)?

    /// Per followed file (by source index), the span of it this run has read from, as far as it can be
    /// read again; nil once any file was rotated, truncated or resumed from a checkpoint (some of the run's
    /// lines are then no longer where its offsets say). Readable from any thread.
    public var readSpans: [Int: ReadSpan]? { spans.withLock { $0 } }
    private let spans = Locked<[Int: ReadSpan]?>([:])

    /// Notes where the run starts reading `f` (its first opening in this run).
    private func noteSpan(_ f: Follower, start: Int64) {
        let span = ReadSpan(path: f.path, device: f.device, inode: f.inode, start: start)
        spans.withLock { s in if s?[f.index] == nil { s?[f.index] = span } }
    }

    /// Some of the run's lines are no longer where their offsets say: drill-downs count from when they open.
    private func spoilSpans() { spans.withLock { $0 = nil } }

    /// Follows `paths`. With `fromStart`, existing content is read first; otherwise reading starts at the
    /// current end of each file, as `tail -F -n 0` does. `pollMilliseconds` is the shortest time between
    /// two reads of a growing file: appended lines are handed on at most that late, as one block per
    /// interval rather than one per write (the dashboard reads once a frame, 500 ms by default; headless, 200
    /// ms. At a steady 20 k lines/s, 200 ms blocks cost ~0.2 % of a core less than 100 ms ones, mostly cache
    /// misses on the report's tables, which a longer block repeats fewer of; a log shipper waits longer,
    /// Fluent Bit flushes once a second); without inotify it is also the polling interval. Throws when
    /// there are more files than the process may open (see `openFileBudget`).
    public init(paths: [String], fromStart: Bool = false, blockSize: Int = 256 * 1024, pollMilliseconds: UInt32 = 200, maxLineBytes: Int = LineChunker.defaultMaxLineBytes) throws {
        self.blockSize = blockSize
        self.maxLineBytes = maxLineBytes
        self.pollInterval = pollMilliseconds * 1000
        patterns = paths.filter(Glob.isPattern)
        let plain = paths.filter { !Glob.isPattern($0) }
        let matched = patterns.flatMap(Glob.expand).filter { !plain.contains($0) }
        let all = plain + matched
        let limit = FollowSource.openFileLimit()
        maxFiles = FollowSource.openFileBudget(limit: limit)
        guard all.count <= maxFiles else {
            throw SourceError("cannot follow \(all.count) files: the open-file limit allows \(maxFiles) (ulimit -n \(limit), less \(FollowSource.reservedDescriptors(limit: limit)) kept for streamtop itself); raise it with ulimit -n or follow fewer files")
        }
        followers = []  // every stored property set before `makeChunker` (a method) is called below
        followers = all.enumerated().map { Follower(path: $0.element, index: $0.offset, chunker: makeChunker($0.offset, $0.element)) }
        for path in all { notifier?.watchFolder(of: path) }
        // A pattern's folder, when the folder part has no wildcard, so that new matches wake the source.
        for pattern in patterns where !Glob.isPattern((pattern as NSString).deletingLastPathComponent) {
            notifier?.watchFolder(of: pattern, isPattern: true)
        }
        for f in followers {
            // A folder or a file that exists but cannot be read will not become readable by waiting: say so
            // now. A file that does not exist yet is waited for (tail -F).
            var st = stat()
            if stat(f.path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                throw SourceError("\(f.path) is a folder: give the log file, or a pattern like \(f.path)/*.log")
            }
            // Offsets stay absolute (a checkpoint records them): starting at the end starts the chunker there.
            if openFile(f) {
                if !fromStart { f.chunker.resume(offset: Int64(lseek(f.fd, 0, SEEK_END)), lines: 0) }
                noteSpan(f, start: f.chunker.offset)
            } else if errno != ENOENT {
                throw SourceError("cannot read \(f.path): \(String(cString: strerror(errno)))")
            }
        }
        missing.withLock { $0 = followers.filter { $0.fd < 0 }.map(\.path) }
        lastExpansion = monotonicNanos()
    }

    deinit {
        for f in followers {
            if f.fd >= 0 { close(f.fd) }
            if f.rotatedFd >= 0 { close(f.rotatedFd) }
            for b in f.backlog { close(b.fd) }
        }
    }

    public var label: String {
        let names = followers.map { $0.path.split(separator: "/").last.map(String.init) ?? $0.path }
        return "watch " + (names.count > 2 ? "\(names[0]) (+\(names.count - 1) more)" : names.joined(separator: ", "))
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
        notifier?.wake()
    }

    /// Bytes written to the followed files and not read yet (measured at most four times a second, on the
    /// source thread): how far behind its input the pipeline is. Readable from any thread.
    public var backlogBytes: Int64 { backlog.load(ordering: .relaxed) }
    private let backlog = Atomic<Int64>(0)
    private var lastBacklog: UInt64 = 0

    private func measureBacklog() {
        lastBacklog = lastPoll
        var behind: Int64 = 0
        var st = stat()
        for f in followers where f.fd >= 0 && fstat(f.fd, &st) == 0 {
            behind += max(0, Int64(st.st_size) - f.chunker.offset)
        }
        backlog.store(behind, ordering: .relaxed)
    }

    /// Followed files that do not exist (yet): waited for. Readable from any thread.
    public var missingPaths: [String] { missing.withLock { $0 } }
    private let missing = Locked<[String]>([])

    /// Whether `stop` was called.
    public var isStopped: Bool { stopped.load(ordering: .relaxed) }

    public func nextBlock() throws -> LineBlock? {
        while !stopped.load(ordering: .relaxed) {
            if let block = try pollOnce() { return block }
            pause(until: nil)
        }
        // Stopping: read what the files already hold (a writer may have appended since the last poll),
        // then hand out the held-back partial lines.
        if let block = try pollOnce() { return block }
        for f in followers {
            if let block = f.rotatedChunker?.flush() { return block }
            if flushPartialLinesOnStop, let block = f.chunker.flush() { return block }
        }
        return nil
    }

    /// Paths followed so far (patterns expanded).
    public var followedPaths: [String] { followers.map(\.path) }

    /// Looks for files that newly match a pattern (once a second) and follows them from their start.
    private func expandPatterns() {
        guard !patterns.isEmpty, expansionDue || monotonicNanos() &- lastExpansion > 1_000_000_000 else { return }
        expansionDue = false
        lastExpansion = monotonicNanos()
        let known = Set(followers.map(\.path))
        for path in patterns.flatMap(Glob.expand) where !known.contains(path) {
            guard followers.count < maxFiles else {
                if !warnedAboutLimit { onEvent?("not following \(path): already following \(followers.count) files, the most the open-file limit allows") }
                warnedAboutLimit = true
                continue
            }
            let f = Follower(path: path, index: followers.count, chunker: makeChunker(followers.count, path))
            followers.append(f)
            notifier?.watchFolder(of: path)
            if openFile(f) {
                noteSpan(f, start: 0)
                onEvent?("\(path) matches a followed pattern; following it from its start")
            }
        }
    }

    /// Checks every file once; returns the first block that is ready.
    func pollOnce() throws -> LineBlock? {
        // Events queued until now are answered by this poll; only later ones must end the next sleep.
        notifier?.drain()
        lastPoll = monotonicNanos()
        expandPatterns()
        if lastPoll &- lastBacklog >= 250_000_000 { measureBacklog() }
        for f in followers {
            if let block = try poll(f) { return block }
        }
        return nil
    }

    private func poll(_ f: Follower) throws -> LineBlock? {
        // The renamed-away file first: its lines are older.
        if f.rotatedFd >= 0, let rc = f.rotatedChunker {
            if case .block(let b) = try rc.read(from: f.rotatedFd) { return b }
            // A newer generation waits: this one is complete, no writer can add to it any more.
            if !f.backlog.isEmpty {
                close(f.rotatedFd)
                let next = f.backlog.removeFirst()
                (f.rotatedFd, f.rotatedChunker) = (next.fd, next.chunker)
                f.graceUntil = monotonicNanos() + UInt64(rotationGrace * 1e9)
                if let tail = rc.flush() { return tail }
                return try poll(f)
            }
            if monotonicNanos() > f.graceUntil {
                close(f.rotatedFd)
                f.rotatedFd = -1
                f.rotatedChunker = nil
                if let tail = rc.flush() { return tail }
            }
        }
        if f.fd < 0 {
            guard openFile(f) else { return nil }
            noteSpan(f, start: 0)
            missing.withLock { $0.removeAll { $0 == f.path } }
            onEvent?("\(f.path) appeared; following it")
        }
        if wasRewritten(f) {
            return restart(f, because: "\(f.path) was truncated and rewritten (its first bytes changed); reading from its start")
        }
        switch try f.chunker.read(from: f.fd) {
        case .block(let b):
            rememberHead(f)
            return b
        case .partial: return nil
        case .endOfData: break
        }
        var st = stat()
        if stat(f.path, &st) != 0 { return nil }  // renamed away, new one not there yet: keep the old fd
        if st.st_ino != f.inode || st.st_dev != f.device {
            // Rename rotation: keep draining the old file for a grace period, read the new one from its start.
            spoilSpans()
            if f.rotatedFd >= 0 { close(f.rotatedFd) }
            f.rotatedFd = f.fd
            f.rotatedChunker = f.chunker
            f.graceUntil = monotonicNanos() + UInt64(rotationGrace * 1e9)
            f.fd = -1
            let generation = f.chunker.generation + 1
            f.chunker = makeChunker(f.index, f.path)
            f.chunker.generation = generation
            if openFile(f) { onEvent?("\(f.path) was rotated (new inode); reading the new file") }
            return nil
        }
        var fst = stat()
        if fstat(f.fd, &fst) == 0 {
            let position = lseek(f.fd, 0, SEEK_CUR)
            if fst.st_size < position {
                // Copy-truncate: the file shrank under us; start over from its beginning.
                return restart(f, because: "\(f.path) was truncated; reading from its start")
            }
        }
        return nil
    }

    /// Starts the file over from its beginning (after a copy-truncate); returns the held-back partial line.
    private func restart(_ f: Follower, because event: String) -> LineBlock? {
        spoilSpans()
        lseek(f.fd, 0, SEEK_SET)
        let tail = f.chunker.flush()
        f.chunker.reset()
        f.head = []
        onEvent?(event)
        return tail
    }

    /// Detects a copy-truncate whose new content already reaches past the read position: the file's
    /// first bytes no longer match those read from it. Looks only when the size or mtime changed.
    private func wasRewritten(_ f: Follower) -> Bool {
        guard !f.head.isEmpty else { return false }
        var st = stat()
        guard fstat(f.fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        let size = Int64(st.st_size)
        if size == f.lastSize && st.st_mtim.tv_sec == f.lastModified.tv_sec && st.st_mtim.tv_nsec == f.lastModified.tv_nsec { return false }
        f.lastSize = size
        f.lastModified = st.st_mtim
        let count = f.head.count
        var now = [UInt8](repeating: 0, count: count)
        let n: Int = now.withUnsafeMutableBytes { buf in pread(f.fd, buf.baseAddress, count, 0) }
        return n != count || now != f.head
    }

    /// Keeps the first bytes of a regular file once they have been read (for `wasRewritten`).
    private func rememberHead(_ f: Follower) {
        guard f.head.count < FollowSource.headBytes else { return }
        let position = Int(lseek(f.fd, 0, SEEK_CUR))
        guard position > f.head.count else { return }
        let want = min(FollowSource.headBytes, position)
        var bytes = [UInt8](repeating: 0, count: want)
        let n: Int = bytes.withUnsafeMutableBytes { buf in pread(f.fd, buf.baseAddress, want, 0) }
        if n == want { f.head = bytes }
    }

    private func makeChunker(_ index: Int, _ path: String) -> LineChunker {
        LineChunker(sourceIndex: index, blockSize: blockSize, maxLineBytes: maxLineBytes, name: path)
    }

    private var warnedAboutLimit = false

    /// Descriptors kept free for everything else streamtop opens (outputs, the terminal, threads' pipes):
    /// a quarter of the limit, at most 64.
    public static func reservedDescriptors(limit: Int) -> Int { min(64, limit / 4) }

    /// The soft open-file limit, raised to the hard limit first (as many daemons do at start).
    public static func openFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
    }

    /// How many files can be followed: half of what is left after the reserve, since each followed file
    /// may hold a second descriptor for a renamed-away file during its grace period.
    public static func openFileBudget(limit: Int = openFileLimit()) -> Int {
        max(1, (limit - reservedDescriptors(limit: limit)) / 2)
    }

    private func openFile(_ f: Follower) -> Bool {
        let fd = open(f.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        var st = stat()
        fstat(fd, &st)
        f.fd = fd
        f.inode = st.st_ino
        f.device = st.st_dev
        return true
    }
}

/// Nanoseconds of a monotonic clock.
@inlinable
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

extension FollowSource {
    /// Polls every followed file once per interval until a block is ready or `seconds` pass; nil then.
    /// For tests and callers that must not block indefinitely.
    public func nextBlockOrNil(within seconds: Double) throws -> LineBlock? {
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        while monotonicNanos() < deadline && !isStopped {
            if let b = try pollOnce() { return b }
            pause(until: deadline)
        }
        return nil
    }

    /// Waits before the next poll: until a followed folder changes (at most the notifier's fallback, or
    /// the deadline), then out the rest of the poll interval since the last poll; without inotify, one
    /// poll interval.
    func pause(until deadline: UInt64?) {
        let interval = UInt64(unwatched.flatMap { $0.watched() ? nil : $0.milliseconds * 1000 } ?? pollInterval) * 1000
        if let notifier {
            let left = deadline.map { Int32(clamping: Int64($0 &- min($0, monotonicNanos())) / 1_000_000) }
            notifier.wait(milliseconds: left)
            if notifier.foldersChanged { expansionDue = true }
        }
        // The rest of the interval since the last poll, in slices, so that a stop is not kept waiting.
        let due = lastPoll &+ interval
        var now = monotonicNanos()
        while now < due && !isStopped {
            usleep(UInt32(min(due - now, 50_000_000) / 1000))
            now = monotonicNanos()
        }
    }
}

extension FollowSource: ResumableLineSource {
    public var isResumable: Bool { true }

    /// Each followed file's position, and that of a renamed-away file still being read.
    public func positions() -> [FilePosition] {
        var list: [FilePosition] = []
        for f in followers {
            if f.rotatedFd >= 0, let rc = f.rotatedChunker {
                list.append(position(f, fd: f.rotatedFd, chunker: rc, rotated: true))
            }
            if f.fd >= 0 { list.append(position(f, fd: f.fd, chunker: f.chunker, rotated: false)) }
        }
        return list
    }

    private func position(_ f: Follower, fd: Int32, chunker: LineChunker, rotated: Bool) -> FilePosition {
        let id = FilePosition.identity(fd: fd)
        return FilePosition(
            path: f.path, index: f.index, device: id.device, inode: id.inode, offset: chunker.offset,
            lines: chunker.linesHandedOut, skipping: chunker.skipping,
            fingerprint: FilePosition.fingerprint(fd: fd, offset: chunker.offset) ?? 0, rotated: rotated)
    }

    /// Resumes each file where the checkpoint left it, applying `watch`'s rotation rules to what happened
    /// while streamtop was down: a file renamed away (found by its inode beside the path) or copied and
    /// truncated (found by the fingerprint of what was read) is finished from the checkpoint's byte, and
    /// the new file is read from its start.
    public func resume(at positions: [FilePosition]) throws -> String {
        // The restored counts began in an earlier process, at bytes this one does not know.
        spoilSpans()
        var said: [String] = []
        for p in positions {
            guard let f = followers.first(where: { $0.path == p.path }) else {
                said.append("\(Escaped.text(p.path)) is no longer followed")
                continue
            }
            let name = Escaped.text(p.path)
            if p.rotated {
                if let (fd, found) = openMatching(p, besides: p.path, sameInode: true) {
                    startRotated(f, fd: fd, at: p)
                    said.append("the rotated \(Escaped.text(found)) at byte \(p.offset.formatted())")
                } else {
                    said.append("the rotated file of \(name) is gone (its lines after byte \(p.offset.formatted()) are lost)")
                }
                continue
            }
            if f.fd >= 0 {
                let id = FilePosition.identity(fd: f.fd)
                if id.device == p.device && id.inode == p.inode && p.matches(fd: f.fd) {
                    lseek(f.fd, off_t(p.offset), SEEK_SET)
                    f.chunker.resume(offset: p.offset, lines: p.lines, skipping: p.skipping)
                    said.append("\(name) at byte \(p.offset.formatted())")
                    continue
                }
                lseek(f.fd, 0, SEEK_SET)
                f.chunker.reset()
            }
            // The file at the path is not the one read, or no longer holds what was read: it was rotated
            // while streamtop was down. Finish the old content, wherever it went, then read the new file.
            let renamed = f.fd < 0 || FilePosition.identity(fd: f.fd) != (p.device, p.inode)
            if let (fd, found) = openMatching(p, besides: p.path, sameInode: renamed) {
                startRotated(f, fd: fd, at: p)
                let middle = queueGenerations(f, newerThan: fd, besides: found)
                let between = middle.isEmpty ? "" : ", then " + middle.map { Escaped.text($0) + " whole" }.joined(separator: ", ")
                said.append("\(Escaped.text(found)) from byte \(p.offset.formatted()) (\(name) was rotated while streamtop was down)\(between), then the new \(name) from its start")
            } else {
                said.append("\(name) from its start (it was \(renamed ? "replaced" : "truncated") while streamtop was down and what was read is nowhere beside it: lines written after byte \(p.offset.formatted()) before that are lost)")
            }
        }
        // A file the checkpoint has no position for appeared after it (a pattern's new match, or a path that
        // did not exist yet): all of it is new, so it is read from its start.
        let known = Set(positions.map(\.path))
        for f in followers where !known.contains(f.path) && f.fd >= 0 {
            lseek(f.fd, 0, SEEK_SET)
            f.chunker.reset()
            said.append("\(Escaped.text(f.path)) from its start (new since the checkpoint)")
        }
        return said.isEmpty ? "the followed files where they stood" : said.joined(separator: "; ")
    }

    /// Rotated generations written after the file the checkpoint was reading (their name starts with the
    /// log's, they changed after it did), queued oldest first to be read whole before the new file: a log
    /// rotated twice while streamtop was down leaves one between the old file and the new.
    private func queueGenerations(_ f: Follower, newerThan oldFD: Int32, besides old: String) -> [String] {
        var oldStat = stat(), current = stat()
        guard fstat(oldFD, &oldStat) == 0 else { return [] }
        let hasCurrent = stat(f.path, &current) == 0
        let dir = (f.path as NSString).deletingLastPathComponent
        let base = (f.path as NSString).lastPathComponent
        var found: [(path: String, time: timespec)] = []
        let compressed = [".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z"]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
        where name.hasPrefix(base + ".") && !compressed.contains(where: { name.hasSuffix($0) }) {
            let candidate = dir.isEmpty ? name : dir + "/" + name
            var st = stat()
            guard candidate != old, stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            guard st.st_ino != oldStat.st_ino || st.st_dev != oldStat.st_dev else { continue }
            if hasCurrent && st.st_ino == current.st_ino && st.st_dev == current.st_dev { continue }
            let newer = st.st_mtim.tv_sec > oldStat.st_mtim.tv_sec || (st.st_mtim.tv_sec == oldStat.st_mtim.tv_sec && st.st_mtim.tv_nsec > oldStat.st_mtim.tv_nsec)
            if newer { found.append((candidate, st.st_mtim)) }
        }
        found.sort { $0.time.tv_sec != $1.time.tv_sec ? $0.time.tv_sec < $1.time.tv_sec : $0.time.tv_nsec < $1.time.tv_nsec }
        var queued: [String] = []
        for g in found {
            let fd = open(g.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            f.backlog.append((fd, makeChunker(f.index, f.path)))
            queued.append(g.path)
        }
        return queued
    }

    private func startRotated(_ f: Follower, fd: Int32, at p: FilePosition) {
        if f.rotatedFd >= 0 { close(f.rotatedFd) }
        lseek(fd, off_t(p.offset), SEEK_SET)
        let chunker = makeChunker(f.index, f.path)
        chunker.resume(offset: p.offset, lines: p.lines, skipping: p.skipping)
        f.rotatedFd = fd
        f.rotatedChunker = chunker
        f.graceUntil = monotonicNanos() + UInt64(rotationGrace * 1e9)
    }

    /// Looks in the folder of `path` for the file the position was taken on: by inode (renamed away), or
    /// by the fingerprint of what was read (a copy made before a truncation). Returns it open.
    private func openMatching(_ p: FilePosition, besides path: String, sameInode: Bool) -> (Int32, String)? {
        let dir = (path as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        for name in names {
            let candidate = dir.isEmpty ? name : dir + "/" + name
            guard candidate != path else { continue }
            var st = stat()
            guard stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) >= p.offset else { continue }
            if sameInode && (UInt64(st.st_dev) != p.device || UInt64(st.st_ino) != p.inode) { continue }
            // A copy is looked for among the log's rotated names only (access.log.1, access.log-20261202):
            // another file that happens to start alike is not its copy.
            if !sameInode && !name.hasPrefix((path as NSString).lastPathComponent) { continue }
            let fd = open(candidate, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            if p.matches(fd: fd) { return (fd, candidate) }
            close(fd)
        }
        return nil
    }
}
