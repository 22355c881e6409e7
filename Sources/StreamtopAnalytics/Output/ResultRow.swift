import Foundation

/// A value in a result row: what JSON can hold.
public enum ResultValue: Sendable, Equatable {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    case list([ResultValue])
    case object(ResultRow)

    /// The value as JSON text.
    public var json: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .int(let v): out += String(v)
        case .double(let v): out += v.isFinite ? ResultValue.format(v) : "null"
        case .string(let s): ResultValue.quote(s, into: &out)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .list(let items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let row): row.write(into: &out)
        }
    }

    /// Up to three decimals, without a trailing `.0` for whole numbers.
    static func format(_ v: Double) -> String {
        let r = (v * 1000).rounded() / 1000
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        return String(r)
    }

    /// A JSON string literal; control characters are escaped, so log content can never break a line.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Printable ASCII without `"` and `\` (most keys, paths and names) needs no escape: appended whole.
        // A scalar at a time, writing rows was 5 % of the analytics benchmark's CPU on 1 M lines.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F || (0x80...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// The value as one CSV cell (nested values as JSON text).
    var csvCell: String {
        let text: String
        switch self {
        case .string(let s): text = s
        case .null: return ""
        case .double, .int, .bool: return json
        case .list, .object: text = json
        }
        // A leading = + - @ (or a tab or carriage return before one) makes spreadsheets evaluate the cell
        // (`-2+3+cmd|' /C calc'!A0`): log content must not be able to do that. A lone "-" (no path) stays.
        // Control characters (ESC and the other C0 and C1 codes, DEL) are written as \xHH, as everywhere
        // log text is printed: `cat results.csv` must not send a log's escape sequences to a terminal.
        var cell = text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" || ($0.value >= 0x7F && $0.value < 0xA0) })
            ? String(String.UnicodeScalarView(text.unicodeScalars.flatMap { c -> [Unicode.Scalar] in
                guard c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" || (c.value >= 0x7F && c.value < 0xA0) else { return [c] }
                return Array(String(format: "\\x%02x", c.value).unicodeScalars)
            }))
            : text
        if let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), cell != "-" { cell = "'" + cell }
        if cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || cell.hasPrefix(" ") || cell.hasSuffix(" ") {
            return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return cell
    }
}

/// One result: named values in a fixed order (the order they are written in, in JSON and CSV).
public struct ResultRow: Sendable, Equatable {
    /// The columns and their values.
    public var fields: [Field]

    /// A named value.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: ResultValue
    }

    /// An empty row.
    public init() { fields = [] }

    /// A row of nulls with these column names (a CSV header kept in a checkpoint).
    init(names: [String]) { fields = names.map { Field(name: $0, value: .null) } }

    /// Appends a column.
    public mutating func set(_ name: String, _ value: ResultValue) {
        fields.append(Field(name: name, value: value))
    }

    /// The value of a column.
    public subscript(_ name: String) -> ResultValue? { fields.first { $0.name == name }?.value }

    /// Column names.
    public var names: [String] { fields.map(\.name) }

    /// The row as a JSON object on one line.
    public var json: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        out += "{"
        for (i, f) in fields.enumerated() {
            if i > 0 { out += "," }
            ResultValue.quote(f.name, into: &out)
            out += ":"
            f.value.write(into: &out)
        }
        out += "}"
    }

    /// The row as a CSV line under `header` (columns it lacks are empty).
    public func csvLine(header: [String]) -> String {
        header.map { name in self[name]?.csvCell ?? "" }.joined(separator: ",")
    }
}

extension ResultValue {
    /// A list of key/count pairs (top lists).
    static func counts(_ items: [KeyCount]) -> ResultValue {
        .list(items.map { item in
            var row = ResultRow()
            row.set("key", .string(item.key))
            row.set("count", .int(Int64(item.count)))
            return .object(row)
        })
    }
}
