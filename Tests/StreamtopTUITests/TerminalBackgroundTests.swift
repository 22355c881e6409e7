import Testing
@testable import StreamtopTUI

/// Light/dark terminal detection: the OSC 11 answer and COLORFGBG decide the theme when none is named.
@Suite struct TerminalBackgroundTests {
    @Test func answersAreReadWhateverTheirEndAndDigits() throws {
        let white = try #require(TerminalBackground.parse(reply: Array("\u{1b}]11;rgb:ffff/ffff/ffff\u{1b}\\".utf8)))
        #expect(TerminalBackground.of(red: white.red, green: white.green, blue: white.blue) == .light)
        let solarized = try #require(TerminalBackground.parse(reply: Array("\u{1b}]11;rgb:00/2b/36\u{07}".utf8)))
        #expect(abs(solarized.green - Double(0x2b) / 255) < 1e-9)
        #expect(TerminalBackground.of(red: solarized.red, green: solarized.green, blue: solarized.blue) == .dark)
        // A pale yellow (Solarized light) is light; pure blue is dark though its digits are high.
        #expect(TerminalBackground.parse(reply: Array("\u{1b}]11;rgb:fd/f6/e3\u{07}".utf8)).map { TerminalBackground.of(red: $0.red, green: $0.green, blue: $0.blue) } == .light)
        #expect(TerminalBackground.of(red: 0, green: 0, blue: 1) == .dark)
    }

    @Test func noAnswerOrGarbageTellsNothing() {
        for reply in ["", "\u{1b}[?1;2c", "\u{1b}]11;rgb:ff/ff\u{07}", "\u{1b}]11;rgb:fffff/0/0\u{07}", "\u{1b}]11;rgb:zz/00/00\u{07}"] {
            #expect(TerminalBackground.parse(reply: Array(reply.utf8)) == nil, "\(reply.debugDescription)")
        }
    }

    @Test func colorFGBGNamesTheBackgroundsANSIColour() {
        #expect(TerminalBackground.from(colorFGBG: "15;0") == .dark)
        #expect(TerminalBackground.from(colorFGBG: "0;15") == .light)
        #expect(TerminalBackground.from(colorFGBG: "0;default;7") == .light)
        #expect(TerminalBackground.from(colorFGBG: "12;8") == .dark)
        #expect(TerminalBackground.from(colorFGBG: "default") == nil)
        #expect(TerminalBackground.from(colorFGBG: nil) == nil)
        #expect(TerminalBackground.light.theme == "light" && TerminalBackground.dark.theme == "default")
    }
}
