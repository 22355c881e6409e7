import Foundation
import StreamtopLogs

/// Where an analytics task's results go, as they are produced:
/// - `results`: NDJSON (one object per line; `.ndjson`, `.jsonl`, `-` for stdout) or CSV (`.csv`, a header
///   line then one line per row). Each row is one `write` of a whole line, so a killed run leaves whole lines.
/// - `snapshot`: a JSON document with the task's latest rows, replaced atomically (temporary file renamed into
///   place) at most once a second while running and once more at the end, so it is never half written.
public final class ResultSink: @unchecked Sendable {
    /// How results are written.
    public enum Format: String, Sendable { case ndjson, csv }

    private let handle: FileHandle?
    private let format: Format
    private var header: [String]?
    private let snapshotPath: String?
    private let snapshotKeep: Int
    private var recent: [ResultRow] = []
    private var lastSnapshot = Date.distantPast
    private let task: String
    private let lock = NSLock()
    /// Rows written.
    public private(set) var written = 0

    /// A sink for task `task`: `results` is a path (format from its extension, or `format`), `-`, or nil;
    /// `snapshot` a path for the JSON snapshot keeping the last `keep` rows, or nil.
    public init(task: String, results: String?, format: Format? = nil, snapshot: String? = nil, keep: Int = 10_000) throws {
        self.task = task
        self.snapshotPath = snapshot
        self.snapshotKeep = max(1, keep)
        self.format = format ?? (results.map { $0.lowercased().hasSuffix(".csv") ? .csv : .ndjson } ?? .ndjson)
        switch results {
        case nil: handle = nil
        case "-": handle = FileHandle.standardOutput
        case let path?:
            handle = try OutputFile.open(path, what: "results file")
        }
        if let s = snapshot {
            // Fail now rather than at the end of a long run.
            let dir = (s as NSString).deletingLastPathComponent
            guard FileManager.default.isWritableFile(atPath: dir.isEmpty ? "." : dir) else { throw SourceError("cannot write snapshot file \(s)") }
        }
    }

    /// Writes rows.
    public func write(_ rows: [ResultRow]) {
        guard !rows.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        if let h = handle {
            var text = ""
            for row in rows {
                switch format {
                case .ndjson:
                    text += row.json + "\n"
                case .csv:
                    if header == nil {
                        header = row.names
                        text += row.names.joined(separator: ",") + "\n"
                    }
                    text += row.csvLine(header: header!) + "\n"
                }
            }
            h.write(Data(text.utf8))
        }
        written += rows.count
        if snapshotPath != nil {
            recent.append(contentsOf: rows)
            if recent.count > snapshotKeep { recent.removeFirst(recent.count - snapshotKeep) }
            if Date().timeIntervalSince(lastSnapshot) >= 1 { writeSnapshot(final: false) }
        }
    }

    /// Writes the final snapshot (also when no row was produced).
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        if snapshotPath != nil { writeSnapshot(final: true) }
    }

    private func writeSnapshot(final: Bool) {
        guard let path = snapshotPath else { return }
        lastSnapshot = Date()
        var doc = ResultRow()
        doc.set("task", .string(task))
        doc.set("complete", .bool(final))
        doc.set("rows_written", .int(Int64(written)))
        doc.set("rows", .list(recent.map { .object($0) }))
        do {
            try Data((doc.json + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            FileHandle.standardError.write(Data("streamtop: cannot write \(path): \(error.localizedDescription)\n".utf8))
        }
    }
}
