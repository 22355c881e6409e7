#if canImport(Glibc)
    import Glibc
#endif

/// A custom log format compiled once from the string users already write — an nginx `log_format` or an
/// Apache `LogFormat` — into tokens matched byte by byte (no regular expressions).
public struct CompiledFormat: Sendable, Equatable {
    /// Name for messages (`custom`, or a preset's name).
    public let name: String
    /// The tokens, in line order.
    public let tokens: [FormatToken]
    /// The tokens laid out flat for matching without reference counting on the hot path.
    private let program: Program

    public static func == (a: CompiledFormat, b: CompiledFormat) -> Bool { a.name == b.name && a.tokens == b.tokens }

    /// How one field ends.
    enum FieldEnd: UInt8 {
        /// At the first unescaped quote (the field sits between quotes).
        case quote
        /// Where the next literal starts.
        case literal
        /// At the first space or the end of the line (the last field).
        case space
        /// At the end of the line.
        case lineEnd
    }

    /// One matching step: a literal to compare, or a field with how it ends.
    struct Step {
        var isLiteral: Bool
        var literalStart: Int
        var literalCount: Int
        var kind: FieldKind
        var end: FieldEnd
        /// For `.literal` ends: the next literal's bytes.
        var nextStart: Int
        var nextCount: Int
    }

    /// Steps and all literal bytes in one immutable allocation.
    final class Program: @unchecked Sendable {
        let steps: UnsafeMutableBufferPointer<Step>
        let bytes: UnsafeMutablePointer<UInt8>

        init(_ tokens: [FormatToken]) {
            let literals = tokens.reduce(into: [UInt8]()) { acc, t in if case .literal(let b) = t { acc += b } }
            bytes = .allocate(capacity: max(1, literals.count))
            bytes.initialize(from: literals, count: literals.count)
            var offsets: [Int] = []
            var at = 0
            for t in tokens {
                offsets.append(at)
                if case .literal(let b) = t { at += b.count }
            }
            var list: [Step] = []
            for (k, t) in tokens.enumerated() {
                switch t {
                case .literal(let b):
                    list.append(Step(isLiteral: true, literalStart: offsets[k], literalCount: b.count, kind: .ignore, end: .lineEnd, nextStart: 0, nextCount: 0))
                case .field(let kind, _):
                    var end = FieldEnd.lineEnd
                    var nextStart = 0
                    var nextCount = 0
                    if k > 0 && k + 1 < tokens.count && CompiledFormat.endsWithQuote(tokens[k - 1]) && CompiledFormat.startsWithQuote(tokens[k + 1]) {
                        end = .quote
                    } else if k + 1 < tokens.count, case .literal(let next) = tokens[k + 1] {
                        end = .literal
                        nextStart = offsets[k + 1]
                        nextCount = next.count
                    } else if kind != .request && kind != .userAgent && kind != .referer {
                        end = .space
                    }
                    list.append(Step(isLiteral: false, literalStart: 0, literalCount: 0, kind: kind, end: end, nextStart: nextStart, nextCount: nextCount))
                }
            }
            steps = .allocate(capacity: list.count)
            _ = steps.initialize(from: list)
        }

        deinit {
            steps.deallocate()
            bytes.deallocate()
        }
    }

    /// A format that is not usable, with the reason.
    public struct CompileError: Error, CustomStringConvertible, Equatable {
        /// What is wrong with the format string.
        public let description: String
    }

    /// Builds a format from tokens, checking that it has what the report needs.
    public init(name: String, tokens: [FormatToken]) throws {
        var merged: [FormatToken] = []
        for t in tokens {
            if case .literal(let b) = t, case .literal(let a)? = merged.last {
                merged[merged.count - 1] = .literal(a + b)
            } else if case .literal(let b) = t, b.isEmpty {
                continue
            } else {
                merged.append(t)
            }
        }
        for (i, t) in merged.enumerated() {
            if case .field(_, let n) = t, i + 1 < merged.count, case .field(_, let m) = merged[i + 1] {
                throw CompileError(description: "fields \(n) and \(m) touch: put a separator between them")
            }
        }
        let kinds = merged.compactMap { t -> FieldKind? in if case .field(let k, _) = t { return k } else { return nil } }
        guard kinds.contains(.client) else { throw CompileError(description: "the format has no client field ($remote_addr or %h)") }
        guard kinds.contains(where: { [.timeCLF, .timeISO, .timeEpoch].contains($0) }) else {
            throw CompileError(description: "the format has no time field ($time_local, $time_iso8601, $msec or %t)")
        }
        guard kinds.contains(.status) else { throw CompileError(description: "the format has no status field ($status or %>s)") }
        self.name = name
        self.tokens = merged
        self.program = Program(merged)
    }

    /// Compiles an nginx `log_format` string, e.g. `$remote_addr - $remote_user [$time_local] "$request" …`.
    public static func nginx(_ format: String, name: String = "nginx") throws -> CompiledFormat {
        var tokens: [FormatToken] = []
        var literal: [UInt8] = []
        let bytes = Array(format.utf8)
        var i = 0
        var taken = Set<FieldKind>()
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "$") else {
                literal.append(bytes[i])
                i += 1
                continue
            }
            var j = i + 1
            let braced = j < bytes.count && bytes[j] == UInt8(ascii: "{")
            if braced { j += 1 }
            let nameStart = j
            while j < bytes.count && (isIdentifier(bytes[j])) { j += 1 }
            guard j > nameStart else { throw CompileError(description: "'$' at column \(i + 1) is not followed by a variable name") }
            let variable = String(decoding: bytes[nameStart..<j], as: UTF8.self)
            if braced {
                guard j < bytes.count && bytes[j] == UInt8(ascii: "}") else { throw CompileError(description: "unclosed ${\(variable)") }
                j += 1
            }
            tokens.append(.literal(literal))
            literal = []
            var kind = nginxKind(variable)
            // The first of several candidates (e.g. $body_bytes_sent and $bytes_sent) wins.
            if kind != .ignore && taken.contains(kind) { kind = .ignore }
            taken.insert(kind)
            tokens.append(.field(kind, "$" + variable))
            i = j
        }
        tokens.append(.literal(literal))
        return try CompiledFormat(name: name, tokens: tokens)
    }

    /// Compiles an Apache `LogFormat` string, e.g. `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`.
    public static func apache(_ format: String, name: String = "apache") throws -> CompiledFormat {
        var tokens: [FormatToken] = []
        var literal: [UInt8] = []
        let bytes = Array(format.utf8)
        var i = 0
        var taken = Set<FieldKind>()
        func emit(_ kind: FieldKind, _ text: String) {
            tokens.append(.literal(literal))
            literal = []
            let k = kind != .ignore && taken.contains(kind) ? FieldKind.ignore : kind
            taken.insert(k)
            tokens.append(.field(k, text))
        }
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "%") else {
                literal.append(bytes[i])
                i += 1
                continue
            }
            let start = i
            i += 1
            guard i < bytes.count else { throw CompileError(description: "'%' at the end of the format") }
            if bytes[i] == UInt8(ascii: "%") {
                literal.append(UInt8(ascii: "%"))
                i += 1
                continue
            }
            // Modifiers: status conditions (%400,501{…}i), original/final (%<s, %>s).
            while i < bytes.count && (bytes[i] == UInt8(ascii: "<") || bytes[i] == UInt8(ascii: ">") || bytes[i] == UInt8(ascii: "!") || bytes[i] == UInt8(ascii: ",") || bytes[i] &- 48 < 10) { i += 1 }
            var argument = ""
            if i < bytes.count && bytes[i] == UInt8(ascii: "{") {
                guard let close = bytes[i...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw CompileError(description: "unclosed %{ at column \(start + 1)")
                }
                argument = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
                i = close + 1
            }
            guard i < bytes.count else { throw CompileError(description: "directive at column \(start + 1) has no letter") }
            let letter = Character(Unicode.Scalar(bytes[i]))
            i += 1
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            switch letter {
            case "h", "a": emit(.client, text)
            case "l": emit(.ident, text)
            case "u": emit(.user, text)
            case "t":
                guard argument.isEmpty else { throw CompileError(description: "\(text): custom time formats are not supported; use %t") }
                literal.append(UInt8(ascii: "["))
                emit(.timeCLF, text)
                literal.append(UInt8(ascii: "]"))
            case "r": emit(.request, text)
            case "m": emit(.method, text)
            case "U": emit(.uri, text)
            case "s": emit(.status, text)
            case "b", "B", "O": emit(.size, text)
            case "v", "V": emit(.vhost, text)
            case "D": emit(.requestTimeMicros, text)
            case "T":
                switch argument {
                case "", "s": emit(.requestTimeSeconds, text)
                case "ms": emit(.requestTimeMillis, text)
                case "us": emit(.requestTimeMicros, text)
                default: throw CompileError(description: "\(text): unknown unit '\(argument)' (s, ms, us)")
                }
            case "i":
                switch argument.lowercased() {
                case "referer": emit(.referer, text)
                case "user-agent": emit(.userAgent, text)
                default: emit(.ignore, text)
                }
            case "p", "P", "q", "H", "I", "S", "k", "L", "e", "n", "o", "C", "f", "R", "X", "A", "x":
                emit(.ignore, text)
            default:
                throw CompileError(description: "unknown directive \(text) at column \(start + 1)")
            }
        }
        tokens.append(.literal(literal))
        return try CompiledFormat(name: name, tokens: tokens)
    }

    static func isIdentifier(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
    }

    static func nginxKind(_ v: String) -> FieldKind {
        switch v {
        case "remote_addr", "realip_remote_addr", "binary_remote_addr": return .client
        case "remote_user": return .user
        case "time_local": return .timeCLF
        case "time_iso8601": return .timeISO
        case "msec": return .timeEpoch
        case "request": return .request
        case "request_method": return .method
        case "request_uri", "uri", "document_uri": return .uri
        case "status": return .status
        case "body_bytes_sent", "bytes_sent": return .size
        case "http_referer": return .referer
        case "http_user_agent": return .userAgent
        case "host", "server_name", "http_host": return .vhost
        case "request_time": return .requestTimeSeconds
        default: return .ignore
        }
    }

    /// Parses one line. Offsets in the record are relative to `base`.
    public func parse(_ base: UnsafePointer<UInt8>, start: Int, count: Int) -> CombinedLogParser.Outcome {
        var times = LogTime.CLFCache()
        return parse(base, start: start, count: count, times: &times)
    }

    /// `parse` in a loop over lines: `times` carries the last CLF time read to the next line.
    public func parse(_ base: UnsafePointer<UInt8>, start: Int, count: Int, times: inout LogTime.CLFCache) -> CombinedLogParser.Outcome {
        guard CombinedLogParser.offsetsFit(start: start, count: count) else { return .malformed(.lineTooLong) }
        let end = start + count
        var i = start
        var rec = ParsedRecord(clientStart: 0, clientLength: 0, methodStart: -1, methodLength: 0, pathStart: 0, pathLength: 0, status: 0, size: 0, time: 0)
        var sawTime = false
        let lit = program.bytes
        for step in program.steps {
            if step.isLiteral {
                guard end - i >= step.literalCount, memcmp(base + i, lit + step.literalStart, step.literalCount) == 0 else {
                    return .malformed(.formatMismatch)
                }
                i += step.literalCount
                continue
            }
            var fieldEnd = end
            switch step.end {
            case .quote:
                guard let q = CombinedLogParser.closingQuote(base, from: i, to: end) else { return .malformed(.unterminatedQuote) }
                fieldEnd = q
            case .literal:
                guard let at = Self.find(lit + step.nextStart, step.nextCount, base, from: i, to: end) else { return .malformed(.formatMismatch) }
                fieldEnd = at
            case .space:
                fieldEnd = CombinedLogParser.find(UInt8(ascii: " "), base, from: i, to: end) ?? end
            case .lineEnd:
                break
            }
            if let reason = apply(step.kind, base, i, fieldEnd, &rec, &sawTime, &times) { return .malformed(reason) }
            i = fieldEnd
        }
        guard sawTime else { return .malformed(.missingTime) }
        guard i == end || base[i] == UInt8(ascii: " ") else { return .malformed(.trailingGarbage) }
        return .record(rec)
    }

    /// The first place at or after `from` where the `count` bytes at `needle` occur.
    public static func find(_ needle: UnsafePointer<UInt8>, _ count: Int, _ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        guard count > 0 else { return from }
        var i = from
        while let at = CombinedLogParser.find(needle[0], base, from: i, to: to) {
            if to - at >= count && memcmp(base + at, needle, count) == 0 { return at }
            i = at + 1
        }
        return nil
    }

    static func endsWithQuote(_ t: FormatToken) -> Bool {
        if case .literal(let b) = t { return b.last == UInt8(ascii: "\"") }
        return false
    }

    static func startsWithQuote(_ t: FormatToken) -> Bool {
        if case .literal(let b) = t { return b.first == UInt8(ascii: "\"") }
        return false
    }

    /// Stores one field's value in the record; returns why the line is malformed, if it is.
    private func apply(_ kind: FieldKind, _ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ rec: inout ParsedRecord, _ sawTime: inout Bool, _ times: inout LogTime.CLFCache) -> MalformedReason? {
        let n = e - s
        switch kind {
        case .client:
            guard n > 0 else { return .missingField }
            rec.clientStart = Int32(s)
            rec.clientLength = Int32(n)
        case .timeCLF:
            guard let t = LogTime.parseCLF(base + s, count: n, cache: &times) else { return .badTime }
            rec.time = t
            sawTime = true
        case .timeISO:
            guard let t = LogTime.parseISO8601(base + s, count: n) else { return .badTime }
            rec.time = t
            sawTime = true
        case .timeEpoch:
            guard let t = LogTime.parseEpoch(base + s, count: n) else { return .badTime }
            rec.time = t
            sawTime = true
        case .request:
            RequestLine.split(base, s, e, into: &rec)
        case .method:
            guard n > 0 else { return nil }
            rec.methodStart = Int32(s)
            rec.methodLength = Int32(n)
            if rec.pathLength == 0 && rec.pathStart == 0 { rec.pathStart = Int32(s) }
        case .uri:
            let q = CombinedLogParser.find(UInt8(ascii: "?"), base, from: s, to: e) ?? e
            rec.pathStart = Int32(s)
            rec.pathLength = Int32(q - s)
            if rec.methodStart < 0 {
                // A path without a method field: the method is reported as "-" by pointing at nothing.
                rec.methodStart = -2
            }
        case .status:
            guard n == 3, base[s] &- 48 < 10, base[s + 1] &- 48 < 10, base[s + 2] &- 48 < 10 else { return .badStatus }
            rec.status = UInt16(base[s] &- 48) * 100 + UInt16(base[s + 1] &- 48) * 10 + UInt16(base[s + 2] &- 48)
        case .size:
            if n == 1 && base[s] == UInt8(ascii: "-") { return nil }
            switch Self.integer(base, s, e) {
            case .value(let v): rec.size = v
            case .notANumber: return .badSize
            case .outOfRange: return .numberOutOfRange
            }
        case .requestTimeSeconds, .requestTimeMillis, .requestTimeMicros, .requestTimeNanos:
            if n == 0 || (n == 1 && base[s] == UInt8(ascii: "-")) { return nil }
            switch Self.duration(base, s, e, kind) {
            case .value(let micros): rec.requestMicros = micros
            case .notANumber: return .badNumber
            case .outOfRange: return .numberOutOfRange
            }
        case .userAgent:
            if !(n == 1 && base[s] == UInt8(ascii: "-")) {
                rec.uaStart = Int32(s)
                rec.uaLength = Int32(n)
            }
        case .referer:
            if n > 0 && !(n == 1 && base[s] == UInt8(ascii: "-")) {
                rec.refererStart = Int32(s)
                rec.refererLength = Int32(n)
            }
        case .vhost:
            if n > 0 && !(n == 1 && base[s] == UInt8(ascii: "-")) {
                rec.vhostStart = Int32(s)
                rec.vhostLength = Int32(n)
            }
        case .ident, .user, .ignore:
            break
        }
        return nil
    }

    /// A number read from a field: its value, or why there is none.
    enum Number {
        case value(Int64)
        /// Not digits (with a fraction where the field allows one).
        case notANumber
        /// Digits whose value does not fit (see `integer` and `duration`).
        case outOfRange
    }

    /// Values stay below 10^18, so `v * 10 + d` never overflows: one comparison per digit, checked before
    /// the multiplication, instead of overflow-reporting arithmetic. Leading zeros cost nothing.
    @usableFromInline static let digitLimit: Int64 = 100_000_000_000_000_000

    /// A byte count: digits only, below 10^18 (an exabyte; larger is `.outOfRange`, so that a sum of a few
    /// stays far from `Int64.max`).
    static func integer(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Number {
        guard e > s else { return .notANumber }
        var v: Int64 = 0
        var i = s
        while i < e {
            let d = base[i] &- 48
            guard d < 10 else { return .notANumber }
            guard v < digitLimit else { return Self.allDigits(base, i, e) ? .outOfRange : .notANumber }
            v = v &* 10 &+ Int64(d)
            i += 1
        }
        return .value(v)
    }

    /// Whether `[s, e)` is all digits (to tell a long number from garbage).
    static func allDigits(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var i = s
        while i < e && base[i] &- 48 < 10 { i += 1 }
        return i == e
    }

    /// A duration in the field's unit (seconds may have a fraction) as microseconds. `.outOfRange` when
    /// the whole part has 18 digits or more, or the microseconds do not fit in `Int64`.
    static func duration(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ kind: FieldKind) -> Number {
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var tooLong = false
        var i = s
        while i < e && base[i] &- 48 < 10 {
            if whole >= digitLimit { tooLong = true }
            whole = whole &* 10 &+ Int64(base[i] &- 48)
            i += 1
        }
        guard i > s else { return .notANumber }
        if i < e && base[i] == UInt8(ascii: ".") {
            i += 1
            while i < e && base[i] &- 48 < 10 {
                if fractionDigits < 6 {
                    fraction = fraction * 10 + Int64(base[i] &- 48)
                    fractionDigits += 1
                }
                i += 1
            }
        }
        guard i == e else { return .notANumber }
        guard !tooLong else { return .outOfRange }
        while fractionDigits < 6 {
            fraction *= 10
            fractionDigits += 1
        }
        switch kind {
        case .requestTimeSeconds:
            // Only seconds can overflow here: whole < 10^18 µs, ms and ns all fit.
            let (micros, overflow) = whole.multipliedReportingOverflow(by: 1_000_000)
            guard !overflow, micros <= Int64.max - fraction else { return .outOfRange }
            return .value(micros + fraction)
        case .requestTimeMillis:
            let (micros, overflow) = whole.multipliedReportingOverflow(by: 1000)
            guard !overflow, micros <= Int64.max - fraction / 1000 else { return .outOfRange }
            return .value(micros + fraction / 1000)
        case .requestTimeMicros: return .value(whole)
        default: return .value(whole / 1000)
        }
    }
}

/// Splits a request line as the report contract does: method and target on single spaces, path up to `?`.
public enum RequestLine {
    /// Sets method and path in `rec` from the request `[s, e)`, or leaves them as "-".
    @inlinable
    public static func split(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int, into rec: inout ParsedRecord) {
        guard let sp = CombinedLogParser.find(UInt8(ascii: " "), base, from: s, to: e), sp > s else { return }
        let targetStart = sp + 1
        let targetEnd = CombinedLogParser.find(UInt8(ascii: " "), base, from: targetStart, to: e) ?? e
        guard targetEnd > targetStart else { return }
        rec.methodStart = Int32(s)
        rec.methodLength = Int32(sp - s)
        rec.pathStart = Int32(targetStart)
        let q = CombinedLogParser.find(UInt8(ascii: "?"), base, from: targetStart, to: targetEnd) ?? targetEnd
        rec.pathLength = Int32(q - targetStart)
    }
}
