import Foundation
import Testing
@testable import StreamtopLogs

/// Numbers in a log line that do not fit make the line malformed (`.numberOutOfRange`); they never trap
/// and never wrap. Epoch times too large to be a time are `.badTime`, like any other unreadable time.
@Suite struct HostileNumberTests {
    static let head = #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /x HTTP/1.1" 200 "#
    /// Serving times whose microseconds do not fit in Int64 (the first is the issue's example).
    static let hugeSeconds = ["9223372036855", "99999999999999999999", "9223372036854775807", "9223372036854.775808", "1000000000000000000.5"]
    /// Sizes of 10^18 bytes or more.
    static let hugeSizes = ["9223372036854775807", "18446744073709551616", "1000000000000000000", "99999999999999999999999999999999"]

    func outcome(_ format: LogFormat, _ line: String) -> CombinedLogParser.Outcome {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { format.parse($0.baseAddress!, start: 0, count: $0.count) }
    }

    func reason(_ format: LogFormat, _ line: String) -> MalformedReason? {
        if case .malformed(let r) = outcome(format, line) { return r }
        return nil
    }

    func record(_ format: LogFormat, _ line: String) -> ParsedRecord? {
        if case .record(let r) = outcome(format, line) { return r }
        return nil
    }

    static let timed = LogFormat.preset("nginx-timed")!
    static let json = LogFormat.preset("json")!
    static let customNginx = LogFormat.compiled(try! CompiledFormat.nginx(#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent rt=$request_time"#))

    @Test(arguments: hugeSeconds)
    func servingTimeOutOfRange(_ t: String) {
        #expect(reason(Self.timed, Self.head + #"1 "-" "M" "-" "# + t) == .numberOutOfRange)
        #expect(reason(Self.customNginx, Self.head + "1 rt=" + t) == .numberOutOfRange)
        #expect(reason(Self.json, #"{"remote_addr":"1.2.3.4","time_local":"25/Nov/2024:00:01:51 +0000","request":"GET /x HTTP/1.1","status":200,"request_time":"# + t + "}") == .numberOutOfRange)
        #expect(reason(Self.json, #"{"ts":1732492911.5,"request":{"remote_ip":"1.2.3.4","method":"GET","uri":"/"},"status":200,"duration":"# + t + "}") == .numberOutOfRange)
    }

    @Test func theIssuesExamples() {
        #expect(reason(Self.timed, #"1.2.3.4 - - [25/Nov/2024:00:01:51 +0000] "GET /x HTTP/1.1" 200 1 "-" "M" "-" 9223372036855"#) == .numberOutOfRange)
        #expect(reason(Self.json, #"{"ts":1732492911,"request":{"remote_ip":"1.2.3.4"},"status":200,"duration":99999999999999999999}"#) == .numberOutOfRange)
        #expect(reason(.combined, Self.head + "18446744073709551616") == .numberOutOfRange)
    }

    /// Detection parses the sample with every candidate, so it used to trap on the hostile line too.
    @Test func autodetectionDoesNotTrap() {
        let good = (0..<5).map { Self.head + #"\#($0) "-" "M" "-" 0.25\#($0)"# }
        let hostile = Self.head + #"1 "-" "M" "-" 9223372036855"#
        let mixed = FormatDetector.detect(LineBlock(copying: Array((good + [hostile]).joined(separator: "\n").utf8)))
        // Combined ignores trailing fields, so it reads all six lines and wins; nginx-timed reads five.
        #expect(mixed.format.name == "combined" && mixed.matched == 6)
        let alone = FormatDetector.detect(LineBlock(copying: Array(hostile.utf8)))
        #expect(alone.format.name == "combined" && alone.matched == 1)
        let timed = FormatDetector.detect(LineBlock(copying: Array(good.joined(separator: "\n").utf8)))
        #expect(timed.format.name == "nginx-timed")
        #expect(reason(timed.format, hostile) == .numberOutOfRange)
    }

    @Test(arguments: hugeSizes)
    func sizeOutOfRange(_ size: String) {
        #expect(reason(.combined, Self.head + size) == .numberOutOfRange)
        #expect(reason(.combined, Self.head + size + #" "-" "M""#) == .numberOutOfRange)
        #expect(reason(Self.timed, Self.head + size + #" "-" "M" "-" 0.1"#) == .numberOutOfRange)
        #expect(reason(Self.customNginx, Self.head + size + " rt=0.1") == .numberOutOfRange)
        #expect(reason(Self.json, #"{"remote_addr":"1.2.3.4","ts":1732492911,"status":200,"size":"# + size + "}") == .numberOutOfRange)
        #expect(reason(Self.json, #"{"remote_addr":"1.2.3.4","ts":1732492911,"status":200,"size":""# + size + #""}"#) == .numberOutOfRange)
    }

    @Test func largestValuesThatFitStillParse() {
        #expect(record(.combined, Self.head + "999999999999999999")?.size == 999_999_999_999_999_999)
        #expect(record(.combined, Self.head + "0000000000000000000000042")?.size == 42)
        #expect(record(Self.timed, Self.head + #"1 "-" "M" "-" 9223372036854.775807"#)?.requestMicros == Int64.max)
        #expect(record(Self.timed, Self.head + #"1 "-" "M" "-" 9223372036854"#)?.requestMicros == 9_223_372_036_854_000_000)
        let micros = LogFormat.compiled(try! CompiledFormat.apache(#"%h %t %D %>s"#))
        #expect(record(micros, "1.2.3.4 [25/Nov/2024:00:01:51 +0000] 999999999999999999 200")?.requestMicros == 999_999_999_999_999_999)
        #expect(reason(micros, "1.2.3.4 [25/Nov/2024:00:01:51 +0000] 1000000000000000000 200") == .numberOutOfRange)
        let millis = LogFormat.compiled(try! CompiledFormat.apache(#"%h %t %{ms}T %>s"#))
        #expect(record(millis, "1.2.3.4 [25/Nov/2024:00:01:51 +0000] 9223372036854775 200")?.requestMicros == 9_223_372_036_854_775_000)
        #expect(reason(millis, "1.2.3.4 [25/Nov/2024:00:01:51 +0000] 9223372036854776 200") == .numberOutOfRange)
    }

    @Test func notANumberKeepsItsOwnReason() {
        #expect(reason(.combined, Self.head + "99999999999999999999x") == .trailingGarbage)
        #expect(reason(Self.customNginx, Self.head + "99999999999999999999x rt=1") == .badSize)
        #expect(reason(Self.customNginx, Self.head + "1 rt=99999999999999999999x") == .badNumber)
        #expect(reason(Self.json, #"{"remote_addr":"1.2.3.4","ts":1732492911,"status":200,"size":"99999999999999999999x"}"#) == .badSize)
        // JSON serving times that are not plain numbers are skipped, as before.
        #expect(record(Self.json, #"{"remote_addr":"1.2.3.4","ts":1732492911,"status":200,"duration":5e-05}"#)?.requestMicros == -1)
    }

    @Test func epochTooLargeIsABadTime() {
        let msec = LogFormat.compiled(try! CompiledFormat.nginx(#"$msec $remote_addr $status"#))
        #expect(reason(msec, "99999999999999999999.5 1.2.3.4 200") == .badTime)
        #expect(reason(Self.json, #"{"remote_addr":"1.2.3.4","ts":99999999999999999999,"status":200}"#) == .badTime)
        #expect(reason(Self.json, #"{"remote_addr":"1.2.3.4","msec":9223372036854775807.5,"status":200}"#) == .badTime)
    }

    /// Offsets are Int32: a line ending past 2 GiB into its block is refused before any byte is read (the
    /// base pointer here is never dereferenced).
    @Test func offsetsBeyondInt32AreRefused() {
        let base = UnsafePointer<UInt8>(bitPattern: 0x1000)!
        let start = Int(Int32.max) - 5
        for format in [LogFormat.combined, Self.timed, Self.json] {
            guard case .malformed(.lineTooLong) = format.parse(base, start: start, count: 10) else {
                Issue.record("\(format.name) did not refuse a line past 2 GiB")
                continue
            }
        }
    }
}
