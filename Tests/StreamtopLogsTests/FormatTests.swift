import Foundation
import Testing
@testable import StreamtopLogs

private func fields(_ format: LogFormat, _ line: String) -> (client: String, method: String, path: String, status: UInt16, size: Int64, time: Int64, micros: Int64)? {
    let bytes = Array(line.utf8)
    return bytes.withUnsafeBufferPointer { b -> (String, String, String, UInt16, Int64, Int64, Int64)? in
        guard case .record(let r) = format.parse(b.baseAddress!, start: 0, count: b.count) else { return nil }
        let s = { (start: Int32, len: Int32) in String(decoding: bytes[Int(start)..<Int(start + len)], as: UTF8.self) }
        return (s(r.clientStart, r.clientLength), r.hasRequestLine ? s(r.methodStart, r.methodLength) : "-",
                r.hasPath ? s(r.pathStart, r.pathLength) : "-", r.status, r.size, r.time, r.requestMicros)
    }
}

private func reason(_ format: LogFormat, _ line: String) -> MalformedReason? {
    let bytes = Array(line.utf8)
    return bytes.withUnsafeBufferPointer { b in
        if case .malformed(let r) = format.parse(b.baseAddress!, start: 0, count: b.count) { return r }
        return nil
    }
}

@Suite struct CustomFormatTests {
    @Test func everyPresetNameResolves() {
        for name in LogFormat.presetNames { #expect(LogFormat.preset(name) != nil, "\(name)") }
        #expect(LogFormat.preset("nginx-timed")?.name == "nginx-timed")
        #expect(LogFormat.detectionCandidates.count == 5)
    }

    @Test func nginxLogFormatWithRequestTime() throws {
        let f = LogFormat.compiled(try CompiledFormat.nginx(#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time""#))
        let r = try #require(fields(f, #"10.1.2.3 - bob [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/8" rt=0.250 uct="0.001""#))
        #expect(r.client == "10.1.2.3" && r.method == "GET" && r.path == "/a" && r.status == 200 && r.size == 512)
        #expect(r.time == 971_211_336)
        #expect(r.micros == 250_000)
        #expect(reason(f, #"10.1.2.3 - bob [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512 "-" "curl/8" rt=fast uct="0""#) == .badNumber)
        #expect(reason(f, #"10.1.2.3 - bob [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512 "-" "curl/8" t=0.1 uct="0""#) == .formatMismatch)
    }

    @Test func apacheLogFormatWithVirtualHostAndMicroseconds() throws {
        let f = LogFormat.compiled(try CompiledFormat.apache(#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D"#))
        let r = try #require(fields(f, #"shop.example:443 2001:db8::7 - - [01/Jan/2024:00:00:00 +0100] "POST /cart HTTP/2.0" 201 99 "https://x/" "Mozilla/5.0 (X11)" 1234"#))
        #expect(r.client == "2001:db8::7" && r.method == "POST" && r.path == "/cart" && r.status == 201)
        #expect(r.time == 1_704_063_600)
        #expect(r.micros == 1234)
    }

    @Test func isoTimesAndSeparateMethodAndPath() throws {
        let f = LogFormat.compiled(try CompiledFormat.nginx("$time_iso8601 $remote_addr $request_method $request_uri $status $bytes_sent"))
        let r = try #require(fields(f, "2024-03-01T12:00:00+02:00 1.2.3.4 GET /x?y 404 10"))
        #expect(r.time == LogTime.parseCLF(Array("01/Mar/2024:10:00:00 +0000".utf8)))
        #expect(r.method == "GET" && r.path == "/x" && r.status == 404)
        let p = LogFormat.compiled(try CompiledFormat.nginx("$msec $remote_addr $uri $status"))
        let q = try #require(fields(p, "1700000000.123 1.2.3.4 /only-path 200"))
        #expect(q.method == "-" && q.path == "/only-path" && q.time == 1_700_000_000)
    }

    @Test func formatStringMistakesAreExplained() {
        let cases: [(() throws -> CompiledFormat, String)] = [
            ({ try CompiledFormat.nginx("$remote_addr $status") }, "the format has no time field"),
            ({ try CompiledFormat.nginx("$remote_addr [$time_local] $request") }, "the format has no status field"),
            ({ try CompiledFormat.nginx("[$time_local] $status") }, "the format has no client field"),
            ({ try CompiledFormat.nginx("$remote_addr$remote_user [$time_local] $status") }, "fields $remote_addr and $remote_user touch"),
            ({ try CompiledFormat.apache("%h %t %>s %Z") }, "unknown directive %Z at column 11"),
            ({ try CompiledFormat.apache("%h %{%d/%m}t %>s") }, "%{%d/%m}t: custom time formats are not supported"),
        ]
        for (make, message) in cases {
            do {
                _ = try make()
                Issue.record("compiled: \(message)")
            } catch {
                #expect("\(error)".hasPrefix(message), "\(error)")
            }
        }
    }
}

@Suite struct JSONLinesTests {
    let f = LogFormat.jsonLines(JSONFieldMap())

    @Test func nginxEscapeJSON() throws {
        let r = try #require(fields(f, #"{"time_local":"10/Oct/2000:13:55:36 -0700","remote_addr":"10.0.0.1","request":"GET /a\"b?x HTTP/1.1","status": "200","body_bytes_sent":"12","request_time":"0.004","http_user_agent":"ua"}"#))
        #expect(r.client == "10.0.0.1" && r.method == "GET" && r.path == #"/a\"b"# && r.status == 200 && r.size == 12 && r.micros == 4000)
        #expect(r.time == 971_211_336)
    }

    @Test func caddyNestedFields() throws {
        let r = try #require(fields(f, #"{"level":"info","ts":1700000000.5,"logger":"http.log.access","request":{"remote_ip":"192.0.2.9","method":"GET","uri":"/api?q=1","headers":{"User-Agent":["curl"]}},"duration":0.0012,"size":321,"status":200}"#))
        #expect(r.client == "192.0.2.9" && r.method == "GET" && r.path == "/api" && r.size == 321 && r.status == 200)
        #expect(r.time == 1_700_000_000 && r.micros == 1200)
    }

    @Test func traefikFields() throws {
        let r = try #require(fields(f, #"{"ClientHost":"198.51.100.4","DownstreamContentSize":77,"DownstreamStatus":503,"Duration":2500000,"RequestMethod":"PUT","RequestPath":"/v1/x","StartUTC":"2024-01-01T00:00:00.123456Z"}"#))
        #expect(r.client == "198.51.100.4" && r.method == "PUT" && r.path == "/v1/x" && r.status == 503 && r.size == 77)
        #expect(r.micros == 2500 && r.time == 1_704_067_200)
    }

    @Test func brokenJSONIsRejectedWithAReason() {
        #expect(reason(f, "not json") == .badJSON)
        #expect(reason(f, #"{"remote_addr":"1.2.3.4","status":200"#) == .badJSON)
        #expect(reason(f, #"{"remote_addr":"1.2.3.4","status":200}"#) == .missingTime)
        #expect(reason(f, #"{"remote_addr":"1.2.3.4","time":"yesterday","status":200}"#) == .badTime)
        #expect(reason(f, #"{"time":"2024-01-01T00:00:00Z","status":200}"#) == .missingField)
    }

    @Test func customKeys() throws {
        var map = JSONFieldMap()
        map.set(.client, to: "src.addr")
        let r = try #require(fields(.jsonLines(map), #"{"src":{"addr":"9.9.9.9"},"remote_addr":"1.1.1.1","time":"2024-01-01T00:00:00Z","status":"204"}"#))
        #expect(r.client == "9.9.9.9")
    }
}

@Suite struct FormatDetectionTests {
    func detect(_ text: String) -> FormatDetector.Detection { FormatDetector.detect(LineBlock(copying: Array(text.utf8))) }

    @Test func picksTheFormatThatReadsTheMost() {
        let combined = #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#
        #expect(detect(combined + "\n" + combined).format.name == "combined")
        let vhost = #"shop:443 1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#
        #expect(detect(vhost + "\n" + vhost).format.name == "vcombined")
        let timed = #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "-" 0.010"#
        #expect(detect(timed).format.name == "nginx-timed")
        let json = #"{"remote_addr":"1.2.3.4","time":"2024-01-01T00:00:00Z","status":200}"#
        #expect(detect(json).format.name == "json")
    }

    @Test func saysWhenNothingFits() {
        let d = detect("hello world\nanother line\n")
        #expect(!d.fits)
        #expect(d.matched == 0 && d.total == 2)
        #expect(String(decoding: d.example, as: UTF8.self) == "hello world")
    }
}

@Suite struct FormatFuzzTests {
    /// Arbitrary and mutated lines through every format: no crash, offsets inside the line, and each line
    /// is either a record or malformed with a reason.
    @Test func anyBytesInEveryLineAccountedFor() throws {
        let formats: [LogFormat] = LogFormat.detectionCandidates + [
            .compiled(try CompiledFormat.apache(#"%h %l %u %t "%r" %>s %b %D "%{User-Agent}i""#)),
            .compiled(try CompiledFormat.nginx(#"$time_iso8601|$remote_addr|$request_method|$uri|$status|$bytes_sent|$request_time"#)),
        ]
        let seeds = [
            #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua" "-" 0.010"#,
            #"v:80 1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua""#,
            #"{"remote_addr":"1.2.3.4","time":"2024-01-01T00:00:00Z","status":200,"request":{"uri":"/a"},"x":[1,{"y":2}]}"#,
            #"2024-01-01T00:00:00Z|1.2.3.4|GET|/x|200|5|0.1"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"0123456789 -[]{}/:,"\?+.|ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"#.utf8) + [0, 9, 13, 0x80, 0xFF]
        var rng = SplitMix64(seed: 77)
        var records = 0
        for n in 0..<20_000 {
            var line = seeds[n % seeds.count]
            if rng.next() % 5 == 0 {
                line = (0..<Int(rng.next() % 200)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                for _ in 0..<Int(rng.next() % 3 + 1) where !line.isEmpty {
                    let i = Int(rng.next() % UInt64(line.count))
                    switch rng.next() % 3 {
                    case 0: line[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    case 1: line.remove(at: i)
                    default: line.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                    }
                }
            }
            for format in formats {
                line.withUnsafeBufferPointer { b in
                    let base = b.baseAddress ?? UnsafePointer(bitPattern: 16)!
                    if case .record(let r) = format.parse(base, start: 0, count: b.count) {
                        records += 1
                        #expect(r.clientLength > 0 && Int(r.clientStart + r.clientLength) <= b.count)
                        #expect(!r.hasPath || (r.pathStart >= 0 && Int(r.pathStart + r.pathLength) <= b.count))
                        #expect(!r.hasRequestLine || Int(r.methodStart + r.methodLength) <= b.count)
                    }
                }
            }
        }
        #expect(records > 1000)  // the mutations leave many lines valid: the fuzz reaches the deep paths
    }
}

@Suite struct PathNormalizerTests {
    func normalized(_ s: String) -> String {
        let bytes = Array(s.utf8)
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count * 3 + 3)
        defer { out.deallocate() }
        let n = bytes.withUnsafeBufferPointer { PathNormalizer.normalize($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, $0.count, into: out) }
        return String(decoding: UnsafeBufferPointer(start: out, count: n), as: UTF8.self)
    }

    @Test func idsAreFoldedNamesAreKept() {
        #expect(normalized("/users/123") == "/users/:id")
        #expect(normalized("/users/123/orders/456/") == "/users/:id/orders/:id/")
        #expect(normalized("/o/550e8400-e29b-41d4-a716-446655440000") == "/o/:id")
        #expect(normalized("/blob/9f3c2ab1d4") == "/blob/:id")
        #expect(normalized("/static/app.js") == "/static/app.js")
        #expect(normalized("/category/shoes") == "/category/shoes")
        #expect(normalized("/cafe/deadbeef") == "/cafe/deadbeef")  // hex-looking words without digits stay
        #expect(normalized("/1/2/3") == "/:id/:id/:id")
        #expect(normalized("") == "" && normalized("/") == "/")
    }

    /// A map task normalizes paths once and flags the records, and `endpoint` then takes the path as it
    /// is: that is only right if normalizing twice changes nothing, for any bytes.
    @Test func normalizingTwiceIsNormalizingOnce() {
        var seed: UInt64 = 7
        let pieces = ["/", "users", "123", ":id", "%2F", "?", "q=1", "&", "550e8400-e29b-41d4-a716-446655440000", "9f3c2ab1d4", "deadbeef", ".", "..", "a-1", "0x1f", "\u{00e9}", "/", "//", "#", ";"]
        for _ in 0..<3000 {
            var path = ""
            for _ in 0..<Int(seed % 9) {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                path += pieces[Int(seed >> 33) % pieces.count]
            }
            seed = seed &* 6_364_136_223_846_793_005 &+ 1
            let once = normalized(path)
            #expect(normalized(once) == once, "\(path)")
        }
    }
}

/// The referrer and the virtual host, which GoAccess's panels count: every format that logs them gives
/// their bytes, and `-` (a direct request) gives none.
@Suite struct RefererAndVhostTests {
    /// (referrer, virtual host) of a line as `format` reads it; nil for a field the record lacks.
    func extras(_ format: LogFormat, _ line: String) -> (referer: String?, vhost: String?)? {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { b in
            guard case .record(let r) = format.parse(b.baseAddress!, start: 0, count: b.count) else { return nil }
            let s = { (start: Int32, len: Int32) in String(decoding: bytes[Int(start)..<Int(start + len)], as: UTF8.self) }
            return (r.hasReferer ? s(r.refererStart, r.refererLength) : nil, r.hasVhost ? s(r.vhostStart, r.vhostLength) : nil)
        }
    }

    @Test func combinedCompiledAndJSONLinesGiveThem() throws {
        let line = #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "https://www.google.com/search?q=x" "Mozilla/5.0""#
        var r = try #require(extras(.combined, line))
        #expect(r.referer == "https://www.google.com/search?q=x" && r.vhost == nil)
        r = try #require(extras(.combined, #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#))
        #expect(r.referer == nil, "a direct request has no referrer")
        r = try #require(extras(.combined, #"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5"#))
        #expect(r.referer == nil && r.vhost == nil, "common format")

        let vcombined = try #require(LogFormat.preset("vcombined"))
        r = try #require(extras(vcombined, #"shop.example:443 1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "http://blog.example/post" "ua""#))
        #expect(r.vhost == "shop.example" && r.referer == "http://blog.example/post")

        let json = LogFormat.jsonLines(JSONFieldMap())
        r = try #require(extras(json, #"{"remote_addr":"1.2.3.4","time":"2024-01-01T00:00:00Z","status":200,"http_referer":"https://a.example/","host":"api.example"}"#))
        #expect(r.referer == "https://a.example/" && r.vhost == "api.example")
        r = try #require(extras(json, #"{"remote_addr":"1.2.3.4","time":"2024-01-01T00:00:00Z","status":200,"http_referer":"-"}"#))
        #expect(r.referer == nil && r.vhost == nil)
    }
}
