/// Key sequences curses did not translate. With `keypad` on, curses turns the sequences of the terminal's
/// terminfo entry into key codes; any other sequence (PuTTY's `ESC [ 1 ~` for Home, `ESC [ H` where
/// terminfo says `ESC O H`, a function key of another terminal) arrives as ESC and then its bytes, which
/// would each run as a key: `[` takes a worker. The terminal reads the whole sequence and asks here what
/// it means; a sequence not known here is ignored whole.
public enum EscapeSequence {
    /// Whether a byte ends a sequence that began with `introducer` (`[`: CSI, ended by 0x40…0x7E after
    /// parameters; `O`: SS3, one byte).
    public static func isFinal(_ byte: UInt32, introducer: UInt32) -> Bool {
        introducer == 0x4F || (0x40...0x7E).contains(byte)
    }

    /// The key a whole sequence (the bytes after ESC, introducer first) stands for; nil to ignore it.
    public static func key(_ bytes: [UInt32]) -> Key? {
        guard let first = bytes.first, first == 0x5B || first == 0x4F, let last = bytes.last, bytes.count >= 2 else { return nil }
        let params = String(decoding: bytes.dropFirst().dropLast().compactMap { UInt8(exactly: $0) }, as: UTF8.self)
        // Modifiers (`1;5A`: Ctrl+Up) do not change what the key does here.
        let number = params.split(separator: ";").first.flatMap { Int($0) }
        switch (first, Character(Unicode.Scalar(UInt8(truncatingIfNeeded: last)))) {
        case (_, "A"): return .up
        case (_, "B"): return .down
        case (_, "C"): return .right
        case (_, "D"): return .left
        case (_, "H"): return .home
        case (_, "F"): return .end
        case (0x4F, "P"): return .function(1)
        case (0x4F, "Q"): return .function(2)
        case (0x4F, "R"): return .function(3)
        case (0x4F, "S"): return .function(4)
        case (0x5B, "~"):
            switch number {
            case 1, 7: return .home
            case 4, 8: return .end
            case 5: return .pageUp
            case 6: return .pageDown
            case 11, 12, 13, 14: return .function(number! - 10)
            case 15: return .function(5)
            case 17, 18, 19, 20, 21: return .function(number! - 11)
            case 23, 24: return .function(number! - 12)
            default: return nil
            }
        default: return nil
        }
    }
}
