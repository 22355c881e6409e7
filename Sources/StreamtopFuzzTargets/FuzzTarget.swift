import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs
import StreamtopTUI

/// Every parser of untrusted text, as a function of one input's bytes: the entry points the libFuzzer
/// binary (`streamtop-fuzz`), its corpus replayer and the corpus regression test all call, so a saved
/// crash input reproduces the same way in all three.
///
/// An entry never traps on bad input; a trap (or a sanitizer report) is a bug. Besides "does not
/// crash", the log targets check the invariants later stages rely on without checking them again:
/// every offset in a record lies inside its line, sizes are not negative, a status has three digits.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `CombinedLogParser`, one line per input line.
    case combined
    /// `CompiledFormat.parse` with the nginx/Apache presets and a few custom formats.
    case compiled
    /// The first line is an nginx (`$…`) or Apache (`%…`) format string, the rest are lines for it.
    case formatString = "format-string"
    /// `JSONLineParser` with the default field map and one with nested overrides.
    case json
    /// `FormatDetector` over the whole input, then the chosen format over every line.
    case detect
    /// `LogTime.parseCLF`, `parseISO8601` and `parseEpoch`, and formatting what they return.
    case time
    /// The first line is a filter (`FilterExpression.parse`); it is matched on the records of the rest.
    case filter
    /// `PipelineFile.parse` (TOML).
    case pipeline
    /// `Keymap.applying(keymapFile:)`.
    case keymap
    /// `Theme.parse` (TOML).
    case theme
    /// `ActionScript` (an `--actions` file), then every line as an `OperatorCommand`.
    case actions
    /// A checkpoint edited by hand: `CheckpointImage` decoding, then the bytes as the saved state of every
    /// stateful operator, each finished after a successful restore (windows emitted from that state).
    case checkpoint

    /// Runs the target on one input. The bytes are copied into an allocation of their exact size, so
    /// the address sanitizer sees a read one past the end even when the caller's buffer is larger.
    public func run(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input.bindMemory(to: UInt8.self))
        switch self {
        case .combined:
            // The lines of one input share a time cache, as a block's lines do: a line parsed after
            // others must come out as it does alone.
            var times = LogTime.CLFCache()
            Self.eachLine(bytes) { p, n in
                let alone = CombinedLogParser.parse(p, start: 0, count: n)
                let after = CombinedLogParser.parse(p, start: 0, count: n, times: &times)
                precondition(after == alone, "a line parsed after others differs from the line alone")
                Self.check(alone, p, n)
            }
        case .compiled:
            Self.eachLine(bytes) { p, n in
                for format in Self.fixedFormats { Self.check(format.parse(p, start: 0, count: n), p, n) }
            }
        case .formatString: Self.formatString(bytes)
        case .json:
            Self.eachLine(bytes) { p, n in
                for map in Self.jsonMaps { Self.check(JSONLineParser.parse(p, start: 0, count: n, map: map), p, n) }
            }
        case .detect: Self.detect(bytes)
        case .time: Self.eachLine(bytes) { p, n in Self.time(p, n) }
        case .filter: Self.filter(bytes)
        case .pipeline: _ = try? PipelineFile.parse(Self.text(bytes), file: "fuzz.toml")
        case .keymap: _ = try? Keymap.standard.applying(keymapFile: Self.text(bytes))
        case .theme: _ = try? Theme.parse(Self.text(bytes), name: "fuzz")
        case .actions: Self.actions(bytes)
        case .checkpoint: Self.checkpoint(bytes)
        }
    }

    /// Runs the target on bytes.
    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }

    /// The target named `name` (its raw value), for the command line and `STREAMTOP_FUZZ_TARGET`.
    public static func named(_ name: String) -> FuzzTarget? { FuzzTarget(rawValue: name.lowercased()) }

    // MARK: Log formats

    /// Formats whose lines look like the presets' and like common custom `log_format`s: epoch and ISO
    /// times, request time in each unit, method and URI as separate fields.
    static let fixedFormats: [LogFormat] = {
        var formats = ["nginx-timed", "vcombined", "vcommon", "combined"].compactMap { LogFormat.preset($0) }
        let custom: [CompiledFormat?] = [
            try? CompiledFormat.nginx(#"$msec $remote_addr "$request_method $request_uri" $status $bytes_sent $request_time "$http_user_agent""#),
            try? CompiledFormat.nginx(#"$time_iso8601|$remote_addr|$host|$request|$status|$body_bytes_sent|$request_time"#),
            try? CompiledFormat.apache(#"%h %l %u %t "%r" %>s %B %D "%{User-Agent}i""#),
            try? CompiledFormat.apache(#"%a %t %m %U %s %O %{ms}T"#),
            try? CompiledFormat.apache(#"%h [%t] %T %>s %b"#),
        ]
        formats += custom.compactMap { $0.map(LogFormat.compiled) }
        return formats
    }()

    /// The default JSON field map and one with nested and overridden key paths.
    static let jsonMaps: [JSONFieldMap] = {
        var nested = JSONFieldMap()
        nested.set(.client, to: "a.b.c.ip")
        nested.set(.size, to: "response.size")
        nested.set(.requestTimeSeconds, to: "timing.total")
        nested.set(.timeEpoch, to: "a.ts")
        return [JSONFieldMap(), nested]
    }()

    /// The first line compiles as a format (nginx when it has a `$`, else Apache); each later line is parsed.
    static func formatString(_ bytes: [UInt8]) {
        let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
        let spec = String(decoding: bytes[..<newline], as: UTF8.self)
        let format: CompiledFormat?
        if spec.contains("$") {
            format = try? CompiledFormat.nginx(spec)
        } else {
            format = try? CompiledFormat.apache(spec)
        }
        guard let format, newline < bytes.count else { return }
        eachLine(Array(bytes[(newline + 1)...])) { p, n in check(format.parse(p, start: 0, count: n), p, n) }
    }

    /// Detection sees the input as a block; the chosen format then parses each line.
    static func detect(_ bytes: [UInt8]) {
        let block = LineBlock(copying: bytes)
        let d = FormatDetector.detect(block)
        eachLine(bytes) { p, n in check(d.format.parse(p, start: 0, count: n), p, n) }
    }

    /// The line through every timestamp parser; whatever parses must also format.
    static func time(_ p: UnsafePointer<UInt8>, _ n: Int) {
        for t in [LogTime.parseCLF(p, count: n), LogTime.parseISO8601(p, count: n), LogTime.parseEpoch(p, count: n)] {
            guard let t else { continue }
            _ = LogTime.iso8601(t)
            _ = LogTime.clf(t)
        }
    }

    /// Calls `body` with each non-empty line (as `LineBlock` splits them), copied to an exact-size buffer.
    static func eachLine(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        _ = bytes.withUnsafeBytes { raw in
            LineBlock.forEachLine(raw) { s, n, _ in
                let line = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
                defer { line.deallocate() }
                line.initialize(from: raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + s, count: n)
                body(line, n)
            }
        }
    }

    /// Traps when a record breaks an invariant that readers of records rely on.
    static func check(_ outcome: CombinedLogParser.Outcome, _ p: UnsafePointer<UInt8>, _ n: Int) {
        guard case .record(let r) = outcome else { return }
        func inside(_ start: Int32, _ length: Int32, _ what: String) {
            precondition(start >= 0 && length >= 0 && Int(start) + Int(length) <= n, "\(what) [\(start), +\(length)) is outside the line of \(n) bytes")
        }
        inside(r.clientStart, r.clientLength, "client")
        if r.hasRequestLine { inside(r.methodStart, r.methodLength, "method") }
        if r.hasPath { inside(r.pathStart, r.pathLength, "path") }
        if r.hasUserAgent { inside(r.uaStart, r.uaLength, "user agent") }
        if r.hasReferer { inside(r.refererStart, r.refererLength, "referrer") }
        if r.hasVhost { inside(r.vhostStart, r.vhostLength, "virtual host") }
        precondition(r.status <= 999, "status \(r.status)")
        precondition(r.size >= 0, "negative size \(r.size)")
        precondition(r.requestMicros >= -1, "negative request time \(r.requestMicros)")
        // Every field as later stages read it (group keys, filters, the report).
        for field in RecordField.allCases { field.withKey(r, p) { _, _ in } }
        for measure in RecordMeasure.allCases { _ = measure.value(r) }
    }

    // MARK: Filters

    /// The first line is the filter; the records it is matched on are the rest of the input parsed as
    /// combined lines, plus two fixed records.
    static func filter(_ bytes: [UInt8]) {
        let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
        guard let expression = try? FilterExpression.parse(String(decoding: bytes[..<newline], as: UTF8.self)) else { return }
        let rest = newline < bytes.count ? Array(bytes[(newline + 1)...]) : []
        eachLine(filterRecords + [0x0A] + rest) { p, n in
            for format in [LogFormat.combined, LogFormat.preset("nginx-timed")!] {
                if case .record(let r) = format.parse(p, start: 0, count: n) { _ = expression.matches(r, p) }
            }
        }
    }

    static let filterRecords = Array(
        #"""
        10.1.2.3 - - [01/Jan/2024:00:00:00 +0000] "POST /api/v1/cart?x=1 HTTP/1.1" 503 1234 "-" "Googlebot/2.1" "-" 0.250
        ::1 - - [01/Jan/2024:00:00:00 +0000] "-" 200 - "-" "-"
        """#.utf8)

    // MARK: Action scripts

    static let taskNames = ["source", "parse", "filter", "aggregate", "sink"]

    static func task(_ name: String) -> TaskID? { taskNames.firstIndex(of: name).map(TaskID.init) }

    /// The input as an `--actions` script, then each of its lines as a `:` command.
    static func actions(_ bytes: [UInt8]) {
        let text = text(bytes)
        _ = try? ActionScript(text, file: "fuzz.txt", task: task, taskNames: taskNames)
        for line in text.split(separator: "\n") {
            _ = try? OperatorCommand.parse(String(line), task: task, taskNames: taskNames)
        }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The input as a checkpoint image; each task's state (or, when the input is no image, the input
    /// itself) is restored into a fresh operator of every stateful kind, and those that accept it are
    /// finished, so windows are emitted from whatever the state says.
    static func checkpoint(_ bytes: [UInt8]) {
        guard let image = try? CheckpointImage(decoding: bytes) else { return restoreEverywhere(bytes) }
        for t in image.tasks where !t.state.isEmpty { restoreEverywhere(t.state) }
    }

    static func restoreEverywhere(_ state: [UInt8]) {
        guard let quarantine = try? Quarantine() else { return }
        var sessions = SessionOperator.Spec()
        sessions.perUser = true
        var group = GroupOperator.Spec(by: [.statusClass, .method])
        group.percentiles = [50, 99]
        group.every = 60
        let operators: [CheckpointableOperator] = [
            WindowOperator(seconds: 60, lateness: 60), WindowOperator(seconds: 300, slide: 60, lateness: 60, partitions: 2),
            TopKOperator(field: .endpoint, every: 300, slide: 60), DistinctOperator(field: .client, every: 60),
            GroupOperator(spec: group), GroupOperator(spec: GroupOperator.Spec(by: [.path])), SessionOperator(spec: sessions),
            AggregateOperator(slots: 2), ParseOperator(quarantine: quarantine),
        ]
        for op in operators {
            var r = StateReader(state)
            guard (try? op.restoreState(&r)) != nil else { continue }
            _ = op.finish()
            if let a = op as? AggregateOperator { _ = a.summary(top: 10) }
        }
    }
}
