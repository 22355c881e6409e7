import CNcurses
import Foundation
import StreamtopTUI

/// The real terminal: draws screen buffers through ncurses and reads keys.
///
/// Only the thread that called `start` may use it. Only rows that changed since the last frame are
/// redrawn; ncurses then sends the minimal update.
public final class CursesTerminal {
    private var previous: ScreenBuffer?
    private var pairs: [PairKey: Int32] = [:]
    private var theme: Theme
    private var colorMode: ColorMode = .none
    private var started = false

    private struct PairKey: Hashable {
        var fg: Int
        var bg: Int
    }

    /// How many colours are in use.
    public enum ColorMode: Sendable {
        case none, basic8, indexed256
    }

    /// Prepares a terminal that will use `theme`.
    public init(theme: Theme) { self.theme = theme }

    /// Starts curses. Throws when there is no terminal.
    public func start(noColor: Bool) throws {
        let status = st_start()
        if status == -2 {
            let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
            throw TerminalError("the terminal (TERM=\(term)) cannot move its cursor, so it cannot show the dashboard: use --headless, or set TERM to your terminal's type (e.g. xterm-256color)")
        }
        guard status == 0 else { throw TerminalError("no terminal to draw on (use --headless for scripts)") }
        started = true
        st_install_crash_handlers()
        st_enable_mouse()
        let colors = st_colors()
        colorMode = noColor || colors < 8 ? .none : (colors >= 256 ? .indexed256 : .basic8)
        if colorMode == .none { theme = theme.monochrome() }
    }

    /// The colour mode chosen from the terminal's capabilities.
    public var mode: ColorMode { colorMode }

    /// Restores the terminal. Safe to call twice.
    public func stop() {
        if started { st_stop() }
        started = false
    }

    /// Switches theme and repaints.
    public func setTheme(_ t: Theme) {
        theme = colorMode == .none ? t.monochrome() : t
        previous = nil
    }

    /// The terminal's size, checked against the terminal itself on every call.
    public var size: (width: Int, height: Int) {
        if st_check_resize() == 1 { previous = nil }
        return (Int(st_cols()), Int(st_lines()))
    }

    /// Draws a frame; unchanged rows are skipped.
    public func draw(_ buffer: ScreenBuffer) {
        let full = previous == nil || previous!.width != buffer.width || previous!.height != buffer.height
        if full { st_clear() }
        for y in 0..<buffer.height {
            if !full, let prev = previous, rowEqual(prev, buffer, y) { continue }
            drawRow(buffer, y)
        }
        previous = buffer
        st_refresh()
    }

    private func rowEqual(_ a: ScreenBuffer, _ b: ScreenBuffer, _ y: Int) -> Bool { b.rowEquals(y, a) }

    private func drawRow(_ buffer: ScreenBuffer, _ y: Int) {
        buffer.forEachRun(inRow: y) { start, role, scalars in
            var run = scalars.map { wchar_t(bitPattern: $0) }
            run.append(0)
            let (attrs, pair) = attributes(for: role)
            _ = st_draw(Int32(y), Int32(start), run, Int32(run.count - 1), attrs, pair)
        }
    }

    private func attributes(for role: Role) -> (UInt32, Int32) {
        let style = theme.style(for: role)
        var attrs: UInt32 = 0
        if style.bold { attrs |= st_attr_bold() }
        if style.dim { attrs |= st_attr_dim() }
        if style.underline { attrs |= st_attr_underline() }
        if style.reverse { attrs |= st_attr_reverse() }
        guard colorMode != .none else { return (attrs, 0) }
        let fg = colorMode == .indexed256 ? style.fg.index256 : style.fg.index8
        let bg = colorMode == .indexed256 ? style.bg.index256 : style.bg.index8
        if fg == -1 && bg == -1 { return (attrs, 0) }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return (attrs, p) }
        let p = Int32(pairs.count + 1)
        _ = st_init_pair(p, Int32(fg), Int32(bg))
        pairs[key] = p
        return (attrs, p)
    }

    /// Waits up to `timeoutMilliseconds` for a key.
    /// After an ESC curses did not translate: the bytes already waiting behind it are a sequence, read
    /// whole and decoded (`EscapeSequence`) or ignored whole; none waiting is the Esc key itself. An ESC
    /// before anything other than `[` or `O` (Alt+key) is ignored with its key.
    private func escapeSequence() -> Key? {
        var ch: UInt32 = 0
        guard st_read_key(0, &ch) == 0 else { return .escape }
        if ch == 0x5D || ch == 0x50 {
            // A terminal's report (OSC `ESC ]`, DCS `ESC P`), such as a late answer to the background
            // query: read to its end (BEL or ESC \) and ignored whole, so its letters never run as keys.
            var previous: UInt32 = 0
            for _ in 0..<512 {
                var next: UInt32 = 0
                guard st_read_key(20, &next) == 0 else { break }
                if next == 0x07 || (previous == 0x1B && next == 0x5C) { break }
                previous = next
            }
            return nil
        }
        guard ch == 0x5B || ch == 0x4F else { return nil }
        var bytes = [ch]
        // A sequence is short; one that never ends is cut off (and ignored) rather than read forever.
        while bytes.count < 32 {
            var next: UInt32 = 0
            guard st_read_key(0, &next) == 0 else { return nil }
            bytes.append(next)
            if bytes.count >= 2 && EscapeSequence.isFinal(next, introducer: bytes[0]) { break }
        }
        return EscapeSequence.key(bytes)
    }

    public func readKey(timeoutMilliseconds: Int) -> Key? {
        var ch: UInt32 = 0
        let r = st_read_key(Int32(timeoutMilliseconds), &ch)
        if r < 0 { return nil }
        if r == 1 {
            let c = Int32(bitPattern: ch)
            switch c {
            case st_key_up(): return .up
            case st_key_down(): return .down
            case st_key_left(): return .left
            case st_key_right(): return .right
            case st_key_resize():
                previous = nil
                return .resize
            case st_key_ppage(): return .pageUp
            case st_key_npage(): return .pageDown
            case st_key_home(): return .home
            case st_key_end(): return .end
            case st_key_enter(): return .enter
            case st_key_backspace(): return .backspace
            case st_key_mouse():
                var x: Int32 = 0
                var y: Int32 = 0
                switch st_get_mouse(&x, &y) {
                case 0: return .click(x: Int(x), y: Int(y))
                // The wheel moves like the arrows: the selection, or the scroll of a list view.
                case 4: return .up
                case 5: return .down
                default: return nil
                }
            default:
                let f = c - st_key_f0()
                if f >= 1 && f <= 12 { return .function(Int(f)) }
                return nil
            }
        }
        switch ch {
        case 27: return escapeSequence()
        case 9: return .tab
        case 10, 13: return .enter
        case 127, 8: return .backspace
        default:
            guard let scalar = Unicode.Scalar(ch) else { return nil }
            return .char(Character(scalar))
        }
    }
}

/// No terminal to draw on.
public struct TerminalError: Error, CustomStringConvertible {
    /// One line saying why.
    public let description: String
    init(_ d: String) { description = d }
}
