import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where reading a file stood at a checkpoint: which file (path, device and inode), how far (bytes and
/// lines handed out), and a fingerprint of the bytes before that point, so that a resumed run can tell
/// the same file from one that was truncated, replaced or rewritten while it was down.
public struct FilePosition: Sendable, Equatable {
    /// The path as given on the command line.
    public var path: String
    /// The input's index in the run's list.
    public var index: Int
    /// The file's identity when the checkpoint was taken.
    public var device: UInt64
    public var inode: UInt64
    /// Bytes handed out (of the decompressed stream for a gzip file).
    public var offset: Int64
    /// Physical lines handed out (for line numbers in rejects).
    public var lines: Int
    /// Whether the tail of an over-long line was being skipped.
    public var skipping: Bool
    /// `FilePosition.fingerprint` of the file at `offset`.
    public var fingerprint: UInt64
    /// Whether this is a renamed-away file still being read (a rotation in progress).
    public var rotated = false

    /// Creates a position.
    public init(path: String, index: Int, device: UInt64, inode: UInt64, offset: Int64, lines: Int, skipping: Bool, fingerprint: UInt64, rotated: Bool = false) {
        self.path = path
        self.index = index
        self.device = device
        self.inode = inode
        self.offset = offset
        self.lines = lines
        self.skipping = skipping
        self.fingerprint = fingerprint
        self.rotated = rotated
    }

    /// Bytes hashed at each end of what was read.
    static let fingerprintBytes = 4096

    /// A hash of a file's first bytes and of the bytes just before `offset` (4 KiB each at most), read
    /// with pread (the read position does not move); nil when the file holds fewer than `offset` bytes.
    /// Cheap at any offset, and it catches what matters: a file replaced by another (the head differs), or
    /// truncated and rewritten past the offset (the bytes before it differ).
    public static func fingerprint(fd: Int32, offset: Int64) -> UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0, Int64(st.st_size) >= offset else { return nil }
        let n = Int(min(offset, Int64(fingerprintBytes)))
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bitPattern: offset)
        var buffer = [UInt8](repeating: 0, count: n)
        for start in Set([0, offset - Int64(n)]).sorted() where n > 0 {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(start)) }
            guard got == n else { return nil }
            for b in buffer { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        }
        return h
    }

    /// The identity of an open file.
    public static func identity(fd: Int32) -> (device: UInt64, inode: UInt64) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (0, 0) }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Whether `fd` holds the same bytes before `offset` as when this position was taken.
    public func matches(fd: Int32) -> Bool { FilePosition.fingerprint(fd: fd, offset: offset) == fingerprint }
}

/// A line source whose read position a checkpoint can keep and a restarted run resume.
public protocol ResumableLineSource: LineSource {
    /// Whether the position can be resumed (not for standard input).
    var isResumable: Bool { get }
    /// Where reading stands after the last block handed out (call between `nextBlock` calls).
    func positions() -> [FilePosition]
    /// Moves to saved positions before reading starts; returns what it did, in words. Throws when an input
    /// no longer holds what was read from it (replay); a followed file applies the rotation rules instead.
    func resume(at positions: [FilePosition]) throws -> String
    /// Where reading stands, in words (`access.log at byte 271,033,120`).
    func describe(_ positions: [FilePosition]) -> String
}

extension ResumableLineSource {
    /// Files: name and byte offset of each.
    public func describe(_ positions: [FilePosition]) -> String {
        positions.map { p in
            "\(Escaped.text((p.path as NSString).lastPathComponent)) at byte \(p.offset.formatted())\(p.rotated ? " (rotated)" : "")"
        }.joined(separator: ", ")
    }
}
