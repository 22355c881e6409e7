import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A state directory on disk: one folder per complete checkpoint, a lock that keeps a second process out.
///
/// Layout: `checkpoint-000042/` holds `state.bin` (the image) and `MANIFEST` (format version, number, time,
/// the hash seed of the run, the pipeline's shape, and the size and checksum of `state.bin`). A checkpoint
/// is written under a temporary name, every file and the folder fsynced, then renamed into place; the
/// previous one is deleted only after that, so a crash at any point leaves one complete checkpoint.
/// `LOCK` holds an exclusive `flock` and the owner's pid for as long as the process lives (the kernel
/// drops it when the process dies, even by SIGKILL).
public final class CheckpointStore: @unchecked Sendable {
    /// The directory.
    public let path: String
    /// The format version written and accepted. 3: the key hash changed (`ByteKeyCounter.hash`), and the
    /// state keeps hashes (visits per user, distinct-count sketches), so a version 2 image is refused.
    public static let version = 3
    private let lockFD: Int32
    /// The hash seed written into every manifest (a resumed run's is the checkpoint's).
    public var seed: UInt64
    private let writeLock = NSLock()

    /// A checkpoint read back, with what its manifest says.
    public struct Loaded: Sendable {
        /// The image.
        public var image: CheckpointImage
        /// The hash seed the checkpointed run used (its tables hold hashes made with it).
        public var seed: UInt64
    }

    /// Opens (creating it if needed) and locks the state directory; `seed` is written into every manifest.
    /// Throws one clear line when the directory cannot be created or written, or another process holds it.
    public init(path: String, seed: UInt64) throws {
        self.path = path
        self.seed = seed
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw CheckpointFailure("cannot create state directory \(path): \(Self.reason(error))")
            }
        } else if !isDir.boolValue {
            throw CheckpointFailure("state directory \(path) is not a directory")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw CheckpointFailure("cannot use state directory \(path): \(String(cString: strerror(errno)))")
        }
        let lockPath = path + "/LOCK"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointFailure("cannot use state directory \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 32, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw CheckpointFailure("state directory \(path) is in use by another streamtop (pid \(pid)); give each run its own --state")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        lockFD = fd
        // Leftovers of a write that was cut short.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(atPath: path + "/" + name)
        }
    }

    deinit { close(lockFD) }

    /// The numbers of the complete checkpoints in the directory, newest first.
    public func checkpointNumbers() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name -> Int? in
            // Exactly the names this store writes (checkpoint-000042): other folders are not its own.
            guard name.hasPrefix("checkpoint-"), let n = Int(name.dropFirst("checkpoint-".count)), n > 0,
                path + "/" + name == folder(n)
            else { return nil }
            return n
        }.sorted(by: >)
    }

    /// Whether a checkpoint folder holds only what this store writes (so deleting it destroys nothing else).
    func isOwn(_ number: Int) -> Bool {
        let dir = folder(number)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        guard Set(names).isSubset(of: ["MANIFEST", "state.bin"]) else { return false }
        guard names.contains("MANIFEST") else { return true }
        let head = (try? String(contentsOfFile: dir + "/MANIFEST", encoding: .utf8))?.prefix(20)
        return head.map { $0.hasPrefix("streamtop-checkpoint") } ?? true
    }

    /// Fails for a folder named like a checkpoint that holds something else.
    private func checkOwn(_ number: Int) throws {
        guard isOwn(number) else {
            throw CheckpointFailure("\(folder(number)) is not a streamtop checkpoint (it holds other files); move it away or give another --state")
        }
    }

    private func folder(_ number: Int) -> String { path + "/checkpoint-" + String(format: "%06d", number) }

    /// The newest checkpoint, checked (version, size, checksum) and decoded; nil when there is none. A
    /// damaged or foreign one is an error naming what is wrong, never skipped in silence.
    public func loadLatest() throws -> Loaded? {
        guard let number = checkpointNumbers().first else { return nil }
        try checkOwn(number)
        let dir = folder(number)
        let name = "checkpoint \(number) in \(path)"
        guard let manifestText = try? String(contentsOfFile: dir + "/MANIFEST", encoding: .utf8) else {
            throw CheckpointFailure("\(name) has no readable MANIFEST; use --fresh to start over")
        }
        var fields: [String: String] = [:]
        var lines = manifestText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == "streamtop-checkpoint \(Self.version)" else {
            throw CheckpointFailure("\(name) is of another format (\(lines.first.map { "'\($0.prefix(40))'" } ?? "empty"), this streamtop reads version \(Self.version)); use --fresh to start over")
        }
        lines.removeFirst()
        for line in lines where !line.isEmpty && !line.hasPrefix("shape ") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let data = FileManager.default.contents(atPath: dir + "/state.bin") else {
            throw CheckpointFailure("\(name) has no readable state.bin; use --fresh to start over")
        }
        let bytes = [UInt8](data)
        guard let size = fields["bytes"].flatMap(Int.init), size == bytes.count else {
            throw CheckpointFailure("\(name) is damaged: state.bin holds \(bytes.count) bytes, the manifest says \(fields["bytes"] ?? "nothing"); use --fresh to start over")
        }
        guard let seedText = fields["seed"], seedText.hasPrefix("0x"), let seed = UInt64(seedText.dropFirst(2), radix: 16) else {
            throw CheckpointFailure("\(name) is damaged: its manifest has no hash seed; use --fresh to start over")
        }
        // The seed is covered too: tables restored under another seed would count their keys wrong.
        guard let sum = fields["checksum"], sum == Self.hex(Self.checksum(bytes, seed: seed)) else {
            throw CheckpointFailure("\(name) is damaged: the checksum of state.bin and its seed does not match its manifest; use --fresh to start over")
        }
        let image: CheckpointImage
        do {
            image = try CheckpointImage(decoding: bytes)
        } catch {
            throw CheckpointFailure("\(name) is damaged (\(error)); use --fresh to start over")
        }
        guard image.number == number else {
            throw CheckpointFailure("\(name) is damaged: its state is checkpoint \(image.number); use --fresh to start over")
        }
        return Loaded(image: image, seed: seed)
    }

    /// Deletes every checkpoint (`--fresh`).
    public func removeAll() throws {
        for n in checkpointNumbers() { try checkOwn(n) }
        for n in checkpointNumbers() {
            do {
                try FileManager.default.removeItem(atPath: folder(n))
            } catch {
                throw CheckpointFailure("cannot remove the old checkpoint \(folder(n)): \(Self.reason(error))")
            }
        }
    }

    /// Writes an image durably and makes it the latest; returns its size in bytes. On failure (disk full,
    /// permission denied) the temporary folder is removed and the previous checkpoint stays the latest.
    public func write(_ image: CheckpointImage) -> Result<Int, CheckpointFailure> {
        writeLock.lock()
        defer { writeLock.unlock() }
        let bytes = image.encoded()
        let tmp = path + "/.tmp-" + String(format: "%06d", image.number)
        try? FileManager.default.removeItem(atPath: tmp)
        var manifest = "streamtop-checkpoint \(Self.version)\nnumber \(image.number)\n"
        manifest += "time \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: image.wallTime)))\n"
        manifest += "seed \(Self.hex(seed))\nfinal \(image.final)\nbytes \(bytes.count)\nchecksum \(Self.hex(Self.checksum(bytes, seed: seed)))\n"
        manifest += "position \(image.sourceSummary.replacingOccurrences(of: "\n", with: " "))\n"
        for line in image.shape { manifest += "shape \(line.replacingOccurrences(of: "\n", with: " "))\n" }
        do {
            guard mkdir(tmp, 0o755) == 0 else { throw CheckpointFailure(String(cString: strerror(errno))) }
            try Self.writeSynced(tmp + "/state.bin", bytes)
            try Self.writeSynced(tmp + "/MANIFEST", Array(manifest.utf8))
            try Self.syncFolder(tmp)
            let final = folder(image.number)
            try? FileManager.default.removeItem(atPath: final)
            guard rename(tmp, final) == 0 else { throw CheckpointFailure(String(cString: strerror(errno))) }
            try Self.syncFolder(path)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            return .failure(CheckpointFailure("cannot write checkpoint \(image.number) to \(path): \(error)"))
        }
        for n in checkpointNumbers() where n != image.number && isOwn(n) {
            try? FileManager.default.removeItem(atPath: folder(n))
        }
        return .success(bytes.count + manifest.utf8.count)
    }

    private static func writeSynced(_ file: String, _ bytes: [UInt8]) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointFailure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CheckpointFailure(n == 0 ? "nothing written" : String(cString: strerror(errno))) }
            done += n
        }
        guard fsync(fd) == 0 else { throw CheckpointFailure(String(cString: strerror(errno))) }
    }

    private static func syncFolder(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointFailure(String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fsync(fd)
    }

    /// A 64-bit checksum of the state and the seed, 8 bytes at a time (a damaged byte anywhere changes it).
    public static func checksum(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        var h: UInt64 = (0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)) &* 0xFF51_AFD7_ED55_8CCD ^ seed
        bytes.withUnsafeBytes { raw in
            var i = 0
            while i + 8 <= raw.count {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 32
                i += 8
            }
            while i < raw.count {
                h = (h ^ UInt64(raw[i])) &* 0xC4CE_B9FE_1A85_EC53
                i += 1
            }
        }
        return h ^ (h >> 29)
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
