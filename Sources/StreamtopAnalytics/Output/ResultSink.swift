import Foundation
import StreamtopEngine
import StreamtopKafka
import StreamtopLogs

/// Where an analytics task's results go, as they are produced:
/// - `results`: NDJSON (one object per line; `.ndjson`, `.jsonl`, `-` for stdout) or CSV (`.csv`, a header
///   line then one line per row). Each row is one `write` of a whole line, so a killed run leaves whole lines.
/// - `snapshot`: a JSON document with the task's latest rows, replaced atomically (temporary file renamed into
///   place) at most once a second while running and once more at the end, so it is never half written.
///
/// - `results` may also be a topic, `kafka://HOST:PORT/TOPIC`: one message per row (`KafkaResultWriter`).
///
/// Both files are replaced at the start of a run. A write that fails (disk full, a closed pipe) never ends the run:
/// it is reported once through `onFailure` and counted in `failures`, and the results file keeps whole lines.
public final class ResultSink: @unchecked Sendable {
    /// How results are written.
    public enum Format: String, Sendable { case ndjson, csv }

    private let handle: OutputFile?
    private let topic: KafkaResultWriter?
    private var topicFailed = false
    /// Snapshot replacements that failed.
    private var snapshotFailures = 0
    private var snapshotError: String?
    /// Called once per file with a one-line message when writing it first fails.
    public var onFailure: (@Sendable (String) -> Void)? {
        didSet { handle?.onFailure = onFailure }
    }
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
    /// Paths are claimed from `outputs` first, so that a results or snapshot file is never an input nor
    /// another output of the run.
    public init(task: String, results: String?, format: Format? = nil, snapshot: String? = nil, keep: Int = 10_000, outputs: OutputGuard? = nil) throws {
        self.task = task
        self.snapshotPath = snapshot
        self.snapshotKeep = max(1, keep)
        self.format = format ?? (results.map { $0.lowercased().hasSuffix(".csv") ? .csv : .ndjson } ?? .ndjson)
        if let r = results, !KafkaAddress.isKafka(r) { try outputs?.claim(r, what: "results of task '\(task)'") }
        if let s = snapshot {
            guard s != "-" else { throw SourceError("snapshot of task '\(task)' needs a file name ('-' is for results)") }
            try outputs?.claim(s, what: "snapshot of task '\(task)'")
            // Fail now rather than at the end of a long run.
            let dir = (s as NSString).deletingLastPathComponent
            guard FileManager.default.isWritableFile(atPath: dir.isEmpty ? "." : dir) else { throw SourceError("cannot write snapshot file \(Escaped.text(s)): its folder is not writable") }
        }
        if let r = results, KafkaAddress.isKafka(r) {
            topic = try KafkaResultWriter(try KafkaAddress(parsing: r), settings: outputs?.kafkaSettings ?? [])
            handle = nil
            return
        }
        topic = nil
        switch results {
        case nil: handle = nil
        case "-": handle = OutputFile(descriptor: 1, name: "standard output", what: "results of task '\(task)'")
        case let path?:
            handle = try OutputFile(path, what: "results file", mode: outputs?.resuming == true ? .append : .truncate)
        }
    }

    /// Writes that failed (results lines and snapshot replacements).
    public var failures: Int {
        lock.lock()
        defer { lock.unlock() }
        return (handle?.failures ?? 0) + snapshotFailures
    }

    /// One line per file that failed, for the end of a run.
    public var failureSummaries: [String] {
        lock.lock()
        defer { lock.unlock() }
        var out: [String] = []
        if let s = handle?.failureSummary { out.append(s) }
        if snapshotFailures > 0, let path = snapshotPath {
            out.append("\(snapshotFailures) replacement\(snapshotFailures == 1 ? "" : "s") of snapshot file \(Escaped.text(path)) failed (last: \(snapshotError ?? "?"))")
        }
        return out
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
                    row.write(into: &text)
                    text += "\n"
                case .csv:
                    if header == nil {
                        header = row.names
                        text += row.names.joined(separator: ",") + "\n"
                    }
                    text += row.csvLine(header: header!) + "\n"
                }
            }
            h.write(text)
        }
        if let topic { send(rows, to: topic) }
        written += rows.count
        if snapshotPath != nil {
            recent.append(contentsOf: rows)
            if recent.count > snapshotKeep { recent.removeFirst(recent.count - snapshotKeep) }
            if Date().timeIntervalSince(lastSnapshot) >= 1 { writeSnapshot(final: false) }
        }
    }

    /// Waits (up to 10 s) until the rows sent to a topic are delivered: called before a Kafka source
    /// commits offsets that the rows' windows held (a file's rows are written when written).
    public func deliver() {
        lock.lock()
        defer { lock.unlock() }
        if let topic, let failure = topic.flush(timeoutSeconds: 10) { failed(failure) }
    }

    private func send(_ rows: [ResultRow], to topic: KafkaResultWriter) {
        for row in rows {
            var value = ResultRow()
            value.set("task", .string(task))
            for name in row.names { value.set(name, row[name]!) }
            if let failure = topic.send(key: Self.key(task: task, row), value: value.json) { failed(failure) }
        }
        if let failure = topic.poll() { failed(failure) }
    }

    /// A row's message key: the task, the window start and the row's group key (the text columns that
    /// name what the row counts: a group's `by` values, a user), so each row of a window has its own.
    static func key(task: String, _ row: ResultRow) -> String {
        var parts = [task]
        if case .string(let s)? = row["window_start"] { parts.append(s) } else { parts.append("") }
        var group: [String] = []
        for name in row.names where name != "window_start" && name != "window_end" {
            guard case .string(let s)? = row[name] else { break }
            group.append(s)
        }
        parts.append(group.joined(separator: "|"))
        return parts.joined(separator: "|")
    }

    private func failed(_ message: String) {
        guard !topicFailed else { return }
        topicFailed = true
        onFailure?(message)
    }

    /// Writes what a checkpoint keeps: the results file (path, identity, length), the CSV header, rows
    /// written and the rows the snapshot file shows.
    public func saveState(_ w: inout StateWriter) {
        lock.lock()
        defer { lock.unlock() }
        let id = handle?.identity ?? (device: 0, inode: 0)
        w.string(handle?.path ?? "")
        w.u64(id.device)
        w.u64(id.inode)
        w.i64(handle?.length ?? -1)
        w.bool(header != nil)
        if let header { w.rows([ResultRow(names: header)]) }
        w.int(written)
        w.rows(snapshotPath == nil ? [] : recent)
    }

    /// Restores a saved state after checking the results file is the one written then (it is cut back
    /// to its length at the checkpoint by `commitRestore`).
    public func restoreState(_ r: inout StateReader) throws {
        let path = try r.string(), device = try r.u64(), inode = try r.u64()
        let length = try r.i64()
        let names = try r.bool() ? try r.rows().first?.names : nil
        let count = try r.int()
        let rows = try r.rows()
        try r.check((handle == nil) == (length < 0), "the checkpoint \(length < 0 ? "has no" : "has a") results file for task '\(task)'")
        if let handle, length >= 0 { try handle.checkResume(path: path, device: device, inode: inode, length: length) }
        lock.lock()
        defer { lock.unlock() }
        header = names
        written = count
        recent = rows
    }

    /// Cuts the results file back to the checkpoint (after every task accepted it).
    public func commitRestore() throws { try handle?.commitResume() }

    /// Whether results go to standard output (which a restart cannot cut back).
    public var writesStandardOutput: Bool { handle?.isInherited ?? false }

    /// Writes the final snapshot (also when no row was produced).
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        if snapshotPath != nil { writeSnapshot(final: true) }
        if let failure = topic?.flush() { failed(failure) }
    }

    private func writeSnapshot(final: Bool) {
        guard let path = snapshotPath else { return }
        lastSnapshot = Date()
        var doc = ResultRow()
        doc.set("task", .string(task))
        doc.set("complete", .bool(final))
        doc.set("rows_written", .int(Int64(written)))
        doc.set("rows", .list(recent.map { .object($0) }))
        if let reason = AtomicFile.replace(path, with: Array((doc.json + "\n").utf8)) {
            snapshotFailures += 1
            snapshotError = reason
            if snapshotFailures == 1 { onFailure?("cannot write snapshot file \(Escaped.text(path)): \(reason)") }
        }
    }
}
