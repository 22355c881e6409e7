import Foundation
import Synchronization
import Testing
@testable import StreamtopLogs

/// Hostile and broken inputs at the source: every case here once crashed, hung, lost lines or grew
/// memory without bound (issue "Hardening", items 4, 6, 9, 10, 11).
@Suite struct HardenedSourceTests {
    func collect(_ f: FollowSource, _ count: Int, into lines: inout [String], seconds: Double = 5) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while lines.count < count && Date() < deadline {
            if let block = try f.nextBlockOrNil(within: 0.5) {
                block.forEachLine { s, l, _ in lines.append(String(decoding: UnsafeBufferPointer(start: block.base + s, count: l), as: UTF8.self)) }
            }
        }
    }

    /// The lines a chunker hands out for `input` read in pieces of `piece` bytes.
    func chunk(_ input: [UInt8], piece: Int, maxLine: Int) throws -> (lines: [[UInt8]], blockBytes: [Int], offset: Int64) {
        let chunker = LineChunker(sourceIndex: 0, blockSize: 64, maxLineBytes: maxLine)
        var at = 0
        var lines: [[UInt8]] = []
        var sizes: [Int] = []
        while true {
            let result = try chunker.read { buffer, count in
                let n = min(count, piece, input.count - at)
                input.withUnsafeBytes { src in if n > 0 { buffer.copyMemory(from: src.baseAddress! + at, byteCount: n) } }
                at += n
                return n
            }
            switch result {
            case .block(let b):
                sizes.append(b.bytes.count)
                b.forEachLine { s, l, _ in lines.append(Array(UnsafeBufferPointer(start: b.base + s, count: l))) }
            case .partial: continue
            case .endOfData:
                if let tail = chunker.flush() { tail.forEachLine { s, l, _ in lines.append(Array(UnsafeBufferPointer(start: tail.base + s, count: l))) } }
                return (lines, sizes, chunker.offset)
            }
        }
    }

    @Test func anOverLongLineIsCutToItsHeadAndTheRestIsSkipped() throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000)
        let input = Array("a\n".utf8) + long + Array("\nb\n".utf8) + long  // the last one has no newline
        for piece in [7, 64, 4096, 1 << 20] {
            let (lines, sizes, offset) = try chunk(input, piece: piece, maxLine: 1000)
            #expect(lines.map { $0.count } == [1, 1001, 1, 1001], "piece \(piece)")
            #expect(lines[2] == Array("b".utf8))
            // Memory: no buffer ever held the whole line.
            #expect(sizes.allSatisfy { $0 <= 4 * 1000 + 64 }, "piece \(piece): \(sizes.max() ?? 0)")
            // Offsets still count every byte of the input.
            #expect(offset == Int64(input.count))
        }
    }

    @Test func lineNumbersStayRightAfterAnOverLongLine() throws {
        let path = tempPath("long")
        let text = "one\n" + String(repeating: "y", count: 300_000) + "\nthree\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let source = try FileSource(paths: [path], blockSize: 1024, maxLineBytes: 2000)
        var numbered: [(Int, Int)] = []
        while let b = try source.nextBlock() {
            b.forEachLine { _, l, p in numbered.append((b.firstLineNumber + p, l)) }
        }
        #expect(numbered.map(\.0) == [1, 2, 3])
        #expect(numbered.map(\.1) == [3, 2001, 5])
    }

    @Test func aTruncatedOrCorruptGzipFileIsAnErrorNamingItAfterItsGoodLines() throws {
        let plain = tempPath("gz")
        let lines = (0..<20_000).map { "line \($0) " + String(repeating: "z", count: $0 % 50) }
        try lines.joined(separator: "\n").appending("\n").write(toFile: plain, atomically: true, encoding: .utf8)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "gzip -c '\(plain)' > '\(plain).gz'"]
        try gz.run()
        gz.waitUntilExit()
        let whole = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        #expect(try drain(try FileSource(paths: [plain + ".gz"])).count == lines.count)
        for (name, bytes) in [("truncated", whole.prefix(whole.count / 2)), ("header-only", whole.prefix(10))] {
            let path = plain + "." + name + ".gz"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let source = try FileSource(paths: [path])
            var read = 0
            var failure: Error?
            do {
                while let b = try source.nextBlock() { read += b.lineCount }
            } catch {
                failure = error
            }
            let message = "\(failure.map { "\($0)" } ?? "no error")"
            #expect(message.contains(path) && message.contains("damaged"), "\(name): \(message)")
            #expect(message.contains("after \(read) lines"), "\(name): \(message)")
            #expect(read < lines.count)
        }
    }

    @Test func followsAFIFO() throws {
        let path = tempPath("fifo")
        #expect(mkfifo(path, 0o644) == 0)
        let f = try FollowSource(paths: [path], fromStart: true, pollMilliseconds: 5)
        let writer = Thread {
            let fd = open(path, O_WRONLY)
            let text = Array((0..<100).map { "fifo line \($0)\n" }.joined().utf8)
            text.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        var got: [String] = []
        let deadline = Date().addingTimeInterval(5)
        while got.count < 100 && Date() < deadline {
            if let b = try f.nextBlockOrNil(within: 0.1) {
                b.forEachLine { s, l, _ in got.append(String(decoding: UnsafeBufferPointer(start: b.base + s, count: l), as: UTF8.self)) }
            }
        }
        #expect(got.count == 100)
        #expect(got.last == "fifo line 99")
    }

    @Test func aCopyTruncateThatRegrowsPastTheOldSizeWithinOnePollLosesNothing() throws {
        let path = tempPath("regrow")
        try (0..<50).map { "old \($0)\n" }.joined().write(toFile: path, atomically: false, encoding: .utf8)
        let f = try FollowSource(paths: [path], fromStart: true, pollMilliseconds: 5)
        var events: [String] = []
        f.onEvent = { events.append($0) }
        var lines: [String] = []
        try collect(f, 50, into: &lines)
        // Truncate and write more than there was, between two polls.
        let h = FileHandle(forWritingAtPath: path)!
        h.truncateFile(atOffset: 0)
        h.write(Data((0..<200).map { "new \($0)\n" }.joined().utf8))
        try h.close()
        try collect(f, 250, into: &lines)
        #expect(lines.count == 250)
        #expect(Array(lines.suffix(200)) == (0..<200).map { "new \($0)" })
        #expect(events.contains { $0.contains("rewritten") || $0.contains("truncated") })
    }

    @Test func refusesMoreFilesThanTheOpenFileLimitAllows() throws {
        let budget = FollowSource.openFileBudget()
        let paths = (0...budget).map { "/nonexistent/streamtop-\($0).log" }
        #expect {
            _ = try FollowSource(paths: paths)
        } throws: { error in
            "\(error)".contains("open-file limit") && "\(error)".contains("ulimit -n")
        }
    }

    @Test func escapingKeepsTerminalsSafeAndIsReversible() {
        let hostile: [UInt8] = Array("a\u{1B}]52;c;ZXZpbA==\u{07}b\\c\u{9B}31m\u{202E}d\tz".utf8) + [0xFF, 0xC3]
        let out = String(decoding: Escaped.bytes(hostile), as: UTF8.self)
        #expect(out == "a\\x1b]52;c;ZXZpbA==\\x07b\\\\c\\xc2\\x9b31m\\xe2\\x80\\xaed\tz\\xff\\xc3")
        #expect(!out.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" })
        #expect(Escaped.text("plain/path.log") == "plain/path.log")
        #expect(Escaped.message("task '\u{1B}]0;T\u{07}' and \\d") == "task '\\x1b]0;T\\x07' and \\d")
    }
}

/// Writing outputs: a full disk or a closed pipe is a counted, reported failure, never a trap.
@Suite struct OutputFileTests {
    @Test func aFullDiskIsReportedOnceAndCounted() throws {
        let out = try OutputFile("/dev/full", what: "results file")
        let messages = Locked<[String]>([])
        out.onFailure = { m in messages.withLock { $0.append(m) } }
        for _ in 0..<3 { #expect(!out.write("row\n")) }
        #expect(out.failures == 3)
        #expect(messages.withLock { $0 } == ["cannot write results file /dev/full: No space left on device"])
        #expect(out.failureSummary == "3 writes to results file /dev/full failed (last: No space left on device)")
    }

    @Test func rejectsAreAppendedAcrossRuns() throws {
        let path = tempPath("append")
        try OutputFile(path, what: "rejects file", mode: .append).write("first\n")
        try OutputFile(path, what: "rejects file", mode: .append).write("second\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\nsecond\n")
        try OutputFile(path, what: "results file").write("fresh\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "fresh\n")
    }

    @Test func anOutputThatIsAnInputOrAnotherOutputIsRefused() throws {
        let input = tempPath("input")
        try "x\n".write(toFile: input, atomically: true, encoding: .utf8)
        let link = input + ".link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        let guardian = OutputGuard(inputs: [input])
        let dir = (input as NSString).deletingLastPathComponent
        let viaParent = dir + "/../" + (dir as NSString).lastPathComponent + "/" + (input as NSString).lastPathComponent
        for path in [input, link, viaParent] {
            #expect(throws: SourceError.self) { try guardian.claim(path, what: "results file") }
        }
        try guardian.claim(input + ".out", what: "results of task 'a'")
        #expect {
            try guardian.claim(input + ".out", what: "snapshot of task 'b'")
        } throws: { "\($0)".contains("results of task 'a' already writes that file") }
        try guardian.claim("/dev/null", what: "x")
        try guardian.claim("/dev/null", what: "y")
        // A file a followed pattern would pick up later.
        let pattern = OutputGuard(inputs: [(input as NSString).deletingLastPathComponent + "/*.log"])
        #expect(throws: SourceError.self) { try pattern.claim((input as NSString).deletingLastPathComponent + "/rejects.log", what: "rejects file") }
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "x\n")
    }
}
