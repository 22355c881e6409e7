/// Escapes untrusted text for human-readable output (stderr messages, the rejects file, `check` output):
/// control bytes, C1 controls, bidirectional overrides and bytes that are not UTF-8 become `\xHH`, so
/// `cat` on a file or a message in a terminal can never run an escape sequence (clipboard, title, …).
/// A backslash becomes `\\`, so the escaping can be undone exactly. Tabs stay as they are.
/// Pure and thread-safe.
public enum Escaped {
    /// The escaped form of a line's bytes.
    public static func bytes(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBufferPointer { bytes($0) }
    }

    /// The escaped form of a line's bytes; returns the input unchanged (as an array) when nothing needs escaping.
    public static func bytes(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count + 8)
        var i = 0
        let n = input.count
        while i < n {
            let b = input[i]
            if b < 0x80 {
                if (b < 0x20 && b != 0x09) || b == 0x7F {
                    hex(b, into: &out)
                } else if b == UInt8(ascii: "\\") {
                    out.append(b)
                    out.append(b)
                } else {
                    out.append(b)
                }
                i += 1
                continue
            }
            let length = sequenceLength(input, at: i)
            if length == 0 {
                hex(b, into: &out)
                i += 1
                continue
            }
            let scalar = decode(input, at: i, length: length)
            if isDangerous(scalar) {
                for k in 0..<length { hex(input[i + k], into: &out) }
            } else {
                for k in 0..<length { out.append(input[i + k]) }
            }
            i += length
        }
        return out
    }

    /// The escaped form of a string (file names, task names, theme values in messages).
    public static func text(_ s: String) -> String {
        var utf8 = Array(s.utf8)
        if !utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") || $0 >= 0x80 }) { return s }
        utf8 = bytes(utf8)
        return String(decoding: utf8, as: UTF8.self)
    }

    /// A message for a terminal or a log: like `text`, but a backslash stays as it is (nothing needs to
    /// undo the escaping, and filter or format strings read better).
    public static func message(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 >= 0x80 }) else { return s }
        var out = ""
        for part in s.split(separator: "\\", omittingEmptySubsequences: false).enumerated() {
            if part.offset > 0 { out += "\\" }
            out += text(String(part.element))
        }
        return out
    }

    /// C1 controls (U+0080–U+009F, some terminals take U+009B as CSI) and the bidirectional controls
    /// that reorder what is shown (U+202A–U+202E, U+2066–U+2069).
    static func isDangerous(_ scalar: UInt32) -> Bool {
        (0x80...0x9F).contains(scalar) || (0x202A...0x202E).contains(scalar) || (0x2066...0x2069).contains(scalar)
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ b: UInt8, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }

    /// The length of the valid UTF-8 sequence at `i`, or 0 when it is not valid (overlongs and
    /// surrogates included).
    static func sequenceLength(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let b = p[i]
        let n = p.count
        func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        switch b {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1) && p[i + 1] >= 0xA0 && cont(2) ? 3 : 0
        case 0xED: return cont(1) && p[i + 1] < 0xA0 && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xF0: return cont(1) && p[i + 1] >= 0x90 && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1) && p[i + 1] < 0x90 && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int, length: Int) -> UInt32 {
        switch length {
        case 2: return UInt32(p[i] & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)
        case 3: return UInt32(p[i] & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
        default: return UInt32(p[i] & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
        }
    }
}
