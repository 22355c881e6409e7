/// Makes untrusted text (log content: paths, user agents, rejected lines) safe to put on a terminal.
///
/// Control characters become visible symbols (ESC → ␛, BEL → ␇), C1 controls and bidirectional overrides
/// become U+FFFD, invalid UTF-8 was already replaced by U+FFFD when the bytes were decoded. Nothing that
/// could start an escape sequence survives.
///
/// Text is also brought to a form whose width every terminal agrees on, so columns never shift:
/// zero-width characters (ZWSP/ZWJ/ZWNJ, word joiners, BOM, tag characters) become U+FFFD (visible, so
/// `/ad\u{200B}min` cannot pass for `/admin`), emoji variation selectors and skin-tone modifiers are
/// dropped, and regional-indicator letters (flags) are shown as the ASCII letters they stand for.
public enum Sanitizer {
    /// The text with every unsafe character replaced.
    public static func displayable(_ text: String) -> String {
        var needsWork = false
        for u in text.unicodeScalars where !isPlainSafe(u) {
            needsWork = true
            break
        }
        guard needsWork else { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars { out.append(contentsOf: replacement(u).unicodeScalars) }
        return String(out)
    }

    /// Decodes untrusted bytes (invalid UTF-8 → U+FFFD) and sanitizes them.
    public static func displayable(bytes: [UInt8]) -> String {
        displayable(String(decoding: bytes, as: UTF8.self))
    }

    @inline(__always)
    static func isPlainSafe(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return (v >= 0x20 && v < 0x7F) || (v >= 0xA0 && !isBidiControl(v) && !isWidthAmbiguous(v))
    }

    /// Scalars whose width terminals disagree on, or that join their neighbours into one glyph.
    static func isWidthAmbiguous(_ v: UInt32) -> Bool {
        guard v >= 0x180E else { return false }
        return v == 0x180E || (0x200B...0x200D).contains(v) || (0x2060...0x2064).contains(v) || (0xFE00...0xFE0F).contains(v)
            || v == 0xFEFF || (0x1F1E6...0x1F1FF).contains(v) || (0x1F3FB...0x1F3FF).contains(v)
            || (0xE0000...0xE007F).contains(v) || (0xE0100...0xE01EF).contains(v)
    }

    static func isBidiControl(_ v: UInt32) -> Bool {
        (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F
            || v == 0x061C
    }

    static func replacement(_ u: Unicode.Scalar) -> String {
        let v = u.value
        if isPlainSafe(u) { return String(u) }
        if v < 0x20 { return String(Unicode.Scalar(0x2400 + v)!) }  // control pictures
        if v == 0x7F { return "␡" }
        // Presentation selectors and skin tones: drop (the base character stays, at its own width).
        if (0xFE00...0xFE0F).contains(v) || (0x1F3FB...0x1F3FF).contains(v) || (0xE0100...0xE01EF).contains(v) { return "" }
        // Regional indicators (flags): the letter they stand for.
        if (0x1F1E6...0x1F1FF).contains(v) { return String(Unicode.Scalar(UInt8(ascii: "A") + UInt8(v - 0x1F1E6))) }
        return "\u{FFFD}"
    }

    /// Terminal columns a character takes: 0 for combining marks, 2 for East Asian wide and emoji, else 1;
    /// a character of several scalars takes what its scalars take together, as terminals (and curses,
    /// which places each scalar by `wcwidth`) draw it: a spacing vowel sign (Devanagari कि, Thai กำ) takes a
    /// column of its own, a combining mark none.
    public static func columns(of ch: Character) -> Int {
        var scalars = ch.unicodeScalars.makeIterator()
        guard let first = scalars.next() else { return 0 }
        var total = columns(first)
        while let next = scalars.next() { total += trailingColumns(next) }
        return total
    }

    /// Columns of a scalar that follows another in one character: none for marks, format characters and
    /// the Hangul vowels and finals that join a syllable; otherwise what it takes alone.
    static func trailingColumns(_ u: Unicode.Scalar) -> Int {
        let v = u.value
        if v < 0x300 { return 1 }
        if (0x1160...0x11FF).contains(v) || (0xD7B0...0xD7FF).contains(v) { return 0 }
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: return columns(u)
        }
    }

    /// Columns of one scalar drawn alone.
    static func columns(_ first: Unicode.Scalar) -> Int {
        let v = first.value
        // No combining or enclosing mark starts below U+0300: Latin text needs no property lookup, which
        // was a tenth of a busy dashboard's CPU.
        if v < 0x300 { return 1 }
        // Box drawing and block elements (the graphs' ▁…█, the borders) and general punctuation (– … ‖):
        // one column, no mark, no emoji; the graphs alone drew thousands a frame through the lookup below.
        if (0x2500...0x259F).contains(v) || (0x2010...0x2027).contains(v) { return 1 }
        if first.properties.generalCategory == .nonspacingMark || first.properties.generalCategory == .enclosingMark
            || v == 0x200B
        {
            return 0
        }
        if v < 0x1100 { return 1 }
        // East Asian Wide and Fullwidth, and characters shown as emoji by default (🚀 ⚡ ✅ ⌚): two columns,
        // as terminals (wcwidth of Unicode 9 and later) draw them.
        if (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xA960...0xA97F).contains(v) || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v)
            || (0xFE10...0xFE19).contains(v) || (0xFE30...0xFE6F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v) || (0x1F900...0x1F9FF).contains(v)
            || (0x16FE0...0x18AFF).contains(v) || (0x1B000...0x1B2FF).contains(v) || (0x20000...0x3FFFD).contains(v)
            || (first.properties.isEmojiPresentation && v >= 0x231A)
        {
            return 2
        }
        return 1
    }

    /// Columns a string takes.
    public static func width(of text: String) -> Int {
        // Printable ASCII, most of what a frame draws: one column per byte.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text.utf8.count }
        return displayable(text).reduce(0) { $0 + columns(of: $1) }
    }

    /// The string cut to at most `width` columns, with `…` when cut.
    public static func truncate(_ text: String, to width: Int) -> String {
        let safe = displayable(text)
        guard Sanitizer.width(of: safe) > width else { return safe }
        guard width > 1 else { return width == 1 ? "…" : "" }
        var out = ""
        var used = 0
        for ch in safe {
            let w = columns(of: ch)
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return out + "…"
    }
}
