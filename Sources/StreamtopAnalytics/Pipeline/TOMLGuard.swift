import TOMLKit
/// Checks TOML text for what the TOML library (toml++) does not survive, before handing it over.
///
/// Fuzzing found inputs on which toml++ asserts (aborts in debug builds, undefined behaviour in release
/// builds) instead of reporting an error: a table header whose key starts with a byte that cannot start
/// a key (`[\x83]`), a closing bracket that does not match (`a = [1,}]`), and deep nesting (it recurses
/// per level). This scan follows strings and comments and refuses those shapes with a line number;
/// everything else is left to the library's own, line-numbered errors. Pure and thread-safe.
public enum TOMLGuard {
    /// A shape the library cannot be given.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        /// 1-based line.
        public var line: Int
        /// What is wrong.
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The deepest nesting of arrays and inline tables accepted.
    public static let maxNesting = 32

    /// The first problem in `text`, or nil.
    public static func check(_ text: String) -> Problem? {
        let b = Array(text.utf8)
        var line = 1
        var stack: [UInt8] = []
        var i = 0
        var lineStart = true
        func isBareKey(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        func skipSpaces(_ j: inout Int) { while j < b.count && (b[j] == 0x20 || b[j] == 0x09) { j += 1 } }
        while i < b.count {
            let c = b[i]
            if c == 0x0A {
                line += 1
                lineStart = true
                i += 1
                continue
            }
            if c == 0x20 || c == 0x09 || c == 0x0D {
                i += 1
                continue
            }
            if c == 0 { return Problem(line: line, message: "a NUL byte: this is not a text file") }
            if c == UInt8(ascii: "#") {
                while i < b.count && b[i] != 0x0A { i += 1 }
                continue
            }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                // A string, single- or triple-quoted; basic strings have escapes.
                let triple = i + 2 < b.count && b[i + 1] == c && b[i + 2] == c
                i += triple ? 3 : 1
                while i < b.count {
                    if b[i] == 0x0A {
                        if !triple { break }
                        line += 1
                    }
                    if c == UInt8(ascii: "\"") && b[i] == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if b[i] == c && (!triple || (i + 2 < b.count && b[i + 1] == c && b[i + 2] == c)) {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
                lineStart = false
                continue
            }
            if c >= 0x80 { return Problem(line: line, message: "a non-ASCII byte outside a string (put text in quotes)") }
            if lineStart && c == UInt8(ascii: "[") && stack.isEmpty {
                // A table header: `[name]` or `[[name]]`; the name must start like a key.
                var j = i + 1
                if j < b.count && b[j] == UInt8(ascii: "[") { j += 1 }
                skipSpaces(&j)
                guard j < b.count, isBareKey(b[j]) || b[j] == UInt8(ascii: "\"") || b[j] == UInt8(ascii: "'") else {
                    return Problem(line: line, message: "a table name must start with a letter, digit, _ or - or be quoted")
                }
                while j < b.count && b[j] != UInt8(ascii: "]") && b[j] != 0x0A { j += 1 }
                i = j
                while i < b.count && b[i] == UInt8(ascii: "]") { i += 1 }
                lineStart = false
                continue
            }
            lineStart = false
            switch c {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                stack.append(c)
                if stack.count > maxNesting { return Problem(line: line, message: "arrays and tables nest \(stack.count) deep here; at most \(maxNesting) levels") }
                var j = i + 1
                skipSpaces(&j)
                if j < b.count && b[j] == UInt8(ascii: ",") { return Problem(line: line, message: "a value is missing before ','") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                let open = c == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
                guard stack.last == open else { return Problem(line: line, message: "'\(Character(Unicode.Scalar(c)))' does not close anything open here") }
                stack.removeLast()
            case UInt8(ascii: ","):
                var j = i + 1
                while j < b.count && (b[j] == 0x20 || b[j] == 0x09 || b[j] == 0x0D || b[j] == 0x0A) { j += 1 }
                if j < b.count && (b[j] == UInt8(ascii: ",") || (b[j] == UInt8(ascii: "}") && stack.last == UInt8(ascii: "["))) {
                    return Problem(line: line, message: "a value is missing after ','")
                }
            case UInt8(ascii: "="):
                var j = i + 1
                skipSpaces(&j)
                if j < b.count && [UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")].contains(b[j]) {
                    return Problem(line: line, message: "a value is missing after '='")
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }
}

extension TOMLGuard {
    /// Checks `text`, then parses it: the table, or the first problem with its line (a shape the library
    /// cannot be given, or the library's own parse error). What every TOML file streamtop reads goes through.
    public static func parse(_ text: String) throws(Problem) -> TOMLTable {
        if let problem = check(text) { throw problem }
        do {
            return try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw Problem(line: e.source.begin.line, message: e.description)
        } catch {
            throw Problem(line: 0, message: "\(error)")
        }
    }
}
