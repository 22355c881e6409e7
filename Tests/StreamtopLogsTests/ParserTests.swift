import Foundation
import Testing
@testable import StreamtopLogs

private func parse(_ s: String) -> CombinedLogParser.Outcome { CombinedLogParser.parse(Array(s.utf8)) }

private func record(_ s: String) -> (ParsedRecord, [UInt8])? {
    let bytes = Array(s.utf8)
    if case .record(let r) = CombinedLogParser.parse(bytes) { return (r, bytes) }
    return nil
}

private func field(_ bytes: [UInt8], _ start: Int32, _ length: Int32) -> String {
    String(decoding: bytes[Int(start)..<Int(start + length)], as: UTF8.self)
}

private func reason(_ s: String) -> MalformedReason? {
    if case .malformed(let r) = parse(s) { return r }
    return nil
}

@Suite struct LogTimeTests {
    @Test func parsesWithOffsetsToUTC() {
        #expect(LogTime.parseCLF(Array("10/Oct/2000:13:55:36 -0700".utf8)) == 971_211_336)
        #expect(LogTime.parseCLF(Array("01/Jan/1970:05:30:00 +0530".utf8)) == 0)
        #expect(LogTime.parseCLF(Array("29/Feb/2024:00:00:00 +0000".utf8)).map(LogTime.iso8601) == "2024-02-29T00:00:00Z")
    }

    @Test(arguments: [
        "29/Feb/2023:00:00:00 +0000", "31/Apr/2024:00:00:00 +0000", "00/Jan/2024:00:00:00 +0000",
        "01/Jan/2024:24:00:00 +0000", "01/Jan/2024:00:60:00 +0000", "01/Jan/2024:00:00:60 +0000",
        "01/jan/2024:00:00:00 +0000", "01/JAN/2024:00:00:00 +0000", "01/Jan/2024:00:00:00 0000",
        "01/Jan/2024:00:00:00 +000", "1/Jan/2024:00:00:00 +0000", "01/Jan/0000:00:00:00 +0000",
    ])
    func rejectsWhatIsNotARealTime(text: String) {
        #expect(LogTime.parseCLF(Array(text.utf8)) == nil)
    }

    /// A parsing loop carries the last time to the next line (`CLFCache`): whatever came before —
    /// another day, the same day with another clock, a text that did not parse — each line gets the time
    /// it gets alone. Triples catch a stale clock: a new date whose clock failed, then that date with
    /// the clock cached for the old date.
    @Test func aCacheCarriedFromLineToLineGivesEachItsOwnTime() {
        var texts = [
            "10/Oct/2000:13:55:36 -0700", "11/Oct/2000:13:55:36 -0700", "11/Oct/2000:25:55:36 -0700",
            "10/Oct/2000:13:55:37 -0700", "10/Oct/2000:13:55:36 +0700", "10/Nov/2000:13:55:36 -0700",
            "29/Feb/2023:13:55:36 -0700", "29/Feb/2024:13:55:36 -0700", "10/Oct/2001:13:55:36 -0700",
            "10/Oct/2000:13:55:36 -0700 ", "10/Oct/2000 13:55:36 -0700",
        ]
        // Every byte of a time changed in turn, to a digit and to a letter.
        let base = Array("10/Oct/2000:13:55:36 -0700".utf8)
        for i in base.indices {
            for b in [UInt8(ascii: "1"), UInt8(ascii: "9"), UInt8(ascii: "x")] where base[i] != b {
                var t = base
                t[i] = b
                texts.append(String(decoding: t, as: UTF8.self))
            }
        }
        let alone = texts.map { LogTime.parseCLF(Array($0.utf8)) }
        #expect(alone.filter { $0 != nil }.count > 20)
        for a in texts.indices {
            for b in texts.indices {
                var cache = LogTime.CLFCache()
                for (k, c) in [a, b, 1, 0, b, a].enumerated() {
                    let got = Array(texts[c].utf8).withUnsafeBufferPointer { LogTime.parseCLF($0.baseAddress!, count: $0.count, cache: &cache) }
                    #expect(got == alone[c], "\(texts[a]) → \(texts[b]), step \(k): \(texts[c])")
                }
            }
        }
    }

    @Test func formatsRoundTrip() {
        for t: Int64 in [0, 951_782_400, 1_700_000_000, 4_102_444_799] {
            #expect(LogTime.parseCLF(Array(LogTime.clf(t).utf8)) == t)
        }
    }
}

@Suite struct CombinedParserTests {
    @Test func combinedLine() throws {
        let (r, b) = try #require(record(#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08""#))
        #expect(field(b, r.clientStart, r.clientLength) == "127.0.0.1")
        #expect(field(b, r.methodStart, r.methodLength) == "GET")
        #expect(field(b, r.pathStart, r.pathLength) == "/a.gif")
        #expect(r.status == 200 && r.size == 2326 && r.time == 971_211_336)
    }

    /// The leading fields are scanned eight bytes a word: any whitespace byte at any place ends the
    /// client (here the line is then malformed), and every other byte, control bytes and bytes above
    /// 0x7F included, stays in it.
    @Test func theClientEndsAtItsFirstWhitespaceByteWhereverItIs() {
        let client = Array("2001:0db8:85a3::8a2e:0370:7334".utf8)
        let rest = Array(#" - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326"#.utf8)
        for byte in UInt8.min...UInt8.max {
            let whitespace = byte == 0x20 || (0x09...0x0D).contains(byte)
            for at in client.indices {
                var line = client
                line[at] = byte
                switch CombinedLogParser.parse(line + rest) {
                case .record(let r):
                    #expect(!whitespace && r.clientLength == Int32(client.count), "byte \(byte) at \(at)")
                case .malformed(let reason):
                    #expect(whitespace, "byte \(byte) at \(at): \(reason)")
                }
            }
        }
    }

    @Test func commonLineIPv6AndHostNames() throws {
        let (r, b) = try #require(record(#"2001:db8::1 - - [01/Jan/2024:00:00:00 +0000] "POST /api HTTP/2.0" 201 -"#))
        #expect(field(b, r.clientStart, r.clientLength) == "2001:db8::1")
        #expect(r.size == 0)
        let (h, hb) = try #require(record(#"crawl-66.example.org - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#))
        #expect(field(hb, h.clientStart, h.clientLength) == "crawl-66.example.org")
    }

    @Test func requestWithoutMethodAndTargetIsDash() throws {
        for req in ["-", "", "GET", "GET  /double-space"] {
            let (r, _) = try #require(record(#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "\#(req)" 400 0"#))
            #expect(!r.hasRequestLine, "\(req)")
        }
    }

    @Test func escapedQuotesStayInsideTheField() throws {
        let line = #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /a\"b HTTP/1.1" 200 5 "r\"" "ua \\""#
        let (r, b) = try #require(record(line))
        #expect(field(b, r.pathStart, r.pathLength) == #"/a\"b"#)
    }

    @Test func nginxExtraFieldsAndTrailingWordsAreAllowed() {
        #expect(reason(#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "9.9.9.9" 0.123"#) == nil)
        #expect(reason(#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 anything at all"#) == nil)
    }

    @Test func longLinesParse() {
        let path = "/" + String(repeating: "x", count: 6000)
        #expect(reason(#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET \#(path) HTTP/1.1" 200 5"#) == nil)
    }

    @Test func malformedLinesSayWhy() {
        let t = "[01/Jan/2024:00:00:00 +0000]"
        #expect(reason("garbage") == .badLeadingFields)
        #expect(reason("1.2.3.4\t- - \(t) \"GET / HTTP/1.1\" 200 1") == .badLeadingFields)
        #expect(reason("1.2.3.4  - - \(t) \"GET / HTTP/1.1\" 200 1") == .badLeadingFields)
        #expect(reason("1.2.3.4 - - 01/Jan/2024 \"GET / HTTP/1.1\" 200 1") == .missingTime)
        #expect(reason("1.2.3.4 - - [31/Feb/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1") == .badTime)
        #expect(reason("1.2.3.4 - - \(t) GET / HTTP/1.1 200 1") == .missingRequest)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1 200 1") == .unterminatedQuote)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1\\\" 200 1") == .unterminatedQuote)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1\" 2000 1") == .badStatus)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1\" 20x 1") == .badStatus)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1\" 200 x") == .badSize)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1\" 200") == .badStatus)
        #expect(reason("1.2.3.4 - - \(t) \"GET / HTTP/1.1\" 200 12a") == .trailingGarbage)
    }

    @Test func arbitraryBytesNeverCrashAndEveryLineIsAccountedFor() {
        var rng = SplitMix64(seed: 1234)
        let alphabet = Array(#"0123456789 -[]/:"\?+ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"#.utf8) + [0, 9, 13, 0x80, 0xFF, 0xC3]
        let good = Array(#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua""#.utf8)
        for _ in 0..<20_000 {
            var line = good
            // Mutate a few bytes, or make a random line.
            if rng.next() % 4 == 0 {
                line = (0..<Int(rng.next() % 120)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                for _ in 0..<Int(rng.next() % 4 + 1) where !line.isEmpty {
                    line[Int(rng.next() % UInt64(line.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            switch CombinedLogParser.parse(line) {
            case .record(let r):
                #expect(Int(r.clientStart + r.clientLength) <= line.count)
                #expect(!r.hasRequestLine || Int(r.pathStart + r.pathLength) <= line.count)
            case .malformed:
                break
            }
        }
    }
}
