import Foundation
import StreamtopLogs

/// A filter users type: `status >= 500`, `path ~ "^/api/" and method == "POST"`, `client in 10.0.0.0/8`,
/// `not ua ~ "bot"`, `not bot`, `request_time > 250ms`, `status_class == "5xx"`, `endpoint == "/users/:id"`. Compiled once; evaluated per record on bytes, without building strings for
/// comparisons of numbers, equality, prefixes, suffixes and substrings.
public indirect enum FilterExpression: Equatable, Sendable {
    case and(FilterExpression, FilterExpression)
    case or(FilterExpression, FilterExpression)
    case not(FilterExpression)
    case number(NumberField, Comparison, Int64)
    case text(TextField, TextTest)
    case cidr(IPv4Network)
    /// The user agent is a bot's (`BotDetector`).
    case bot

    /// Whether it tests the time to serve (`request_time`), which some formats do not log.
    public var usesServedTime: Bool {
        switch self {
        case .and(let a, let b), .or(let a, let b): return a.usesServedTime || b.usesServedTime
        case .not(let a): return a.usesServedTime
        case .number(let field, _, _): return field == .requestTime
        default: return false
        }
    }

    /// Numeric fields (`request_time` in µs; records whose format does not log it never match).
    public enum NumberField: String, Sendable { case status, size, requestTime = "request_time" }
    /// Text fields: any record field, stored or derived.
    public typealias TextField = RecordField
    /// Numeric comparisons.
    public enum Comparison: String, Sendable { case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=" }

    /// A test on a text field.
    public enum TextTest: Equatable, Sendable {
        case equals([UInt8]), notEquals([UInt8])
        /// `~` with a pattern: `^x` prefix, `x$` suffix, `^x$` exact, else substring. Other regex syntax is
        /// rejected at compile time with a clear message rather than run slowly per record.
        case prefix([UInt8]), suffix([UInt8]), exact([UInt8]), contains([UInt8])
    }

    /// An IPv4 network such as `10.0.0.0/8`.
    public struct IPv4Network: Equatable, Sendable {
        /// Network address as a 32-bit number.
        public var address: UInt32
        /// Prefix length.
        public var bits: Int
        /// Whether an address is inside.
        public func contains(_ a: UInt32) -> Bool {
            bits == 0 || (a >> (32 - UInt32(bits))) == (address >> (32 - UInt32(bits)))
        }
    }

    /// `value` as a filter's string literal that compares equal to exactly it: in quotes, with `"` and
    /// `\` escaped (the only two escapes strings know).
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for c in value.unicodeScalars {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.unicodeScalars.append(c)
        }
        return out + "\""
    }

    /// Whether a record passes.
    @inlinable
    public func matches(_ r: ParsedRecord, _ base: UnsafePointer<UInt8>) -> Bool {
        switch self {
        case .and(let a, let b): return a.matches(r, base) && b.matches(r, base)
        case .or(let a, let b): return a.matches(r, base) || b.matches(r, base)
        case .not(let a): return !a.matches(r, base)
        case .number(let field, let op, let value):
            let v: Int64
            switch field {
            case .status: v = Int64(r.status)
            case .size: v = r.size
            case .requestTime:
                guard r.requestMicros >= 0 else { return false }
                v = r.requestMicros
            }
            switch op {
            case .eq: return v == value
            case .ne: return v != value
            case .lt: return v < value
            case .le: return v <= value
            case .gt: return v > value
            case .ge: return v >= value
            }
        case .text(let field, let test):
            return field.withKey(r, base) { p, n in FilterExpression.test(test, p, n) }
        case .bot:
            return BotDetector.isBot(r, base)
        case .cidr(let net):
            guard let a = FilterExpression.ipv4(base + Int(r.clientStart), Int(r.clientLength)) else { return false }
            return net.contains(a)
        }
    }

    @usableFromInline
    static func test(_ t: TextTest, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        func eq(_ b: [UInt8], at offset: Int) -> Bool {
            b.withUnsafeBufferPointer { memcmp(p + offset, $0.baseAddress!, b.count) == 0 }
        }
        switch t {
        case .equals(let b), .exact(let b): return n == b.count && (n == 0 || eq(b, at: 0))
        case .notEquals(let b): return !(n == b.count && (n == 0 || eq(b, at: 0)))
        case .prefix(let b): return n >= b.count && (b.isEmpty || eq(b, at: 0))
        case .suffix(let b): return n >= b.count && (b.isEmpty || eq(b, at: n - b.count))
        case .contains(let b):
            guard !b.isEmpty else { return true }
            guard n >= b.count else { return false }
            return b.withUnsafeBufferPointer { needle in CompiledFormat.find(needle.baseAddress!, b.count, p, from: 0, to: n) != nil }
        }
    }

    /// Parses a dotted IPv4 address.
    @usableFromInline
    static func ipv4(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for i in 0...n {
            if i == n || p[i] == UInt8(ascii: ".") {
                guard digits > 0, part <= 255 else { return nil }
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else {
                let d = p[i] &- 48
                guard d < 10, digits < 3 else { return nil }
                part = part * 10 + UInt32(d)
                digits += 1
            }
        }
        return parts == 4 ? value : nil
    }
}

/// A filter expression that cannot be compiled, with the column of the mistake.
public struct FilterError: Error, CustomStringConvertible, Equatable {
    /// 1-based column in the expression.
    public let column: Int
    /// What is wrong.
    public let message: String
    public var description: String { "column \(column): \(message)" }
}

extension FilterExpression {
    /// Compiles an expression, e.g. `status >= 500 and not path ~ "^/health"`.
    public static func parse(_ text: String) throws -> FilterExpression {
        var parser = FilterParser(Array(text.utf8))
        let e = try parser.expression()
        parser.skipSpaces()
        guard parser.atEnd else { throw parser.error("unexpected '\(parser.word())' (expected and, or or the end)") }
        return e
    }
}

/// Recursive-descent parser for filter expressions.
struct FilterParser {
    let s: [UInt8]
    var i = 0
    /// Parentheses and `not`s open around the current position.
    var depth = 0
    /// Comparisons parsed so far.
    var terms = 0
    init(_ s: [UInt8]) { self.s = s }

    /// Deepest nesting of parentheses and `not`. Parsing, matching and even freeing an expression recurse
    /// once per level, so without a bound 30,000 parentheses overflow the stack; real filters nest a few levels.
    static let maxDepth = 64
    /// Most comparisons in one filter: a chain of `and`/`or` is a tree as deep as it is long, walked
    /// recursively per record on worker threads with small stacks.
    static let maxTerms = 1000

    /// Enters one level of nesting, or refuses past `maxDepth`.
    mutating func nest() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw error("the filter nests deeper than \(Self.maxDepth) levels of parentheses and 'not'") }
    }

    var atEnd: Bool { i >= s.count }

    func error(_ message: String) -> FilterError { FilterError(column: i + 1, message: message) }

    mutating func skipSpaces() { while i < s.count && (s[i] == 0x20 || s[i] == 0x09) { i += 1 } }

    func isWordByte(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2E || b == 0x2F || b == 0x3A }

    /// The next bare word (without consuming it).
    func word() -> String {
        var j = i
        while j < s.count && isWordByte(s[j]) { j += 1 }
        return j > i ? String(decoding: s[i..<j], as: UTF8.self) : (i < s.count ? String(UnicodeScalar(s[i])) : "end")
    }

    mutating func keyword(_ k: String) -> Bool {
        skipSpaces()
        let w = word()
        guard w.lowercased() == k else { return false }
        i += w.utf8.count
        return true
    }

    mutating func expression() throws -> FilterExpression {
        var left = try conjunction()
        while keyword("or") { left = .or(left, try conjunction()) }
        return left
    }

    mutating func conjunction() throws -> FilterExpression {
        var left = try negation()
        while keyword("and") { left = .and(left, try negation()) }
        return left
    }

    mutating func negation() throws -> FilterExpression {
        if keyword("not") {
            try nest()
            defer { depth -= 1 }
            return .not(try negation())
        }
        return try comparison()
    }

    mutating func comparison() throws -> FilterExpression {
        skipSpaces()
        if i < s.count && s[i] == UInt8(ascii: "(") {
            try nest()
            defer { depth -= 1 }
            i += 1
            let e = try expression()
            skipSpaces()
            guard i < s.count && s[i] == UInt8(ascii: ")") else { throw error("expected ')'") }
            i += 1
            return e
        }
        terms += 1
        guard terms <= Self.maxTerms else { throw error("the filter has more than \(Self.maxTerms) comparisons") }
        let fieldStart = i
        let name = word().lowercased()
        guard !atEnd, isWordByte(s[i]) else { throw error("expected a field (\(Self.fieldNames))") }
        i += name.utf8.count
        if name == "bot" { return .bot }
        skipSpaces()
        if name == "client" && keyword("in") {
            skipSpaces()
            let at = i
            let w = word()
            i += w.utf8.count
            guard let net = Self.network(w) else { throw FilterError(column: at + 1, message: "expected an IPv4 network like 10.0.0.0/8, got '\(w)'") }
            return .cidr(net)
        }
        let opStart = i
        var op = ""
        while i < s.count, "=!<>~".utf8.contains(s[i]) {
            op.append(Character(UnicodeScalar(s[i])))
            i += 1
        }
        guard !op.isEmpty else { throw FilterError(column: opStart + 1, message: "expected an operator (== != < <= > >= ~ in) after '\(name)'") }
        skipSpaces()
        switch name {
        case "status", "size", "bytes", "request_time":
            let field: FilterExpression.NumberField = name == "status" ? .status : name == "request_time" ? .requestTime : .size
            guard let cmp = FilterExpression.Comparison(rawValue: op) else { throw FilterError(column: opStart + 1, message: "'\(op)' does not compare numbers (== != < <= > >=)") }
            let at = i
            let w = word()
            i += w.utf8.count
            if field == .requestTime {
                guard let v = Self.duration(w) else { throw FilterError(column: at + 1, message: "expected a duration like 250ms, 1.5s or 800us after '\(op)', got '\(w)'") }
                return .number(field, cmp, v)
            }
            guard let v = Int64(w) else { throw FilterError(column: at + 1, message: "expected a number after '\(op)', got '\(w)'") }
            return .number(field, cmp, v)
        case _ where RecordField(rawValue: name) != nil:
            let field = RecordField(rawValue: name)!
            let at = i
            let value = try stringValue()
            switch op {
            case "==": return .text(field, .equals(value))
            case "!=": return .text(field, .notEquals(value))
            case "~": return .text(field, try Self.pattern(value, column: at + 1))
            default: throw FilterError(column: opStart + 1, message: "'\(op)' does not compare text (== != ~)")
            }
        default:
            throw FilterError(column: fieldStart + 1, message: "unknown field '\(name)' (\(Self.fieldNames))")
        }
    }

    static let fieldNames = (["status", "size", "request_time"] + RecordField.allCases.map(\.rawValue).filter { $0 != "status" } + ["bot"]).joined(separator: ", ")

    /// A duration in µs: `250ms`, `1.5s`, `800us`; a bare number is in milliseconds. Nil when it is not a
    /// number or its microseconds do not fit in `Int64` (`Int64(Double)` would trap on those, and on `inf`).
    static func duration(_ w: String) -> Int64? {
        let units: [(String, Double)] = [("us", 1), ("µs", 1), ("ms", 1000), ("s", 1_000_000)]
        var number = Substring(w)
        var scale = 1000.0
        if let (suffix, unit) = units.first(where: { w.hasSuffix($0.0) }) {
            number = w.dropLast(suffix.count)
            scale = unit
        }
        guard let v = Double(number), v >= 0 else { return nil }
        let micros = (v * scale).rounded()
        // 2^63 is the first Double past Int64.max; NaN fails the comparison too.
        guard micros < 9_223_372_036_854_775_808.0 else { return nil }
        return Int64(micros)
    }

    mutating func stringValue() throws -> [UInt8] {
        guard i < s.count else { throw error("expected a value") }
        if s[i] == UInt8(ascii: "\"") {
            var out: [UInt8] = []
            i += 1
            while i < s.count && s[i] != UInt8(ascii: "\"") {
                // Only \" and \\ are string escapes; other backslashes reach the pattern (\. stays \.).
                if s[i] == UInt8(ascii: "\\") && i + 1 < s.count && (s[i + 1] == UInt8(ascii: "\"") || s[i + 1] == UInt8(ascii: "\\")) {
                    i += 1
                }
                out.append(s[i])
                i += 1
            }
            guard i < s.count else { throw error("unterminated string") }
            i += 1
            return out
        }
        let w = word()
        guard !w.isEmpty, w != "end" else { throw error("expected a value") }
        i += w.utf8.count
        return Array(w.utf8)
    }

    static func pattern(_ p: [UInt8], column: Int) throws -> FilterExpression.TextTest {
        var body = p
        let anchoredStart = body.first == UInt8(ascii: "^")
        if anchoredStart { body.removeFirst() }
        let anchoredEnd = body.last == UInt8(ascii: "$") && !(body.count >= 2 && body[body.count - 2] == UInt8(ascii: "\\"))
        if anchoredEnd { body.removeLast() }
        // Backslash-escaped characters stand for themselves; other regex syntax is not supported.
        var literal: [UInt8] = []
        var k = 0
        while k < body.count {
            let b = body[k]
            if b == UInt8(ascii: "\\") && k + 1 < body.count {
                literal.append(body[k + 1])
                k += 2
                continue
            }
            if "*+?[](){}|.".utf8.contains(b) {
                throw FilterError(column: column, message: "'~' takes ^prefix, suffix$, ^exact$ or a substring; '\(Character(UnicodeScalar(b)))' is regex syntax (escape it as \\\(Character(UnicodeScalar(b))))")
            }
            literal.append(b)
            k += 1
        }
        switch (anchoredStart, anchoredEnd) {
        case (true, true): return .exact(literal)
        case (true, false): return .prefix(literal)
        case (false, true): return .suffix(literal)
        default: return .contains(literal)
        }
    }

    static func network(_ text: String) -> FilterExpression.IPv4Network? {
        let parts = text.split(separator: "/")
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let bytes = Array(parts[0].utf8)
        guard let address = bytes.withUnsafeBufferPointer({ FilterExpression.ipv4($0.baseAddress!, $0.count) }) else { return nil }
        let bits = parts.count == 2 ? Int(parts[1]) : 32
        guard let b = bits, (0...32).contains(b) else { return nil }
        return FilterExpression.IPv4Network(address: address, bits: b)
    }
}
