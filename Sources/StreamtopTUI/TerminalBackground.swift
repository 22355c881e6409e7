/// Whether the terminal's background is light or dark, from its answer to the OSC 11 query or from
/// `COLORFGBG`, so that the dashboard picks a theme that reads on it (the default theme paints dark boxes on
/// a light terminal). Pure: the query itself is the dashboard's (it owns the terminal).
public enum TerminalBackground: Equatable, Sendable {
    case light
    case dark

    /// The query: "report the background colour" (OSC 11), ended by ST.
    public static let query = "\u{1b}]11;?\u{1b}\\"

    /// Reads an OSC 11 answer, `ESC ] 11 ; rgb:RRRR/GGGG/BBBB` ended by BEL or ST (each component of one
    /// to four hex digits); nil when the bytes hold no such answer.
    public static func parse(reply bytes: [UInt8]) -> (red: Double, green: Double, blue: Double)? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let start = text.range(of: "]11;rgb:") else { return nil }
        let rest = text[start.upperBound...].prefix { $0.isHexDigit || $0 == "/" }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var values: [Double] = []
        for p in parts {
            guard (1...4).contains(p.count), let v = UInt32(p, radix: 16) else { return nil }
            values.append(Double(v) / Double((1 << (4 * p.count)) - 1))
        }
        return (values[0], values[1], values[2])
    }

    /// Light when the colour's luminance (Rec. 709 weights) is above half.
    public static func of(red: Double, green: Double, blue: Double) -> TerminalBackground {
        0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5 ? .light : .dark
    }

    /// From `COLORFGBG` (`fg;bg` or `fg;default;bg`, set by rxvt and Konsole): the background's ANSI
    /// colour 7 or 9–15 is light, 0–6 and 8 dark; nil when absent or not a colour number.
    public static func from(colorFGBG value: String?) -> TerminalBackground? {
        guard let value, let last = value.split(separator: ";").last, let bg = Int(last), (0...15).contains(bg) else { return nil }
        return bg == 7 || bg >= 9 ? .light : .dark
    }

    /// The theme for a terminal that did not name one: `light` on a light background, else `default`.
    public var theme: String { self == .light ? "light" : "default" }
}
