import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Where malformed lines go: counted per reason, the most recent kept in memory for inspection, and all
/// optionally appended to a rejects file with their source and line number.
///
/// The rejects file is for people (`cat`, `less`), so its lines are escaped (`Escaped`: control bytes as
/// `\xHH`, a backslash doubled) unless the run asked for raw bytes. Lines kept in memory are cut to
/// `keptBytes` (a "line too long" can be 64 KiB).
/// Thread-safe; touched only for malformed lines, never for good ones.
public final class Quarantine: @unchecked Sendable {
    /// One rejected line.
    public struct Rejected: Sendable {
        /// Index of the input it came from.
        public var source: Int
        /// 1-based line number in that input.
        public var line: Int
        /// Why it was rejected.
        public var reason: MalformedReason
        /// The raw bytes (untrusted: sanitize before display).
        public var bytes: [UInt8]
        /// For a partitioned source (a Kafka topic): the partition and offset of the line's message, which
        /// find it again (`kafka-console-consumer --partition P --offset O`); -1 otherwise.
        public var partition = -1
        public var offset: Int64 = -1

        /// Creates a rejected line's record.
        public init(source: Int, line: Int, reason: MalformedReason, bytes: [UInt8]) {
            self.source = source
            self.line = line
            self.reason = reason
            self.bytes = bytes
        }

        /// Where the line is, given the inputs' names: `access.log:42`, or `logs#3@1200` for partition 3,
        /// offset 1,200 of a topic.
        public func place(_ names: [String]) -> String {
            let name = source < names.count ? names[source] : "input\(source)"
            return partition >= 0 ? "\(name)#\(partition)@\(offset)" : "\(name):\(line)"
        }
    }

    private struct State {
        var counts = [Int](repeating: 0, count: MalformedReason.allCases.count)
        var recent: [Rejected] = []
    }

    private let state = Locked(State())
    private let capacity: Int
    /// The rejects file, if any (its write failures are its own to report).
    public let file: OutputFile?
    private let sourceNames: [String]
    private let raw: Bool
    /// Bytes of a rejected line kept in memory for the dashboard.
    public static let keptBytes = 4096

    /// Keeps the last `capacity` rejected lines; with `rejectsPath`, appends every one to that file as
    /// `source:line: reason: <line>` (escaped, or the line's own bytes with `raw`). The path is claimed
    /// from `outputs` first, so a rejects file can never be one of the inputs.
    public init(capacity: Int = 200, rejectsPath: String? = nil, sourceNames: [String] = [], raw: Bool = false, outputs: OutputGuard? = nil) throws {
        self.capacity = capacity
        self.sourceNames = sourceNames.map(Escaped.text)
        self.raw = raw
        if let path = rejectsPath {
            try outputs?.claim(path, what: "rejects file")
            file = try OutputFile(path, what: "rejects file", mode: .append)
        } else {
            file = nil
        }
    }

    /// Cuts a rejected line's bytes to what is kept in memory.
    public static func kept(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        Array(bytes.prefix(keptBytes))
    }

    /// Records the malformed lines of one block (called by the parse task).
    public func add(_ items: [Rejected]) {
        guard !items.isEmpty else { return }
        state.withLock { s in
            for r in items { s.counts[r.reason.rawValue] += 1 }
            for r in items.suffix(capacity) {
                var kept = r
                if kept.bytes.count > Quarantine.keptBytes { kept.bytes.removeLast(kept.bytes.count - Quarantine.keptBytes) }
                s.recent.append(kept)
            }
            if s.recent.count > capacity { s.recent.removeFirst(s.recent.count - capacity) }
        }
        if let file {
            var out: [UInt8] = []
            for r in items {
                out.append(contentsOf: Array("\(r.place(sourceNames)): \(r.reason.key): ".utf8))
                out.append(contentsOf: raw ? r.bytes : Escaped.bytes(r.bytes))
                out.append(0x0A)
            }
            file.write(out)
        }
    }

    /// Malformed lines per reason.
    public func counts() -> [MalformedReason: Int] {
        state.withLock { s in
            var d: [MalformedReason: Int] = [:]
            for r in MalformedReason.allCases where s.counts[r.rawValue] > 0 { d[r] = s.counts[r.rawValue] }
            return d
        }
    }

    /// Writes the counts, the lines kept for the dashboard and the rejects file's length (for a checkpoint).
    public func saveState(_ w: inout StateWriter) {
        state.withLock { s in
            w.numbers(s.counts.map { Int64($0) })
            w.int(s.recent.count)
            for r in s.recent {
                w.int(r.source)
                w.int(r.line)
                w.int(r.partition)
                w.i64(r.offset)
                w.int(r.reason.rawValue)
                w.bytes(r.bytes)
            }
        }
        let id = file?.identity ?? (device: 0, inode: 0)
        w.string(file?.path ?? "")
        w.u64(id.device)
        w.u64(id.inode)
        w.i64(file?.length ?? -1)
    }

    /// Restores saved counts and cuts the rejects file back to its length at the checkpoint.
    public func restoreState(_ r: inout StateReader) throws {
        let counts = try r.numbers(Int64.self).map { Int($0) }
        try r.check(counts.count == MalformedReason.allCases.count, "malformed reasons differ")
        let n = try r.count(max: 1 << 20)
        var recent: [Rejected] = []
        for _ in 0..<n {
            let source = try r.int(), line = try r.int(), partition = try r.int(), offset = try r.i64()
            guard let reason = MalformedReason(rawValue: try r.int()) else { throw StateReader.Damaged("unknown malformed reason") }
            var item = Rejected(source: source, line: line, reason: reason, bytes: try r.bytes())
            item.partition = partition
            item.offset = offset
            recent.append(item)
        }
        let path = try r.string(), device = try r.u64(), inode = try r.u64()
        let length = try r.i64()
        if let file {
            guard length >= 0 else {
                throw SourceError("the checkpoint kept no rejects file, this run writes \(Escaped.text(file.path)): give the same outputs, or use --fresh")
            }
            try file.checkResume(path: path, device: device, inode: inode, length: length)
        }
        state.withLock { s in
            s.counts = counts
            s.recent = recent
        }
    }

    /// Cuts the rejects file back to the checkpoint (after every task accepted it).
    public func commitRestore() throws { try file?.commitResume() }

    /// The most recent rejected lines, oldest first.
    public func recent() -> [Rejected] { state.withLock { $0.recent } }
}
