import Testing
@testable import StreamtopTUI

/// Columns must not shift whatever a stranger puts in a path or a user agent (hardening item 8): every
/// character has one width that terminals agree on, and what they disagree on is replaced.
@Suite struct WidthTests {
    /// Text placed wholly or partly left of the first column is clipped, never a crash.
    @Test func textLeftOfTheFirstColumnIsClipped() {
        var buf = ScreenBuffer(width: 10, height: 1)
        #expect(buf.put("abc", x: -5, y: 0, role: .normal) == 3)
        #expect(buf.put("abcdef", x: -3, y: 0, role: .normal) == 6)
        #expect(buf.put("é→", x: -4, y: 0, role: .normal) == 2)
        #expect(buf.rowText(0) == "def       ")
    }

    @Test func emojiAndWideCharactersTakeTwoColumns() {
        for s in ["🚀", "⚡", "✅", "⌚", "日", "한", "Ｆ"] {
            #expect(Sanitizer.width(of: s) == 2, "\(s)")
        }
        for s in ["a", "é", "☃", "→", "ß"] {
            #expect(Sanitizer.width(of: s) == 1, "\(s)")
        }
    }

    @Test func joinersZeroWidthAndTagCharactersAreMadeVisibleOrDropped() {
        #expect(Sanitizer.displayable("/ad\u{200B}min") == "/ad\u{FFFD}min")
        #expect(Sanitizer.displayable("👨\u{200D}👩\u{200D}👧") == "👨\u{FFFD}👩\u{FFFD}👧")
        #expect(Sanitizer.displayable("\u{FEFF}x\u{2060}y") == "\u{FFFD}x\u{FFFD}y")
        #expect(Sanitizer.displayable("🏴\u{E0067}\u{E0062}\u{E007F}") == "🏴\u{FFFD}\u{FFFD}\u{FFFD}")
        #expect(Sanitizer.displayable("❤\u{FE0F}👍\u{1F3FD}") == "❤👍")
        #expect(Sanitizer.displayable("🇺🇸 🇫🇷") == "US FR")
    }

    @Test func rightAlignedColumnsStayPutBesideHostileText() {
        let hostile = ["🚀🚀🚀🚀🚀🚀", "⚡x⚡", "✅ ok", "🇺🇸🇩🇪🇯🇵", "👨‍👩‍👧‍👦 family", "a\u{200B}\u{200C}\u{200D}b", "\u{FEFF}bom", "e\u{301}\u{301}\u{301}", "tag\u{E0041}\u{E0042}", "plain"]
        var buf = ScreenBuffer(width: 24, height: hostile.count)
        for (y, text) in hostile.enumerated() {
            buf.put(text, x: 0, y: y, role: .normal, maxWidth: 16)
            buf.putRight("17.9k", right: 24, y: y, role: .normal)
        }
        for y in 0..<hostile.count {
            let row = buf.rowText(y)
            #expect(Sanitizer.width(of: row) == 24, "row \(y): \(row)")
            #expect(row.hasSuffix("   17.9k") || row.hasSuffix(" 17.9k"), "row \(y): \(row)")
        }
    }
}
