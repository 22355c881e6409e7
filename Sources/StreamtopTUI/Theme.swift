import Foundation
import StreamtopAnalytics
import TOMLKit

/// A colour as a theme writes it.
public enum ThemeColor: Equatable, Sendable {
    /// The terminal's own default colour.
    case terminalDefault
    /// One of the 8 basic colours (0 black … 7 white), optionally bright (+8).
    case basic(Int)
    /// A 256-colour palette index.
    case indexed(Int)
    /// A truecolour value.
    case rgb(UInt8, UInt8, UInt8)

    static let basicNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// Parses `default`, a basic name (`red`, `bright-red`), a number 0–255 or `#rrggbb`.
    public init?(_ text: String) {
        let s = text.lowercased().trimmingCharacters(in: .whitespaces)
        if s == "default" || s == "none" {
            self = .terminalDefault
        } else if let i = ThemeColor.basicNames.firstIndex(of: s) {
            self = .basic(i)
        } else if s.hasPrefix("bright-"), let i = ThemeColor.basicNames.firstIndex(of: String(s.dropFirst(7))) {
            self = .basic(i + 8)
        } else if let n = Int(s), (0...255).contains(n) {
            self = .indexed(n)
        } else if s.hasPrefix("#"), s.count == 7, let v = UInt32(s.dropFirst(), radix: 16) {
            self = .rgb(UInt8(v >> 16), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
        } else {
            return nil
        }
    }

    /// The nearest colour in the xterm 256-colour palette.
    public var index256: Int {
        switch self {
        case .terminalDefault: return -1
        case .basic(let i): return i
        case .indexed(let i): return i
        case .rgb(let r, let g, let b):
            // The nearest of the 6×6×6 cube and the 24-step grey ramp, by squared distance.
            let steps = [0, 95, 135, 175, 215, 255]
            func nearestStep(_ v: UInt8) -> Int {
                steps.indices.min { abs(steps[$0] - Int(v)) < abs(steps[$1] - Int(v)) }!
            }
            let (ri, gi, bi) = (nearestStep(r), nearestStep(g), nearestStep(b))
            let cube = (steps[ri], steps[gi], steps[bi])
            let greyIndex = min(23, max(0, ((Int(r) + Int(g) + Int(b)) / 3 - 8 + 5) / 10))
            let greyLevel = 8 + greyIndex * 10
            func distance(_ c: (Int, Int, Int)) -> Int {
                let dr = c.0 - Int(r)
                let dg = c.1 - Int(g)
                let db = c.2 - Int(b)
                return dr * dr + dg * dg + db * db
            }
            return distance((greyLevel, greyLevel, greyLevel)) < distance(cube) ? 232 + greyIndex : 16 + 36 * ri + 6 * gi + bi
        }
    }

    /// The nearest of the 8 basic colours.
    public var index8: Int {
        switch self {
        case .terminalDefault: return -1
        case .basic(let i): return i % 8
        case .indexed(let i) where i < 16: return i % 8
        default:
            let (r, g, b) = rgbComponents
            let bits = (r > 100 ? 1 : 0) | (g > 100 ? 2 : 0) | (b > 100 ? 4 : 0)
            return bits  // 0 black, 1 red, 2 green, 3 yellow, 4 blue, 5 magenta, 6 cyan, 7 white
        }
    }

    /// WCAG relative luminance (0 black … 1 white).
    public var luminance: Double {
        let (r, g, b) = rgbComponents
        func linear(_ c: Int) -> Double {
            let v = Double(c) / 255
            return v <= 0.03928 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// The WCAG contrast ratio of two colours (1 … 21).
    public static func contrast(_ a: ThemeColor, _ b: ThemeColor) -> Double {
        let (x, y) = (a.luminance, b.luminance)
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    var rgbComponents: (Int, Int, Int) {
        switch self {
        case .rgb(let r, let g, let b): return (Int(r), Int(g), Int(b))
        // xterm's first sixteen colours.
        case .basic(let i), .indexed(let i) where i < 16:
            let table = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
                         (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
            return table[max(0, min(15, i))]
        case .indexed(let i) where i >= 16 && i < 232:
            let c = i - 16
            let f = { (v: Int) -> Int in v == 0 ? 0 : 55 + v * 40 }
            return (f(c / 36), f(c / 6 % 6), f(c % 6))
        case .indexed(let i) where i >= 232:
            let g = 8 + (i - 232) * 10
            return (g, g, g)
        default: return (128, 128, 128)
        }
    }
}

/// How cells of one role look.
public struct Style: Equatable, Sendable {
    /// Foreground colour.
    public var fg: ThemeColor = .terminalDefault
    /// Background colour.
    public var bg: ThemeColor = .terminalDefault
    /// Bold text.
    public var bold = false
    /// Dim text.
    public var dim = false
    /// Underlined text.
    public var underline = false
    /// Swapped foreground and background.
    public var reverse = false
    /// Creates a style.
    public init(fg: ThemeColor = .terminalDefault, bg: ThemeColor = .terminalDefault, bold: Bool = false, dim: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.dim = dim
        self.underline = underline
        self.reverse = reverse
    }
}

/// A problem found while loading a theme: the theme still loads, without the bad entry.
public struct ThemeWarning: Equatable, Sendable, CustomStringConvertible {
    /// 1-based line in the theme file (0 when unknown).
    public var line: Int
    /// What is wrong.
    public var message: String
    public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

/// Maps roles to styles. Loaded from a TOML file in `themes/` (format in `themes/README.md`).
public struct Theme: Sendable {
    /// The theme's name.
    public var name: String
    /// Styles of the roles the theme sets.
    public var styles: [Role: Style]

    /// Creates a theme.
    public init(name: String, styles: [Role: Style]) {
        self.name = name
        self.styles = styles
    }

    /// The style of a role, falling back through its parents to `normal`.
    public func style(for role: Role) -> Style {
        var r: Role? = role
        while let current = r {
            if let s = styles[current] { return s }
            r = current.parent
        }
        return Style()
    }

    /// A theme without colours: attributes only (for NO_COLOR and monochrome terminals).
    public func monochrome() -> Theme {
        var out = self
        for (role, s) in styles {
            out.styles[role] = Style(bold: s.bold, dim: s.dim, underline: s.underline, reverse: s.reverse)
        }
        return out
    }

    /// The built-in fallback used when no theme file can be found.
    public static let fallback = Theme(
        name: "fallback",
        styles: [
            .title: Style(bold: true), .tableHeader: Style(underline: true), .selected: Style(reverse: true),
            .taskPaused: Style(bold: true), .error: Style(bold: true), .hintKey: Style(bold: true), .dim: Style(dim: true),
        ])

    /// Parses a theme file. Unknown keys, unknown roles and bad colours are warnings with line numbers;
    /// a file that is not TOML at all is an error.
    public static func parse(_ text: String, name: String) throws -> (Theme, [ThemeWarning]) {
        if text.utf8.count > 1 << 20 { throw ThemeError("too large for a theme (over 1 MiB)") }
        let table: TOMLTable
        do {
            table = try TOMLGuard.parse(text)
        } catch {
            throw ThemeError(error.description)
        }
        var warnings: [ThemeWarning] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func lineOf(_ key: String) -> Int {
            for (i, l) in lines.enumerated() {
                let t = l.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix(key) || t.hasPrefix("\"\(key)\"") || t.hasPrefix("[\(key)]") { return i + 1 }
            }
            return 0
        }
        for key in table.keys where !["name", "background", "palette", "roles"].contains(key) {
            warnings.append(ThemeWarning(line: lineOf(key), message: "unknown key '\(key)' (expected name, background, [palette], [roles])"))
        }
        var palette: [String: ThemeColor] = [:]
        if let p = table["palette"]?.table {
            for key in p.keys {
                guard let s = p[key]?.string, let c = ThemeColor(s) else {
                    warnings.append(ThemeWarning(line: lineOf(key), message: "palette '\(key)': not a colour (use default, a name like red, 0-255 or #rrggbb)"))
                    continue
                }
                palette[key] = c
            }
        }
        func color(_ value: String, role: String, line: Int) -> ThemeColor? {
            if let c = palette[value] ?? ThemeColor(value) { return c }
            warnings.append(ThemeWarning(line: line, message: "role '\(role)': unknown colour '\(value)'"))
            return nil
        }
        var styles: [Role: Style] = [:]
        if let roles = table["roles"]?.table {
            for key in roles.keys {
                let line = lineOf(key)
                guard let role = Role(rawValue: key) else {
                    warnings.append(ThemeWarning(line: line, message: "unknown role '\(key)'"))
                    continue
                }
                guard let spec = roles[key]?.table else {
                    warnings.append(ThemeWarning(line: line, message: "role '\(key)': expected a table like { fg = \"red\", bold = true }"))
                    continue
                }
                var style = Style()
                for attr in spec.keys {
                    switch attr {
                    case "fg": if let v = spec[attr]?.string, let c = color(v, role: key, line: line) { style.fg = c }
                    case "bg": if let v = spec[attr]?.string, let c = color(v, role: key, line: line) { style.bg = c }
                    case "bold", "dim", "underline", "reverse":
                        guard let on = spec[attr]?.bool else {
                            warnings.append(ThemeWarning(line: line, message: "role '\(key)': \(attr) must be true or false"))
                            continue
                        }
                        switch attr {
                        case "bold": style.bold = on
                        case "dim": style.dim = on
                        case "underline": style.underline = on
                        default: style.reverse = on
                        }
                    default:
                        warnings.append(ThemeWarning(line: line, message: "role '\(key)': unknown attribute '\(attr)' (fg, bg, bold, dim, underline, reverse)"))
                    }
                }
                styles[role] = style
            }
        }
        if table["roles"] == nil { warnings.append(ThemeWarning(line: 0, message: "no [roles] section: this theme changes nothing")) }
        var theme = Theme(name: table["name"]?.string ?? name, styles: styles)
        if let b = table["background"]?.string {
            if let c = palette[b] ?? ThemeColor(b), c != .terminalDefault {
                theme.background = c
            } else {
                warnings.append(ThemeWarning(line: lineOf("background"), message: "background: not a colour (the terminal background this theme is made for, e.g. \"#2e3440\")"))
            }
        }
        return (theme, warnings)
    }

    /// Loads a theme by name (searched in `directories`, as `NAME.theme`) or by path.
    /// The terminal background the theme is made for (`background = "#2e3440"`): what the contrast check
    /// measures roles without a background of their own against. Unset: a dark terminal.
    public var background: ThemeColor?

    /// Roles drawn as bars and graphs, not text: WCAG asks 3:1 of them. The empty part of a queue bar is
    /// meant to be faint and is not checked.
    static let graphicRoles: Set<Role> = [.queueFill, .queueHigh, .sparkline]
    static let uncheckedRoles: Set<Role> = [.queueEmpty, .border]

    /// Roles whose text is hard to read: the WCAG contrast ratio of their foreground against their
    /// background (theirs, else the terminal's) under 4.5:1 (3:1 for graphic roles). Roles that leave
    /// the foreground to the terminal are the terminal's own pair, and are not checked.
    public func contrastWarnings() -> [(role: Role, ratio: Double, needed: Double)] {
        let dark = (background ?? .rgb(0x1e, 0x1e, 0x1e)).luminance < 0.2
        var out: [(Role, Double, Double)] = []
        for role in Role.allCases where !Self.uncheckedRoles.contains(role) {
            let s = style(for: role)
            guard s.fg != .terminalDefault || s.bg != .terminalDefault else { continue }
            // A side left to the terminal: its background, or its usual text colour on it.
            let bg = s.bg != .terminalDefault ? s.bg : (background ?? .rgb(0x1e, 0x1e, 0x1e))
            let fg = s.fg != .terminalDefault ? s.fg : (dark ? .rgb(0xd0, 0xd0, 0xd0) : .rgb(0x20, 0x20, 0x20))
            let ratio = ThemeColor.contrast(fg, bg)
            let needed = Self.graphicRoles.contains(role) ? 3.0 : 4.5
            if ratio < needed { out.append((role, ratio, needed)) }
        }
        return out
    }

    public static func load(_ nameOrPath: String, directories: [String]) throws -> (Theme, [ThemeWarning]) {
        let candidates = nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme")
            ? [nameOrPath] : directories.map { "\($0)/\(nameOrPath).theme" }
        for path in candidates {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                return try parse(text, name: nameOrPath)
            }
        }
        throw ThemeError("theme '\(nameOrPath)' not found (looked in \(candidates.joined(separator: ", ")))")
    }
}

/// A theme that cannot be used.
public struct ThemeError: Error, CustomStringConvertible {
    /// One line saying what is wrong.
    public let description: String
    init(_ d: String) { description = d }
}
