#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Synchronization

/// A file streamtop writes (results, rejects, snapshots), written with write(2) so that a failure is a
/// value, never a trap: Foundation's `FileHandle.write(_:)` ends the process on `ENOSPC`.
///
/// Each `write` hands over whole lines. When one fails part-way, a regular file is cut back to the end of
/// the last whole write, so a full disk never leaves a torn line; the failure is counted and reported once
/// through `onFailure` (with the file and the system's reason), and later writes are tried again.
/// Thread-safe.
public final class OutputFile: @unchecked Sendable {
    /// How an existing file is treated when opened.
    public enum Mode: Sendable {
        /// Start empty (results, snapshots: a run's outputs describe that run).
        case truncate
        /// Keep what is there and add to it (rejects: a record across runs).
        case append
    }

    private struct State {
        var failures = 0
        var lastError: String?
        var reported = false
        /// Bytes in the file after the last whole write (regular files).
        var position: Int64 = 0
        /// The length a checked checkpoint asks to cut back to (`checkResume`, then `commitResume`).
        var resumeLength: Int64?
    }

    /// The path as given.
    public let path: String
    /// What the file is, for messages (`results file`).
    public let what: String
    private let fd: Int32
    private let owned: Bool
    private let regular: Bool
    private let state = Locked(State())
    /// Called once, on the first failed write, with a one-line message naming the file and the reason.
    public var onFailure: (@Sendable (String) -> Void)?

    /// Opens `path` with open(2): unlike `FileManager.createFile`, which writes a new file and renames it
    /// over the old one, this keeps FIFOs and devices such as /dev/null. `what` names the file in errors.
    public init(_ path: String, what: String, mode: Mode = .truncate) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == .append ? O_APPEND : O_TRUNC)
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw SourceError("cannot write \(what) \(Escaped.text(path)): \(String(cString: strerror(errno)))") }
        self.path = path
        self.what = what
        self.fd = fd
        owned = true
        var st = stat()
        regular = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        let end = lseek(fd, 0, SEEK_END)
        state.withLock { $0.position = max(0, Int64(end)) }
    }

    /// Writes to an already open descriptor (standard output), which stays open.
    public init(descriptor: Int32, name: String, what: String) {
        path = name
        self.what = what
        fd = descriptor
        owned = false
        regular = false
    }

    deinit { if owned { close(fd) } }

    /// Writes `bytes` whole, or cuts the file back and records the failure. Returns whether it was written.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Writes the UTF-8 of `text`.
    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Writes raw bytes; see `write(_: [UInt8])`.
    @discardableResult
    public func write(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return true }
        var message: String?
        let ok = state.withLock { s -> Bool in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(fd, base + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    let reason = n == 0 ? "nothing written" : String(cString: strerror(errno))
                    // Keep the file made of whole writes: drop the part of this one that got through.
                    if regular && done > 0 { _ = ftruncate(fd, off_t(s.position)) }
                    s.failures += 1
                    s.lastError = reason
                    if !s.reported {
                        s.reported = true
                        message = "cannot write \(what) \(Escaped.text(path)): \(reason)"
                    }
                    return false
                }
                done += n
            }
            s.position += Int64(done)
            return true
        }
        if let message { onFailure?(message) }
        return ok
    }

    /// Bytes in the file after the last whole write (for a checkpoint: a resumed run cuts back to it).
    public var length: Int64 { state.withLock { $0.position } }

    /// Whether the output is a regular file (which can be cut back), not a pipe, device or terminal.
    public var isRegularFile: Bool { regular }

    /// Whether this is a descriptor streamtop did not open (standard output), which a restart cannot cut back.
    public var isInherited: Bool { !owned }

    /// The file's device and inode (zero for a descriptor such as standard output).
    public var identity: (device: UInt64, inode: UInt64) {
        var st = stat()
        guard owned, fstat(fd, &st) == 0 else { return (0, 0) }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Checks that this is the file a checkpoint wrote (same path, same file) and that it still holds the
    /// `length` bytes written then, and keeps that length for `commitResume`; changes nothing on disk.
    /// Throws one line naming what differs.
    public func checkResume(path saved: String, device: UInt64, inode: UInt64, length: Int64) throws {
        guard regular else { return }
        guard saved == path else {
            throw SourceError("the checkpoint wrote the \(what) to \(Escaped.text(saved)), this run to \(Escaped.text(path)): give the same outputs, or use --fresh")
        }
        let id = identity
        guard id.device == device && id.inode == inode else {
            throw SourceError("\(what) \(Escaped.text(path)) is not the file the checkpoint wrote (it was deleted or replaced since): use --fresh to start over")
        }
        let end = state.withLock { _ in lseek(fd, 0, SEEK_END) }
        guard end >= length else {
            throw SourceError("\(what) \(Escaped.text(path)) holds \(end) bytes but the checkpoint recorded \(length): it was changed since; use --fresh to start over")
        }
        state.withLock { $0.resumeLength = length }
    }

    /// Cuts the file back to the length `checkResume` accepted (once every part of a restore was accepted).
    public func commitResume() throws {
        guard let length = state.withLock({ s -> Int64? in defer { s.resumeLength = nil }; return s.resumeLength }) else { return }
        try truncate(to: length)
    }

    /// Cuts a regular file back to `length` bytes, so a resumed run writes on from its checkpoint and no
    /// row is there twice. Throws when the file is shorter (changed since) or cannot be cut.
    public func truncate(to length: Int64) throws {
        guard regular else { return }
        try state.withLock { s in
            let end = lseek(fd, 0, SEEK_END)
            guard end >= length else {
                throw SourceError("\(what) \(Escaped.text(path)) holds \(end) bytes but the checkpoint recorded \(length): it was changed since")
            }
            guard ftruncate(fd, off_t(length)) == 0 else {
                throw SourceError("cannot cut \(what) \(Escaped.text(path)) back to its checkpoint: \(String(cString: strerror(errno)))")
            }
            s.position = length
        }
    }

    /// Writes that failed so far.
    public var failures: Int { state.withLock { $0.failures } }

    /// The system's reason for the last failed write, if any.
    public var lastError: String? { state.withLock { $0.lastError } }

    /// A one-line summary of the failures, or nil when every write succeeded.
    public var failureSummary: String? {
        state.withLock { s in
            guard s.failures > 0 else { return nil }
            return "\(s.failures) write\(s.failures == 1 ? "" : "s") to \(what) \(Escaped.text(path)) failed (last: \(s.lastError ?? "?"))"
        }
    }
}

/// Refuses outputs that would destroy an input or another output of the same run: the same file (device
/// and inode) or, for files that do not exist yet, the same absolute path, or a path a followed pattern
/// would pick up. Created once per run by the command line, before any output is opened.
public final class OutputGuard: @unchecked Sendable {
    struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private let lock = NSLock()
    /// Set when the run resumes from a checkpoint: results files are then kept (and cut back to the
    /// checkpoint by the tasks that restore their state) instead of emptied.
    public var resuming = false
    /// librdkafka client settings (`--kafka-option`) for results sent to Kafka topics.
    public var kafkaSettings: [String] = []
    private var inputIDs: [Identity: String] = [:]
    private var inputPaths: [String: String] = [:]
    private var inputPatterns: [String] = []
    private var outputIDs: [Identity: String] = [:]
    private var outputPaths: [String: String] = [:]

    /// A guard protecting `inputs` (paths, `-`, or patterns).
    public init(inputs: [String]) {
        for p in inputs where p != "-" {
            if Glob.isPattern(p) && !FileManager.default.fileExists(atPath: p) {
                inputPatterns.append(OutputGuard.absolute(p))
                for m in Glob.expand(p) { addInput(m) }
            } else {
                addInput(p)
            }
        }
    }

    private func addInput(_ p: String) {
        if let id = OutputGuard.identity(p) { inputIDs[id] = p }
        inputPaths[OutputGuard.absolute(p)] = p
    }

    /// Claims `path` for an output described by `what`; throws when it is an input or already claimed.
    /// `-` (standard output) and character devices such as /dev/null may be shared.
    public func claim(_ path: String, what: String) throws {
        lock.lock()
        defer { lock.unlock() }
        if path == "-" || OutputGuard.isDevice(path) { return }
        let abs = OutputGuard.absolute(path)
        let shown = Escaped.text(path)
        if let id = OutputGuard.identity(path), let input = inputIDs[id] {
            throw SourceError("refusing to write \(what) \(shown): it is the input \(Escaped.text(input)), which would be destroyed")
        }
        if let input = inputPaths[abs] {
            throw SourceError("refusing to write \(what) \(shown): it is the input \(Escaped.text(input))")
        }
        for pattern in inputPatterns where fnmatch(pattern, abs, FNM_PATHNAME) == 0 {
            throw SourceError("refusing to write \(what) \(shown): it matches the followed pattern \(Escaped.text(pattern)) and would be read back as input")
        }
        if let id = OutputGuard.identity(path), let other = outputIDs[id] {
            throw SourceError("refusing to write \(what) \(shown): \(other) already writes that file")
        }
        if let other = outputPaths[abs] {
            throw SourceError("refusing to write \(what) \(shown): \(other) already writes that file")
        }
        if let id = OutputGuard.identity(path) { outputIDs[id] = what }
        outputPaths[abs] = what
    }

    static func identity(_ path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    static func isDevice(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    /// An absolute, normalised path; the directory is resolved through symbolic links when it exists.
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let dir = (full as NSString).deletingLastPathComponent
        let name = (full as NSString).lastPathComponent
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(dir, &resolved) != nil {
            let d = String(decoding: resolved.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return (d == "/" ? "" : d) + "/" + name
        }
        return (full as NSString).standardizingPath
    }
}
