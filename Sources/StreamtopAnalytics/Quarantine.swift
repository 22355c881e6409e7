import Foundation
import StreamtopLogs
import Synchronization

/// Where malformed lines go: counted per reason, the most recent kept in memory for inspection, and all
/// optionally appended to a rejects file with their source and line number.
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
    }

    private struct State {
        var counts = [Int](repeating: 0, count: MalformedReason.allCases.count)
        var recent: [Rejected] = []
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let file: FileHandle?
    private let sourceNames: [String]

    /// Keeps the last `capacity` rejected lines; with `rejectsPath`, appends every one to that file as
    /// `source:line: reason: <line>`.
    public init(capacity: Int = 200, rejectsPath: String? = nil, sourceNames: [String] = []) throws {
        self.capacity = capacity
        self.sourceNames = sourceNames
        if let path = rejectsPath {
            file = try OutputFile.open(path, what: "rejects file")
        } else {
            file = nil
        }
    }

    /// Records the malformed lines of one block (called by the parse task).
    public func add(_ items: [Rejected]) {
        guard !items.isEmpty else { return }
        state.withLock { s in
            for r in items { s.counts[r.reason.rawValue] += 1 }
            s.recent.append(contentsOf: items.suffix(capacity))
            if s.recent.count > capacity { s.recent.removeFirst(s.recent.count - capacity) }
        }
        if let file {
            var out = Data()
            for r in items {
                let name = r.source < sourceNames.count ? sourceNames[r.source] : "input\(r.source)"
                out.append(contentsOf: Array("\(name):\(r.line): \(r.reason.key): ".utf8))
                out.append(contentsOf: r.bytes)
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

    /// The most recent rejected lines, oldest first.
    public func recent() -> [Rejected] { state.withLock { $0.recent } }
}
