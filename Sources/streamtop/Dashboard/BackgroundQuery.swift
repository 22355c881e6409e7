import Foundation
import StreamtopTUI

/// Asks the terminal for its background colour before the dashboard takes it over (OSC 11; most modern
/// terminals and tmux answer, others ignore it and the query times out).
enum BackgroundQuery {
    /// `COLORFGBG` when set, else the terminal's answer within `timeoutMs`; nil when neither tells, when
    /// the output is not a terminal, or with `TERM=dumb`.
    static func detect(timeoutMs: Int32 = 150) -> (background: TerminalBackground, how: String)? {
        let env = ProcessInfo.processInfo.environment
        if let b = TerminalBackground.from(colorFGBG: env["COLORFGBG"]) { return (b, "COLORFGBG=\(env["COLORFGBG"]!)") }
        guard isatty(STDOUT_FILENO) == 1, env["TERM"] != "dumb" else { return nil }
        guard let reply = ask(timeoutMs: timeoutMs), let rgb = TerminalBackground.parse(reply: reply) else { return nil }
        let hex = String(format: "#%02x%02x%02x", Int(rgb.red * 255), Int(rgb.green * 255), Int(rgb.blue * 255))
        return (TerminalBackground.of(red: rgb.red, green: rgb.green, blue: rgb.blue), "the terminal's background is \(hex)")
    }

    /// Writes the query to the controlling terminal and reads the answer (echo and line editing off
    /// meanwhile, restored after).
    private static func ask(timeoutMs: Int32) -> [UInt8]? {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }
        defer { tcsetattr(fd, TCSANOW, &saved) }
        let query = Array(TerminalBackground.query.utf8)
        guard write(fd, query, query.count) == query.count else { return nil }
        var reply: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 64)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        while reply.count < 256 {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { break }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32((deadline - now) / 1_000_000) + 1) > 0 else { break }
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { break }
            reply += buf[0..<n]
            // Ended by BEL or by ST (ESC \).
            if reply.last == 0x07 || (reply.count >= 2 && reply[reply.count - 2] == 0x1B && reply.last == 0x5C) { break }
        }
        return reply
    }
}
