/// Why a line is not an access-log record. Precise enough for a user to find what is wrong with a line.
public enum MalformedReason: Int, CaseIterable, Sendable, Codable {
    /// The client, ident or user field is missing or is not followed by a single space.
    case badLeadingFields
    /// No `[...]` timestamp where the format expects one.
    case missingTime
    /// The timestamp is not `dd/Mon/yyyy:HH:MM:SS ±hhmm` with a real calendar date.
    case badTime
    /// The request does not start with `"` after the timestamp.
    case missingRequest
    /// The request's opening quote has no closing quote.
    case unterminatedQuote
    /// The status is not exactly three digits.
    case badStatus
    /// The size is not digits or `-`.
    case badSize
    /// Something other than a space follows the size.
    case trailingGarbage
    /// A custom format's literal text (a separator, a quote, a bracket) is not where the format puts it.
    case formatMismatch
    /// A field the format needs is empty or missing.
    case missingField
    /// A number (request time, a byte count in JSON) is not a number.
    case badNumber
    /// A JSON line is not a JSON object, or lacks a field the mapping needs.
    case badJSON
    /// A number (size, serving time, epoch time) is too large to count with.
    case numberOutOfRange
    /// The line is longer than `--max-line-bytes`; only its head was kept.
    case lineTooLong
    /// A rehearsal (`inject malformed 5%`) marked a good line malformed.
    case injected

    /// A short human-readable label.
    public var label: String {
        switch self {
        case .badLeadingFields: return "bad client/ident/user fields"
        case .missingTime: return "missing [time]"
        case .badTime: return "bad time"
        case .missingRequest: return "missing \"request\""
        case .unterminatedQuote: return "unterminated quote"
        case .badStatus: return "bad status"
        case .badSize: return "bad size"
        case .trailingGarbage: return "garbage after size"
        case .formatMismatch: return "does not match the format"
        case .missingField: return "missing field"
        case .badNumber: return "bad number"
        case .badJSON: return "bad JSON"
        case .numberOutOfRange: return "number out of range"
        case .lineTooLong: return "line too long"
        case .injected: return "injected (rehearsal)"
        }
    }

    /// A stable identifier for JSON output.
    public var key: String {
        switch self {
        case .badLeadingFields: return "bad_leading_fields"
        case .missingTime: return "missing_time"
        case .badTime: return "bad_time"
        case .missingRequest: return "missing_request"
        case .unterminatedQuote: return "unterminated_quote"
        case .badStatus: return "bad_status"
        case .badSize: return "bad_size"
        case .trailingGarbage: return "trailing_garbage"
        case .formatMismatch: return "format_mismatch"
        case .missingField: return "missing_field"
        case .badNumber: return "bad_number"
        case .badJSON: return "bad_json"
        case .numberOutOfRange: return "number_out_of_range"
        case .lineTooLong: return "line_too_long"
        case .injected: return "injected"
        }
    }
}
