/// Folds the ids in URL paths so that `/users/123/orders/9f3c…` counts as `/users/:id/orders/:id`:
/// a segment that is all digits, a UUID, or a hex string of 8+ characters with a digit becomes `:id`.
/// Works on bytes into a caller's buffer (no allocation per record).
public enum PathNormalizer {
    /// Writes the normalized form of `[p, p + n)` into `out` (at least `3 * n + 3` bytes, since a one-byte
    /// segment can become `:id`) and returns its length.
    @inlinable
    public static func normalize(_ p: UnsafePointer<UInt8>, _ n: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var w = 0
        var i = 0
        while i < n {
            if p[i] == UInt8(ascii: "/") {
                out[w] = p[i]
                w += 1
                i += 1
                continue
            }
            var j = i
            while j < n && p[j] != UInt8(ascii: "/") { j += 1 }
            if isIdentifier(p + i, j - i) {
                out[w] = UInt8(ascii: ":")
                out[w + 1] = UInt8(ascii: "i")
                out[w + 2] = UInt8(ascii: "d")
                w += 3
            } else {
                for k in i..<j { out[w + k - i] = p[k] }
                w += j - i
            }
            i = j
        }
        return w
    }

    /// Whether a path segment looks like an id rather than a name.
    @inlinable
    static func isIdentifier(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard n > 0 else { return false }
        var digits = 0
        var hex = 0
        var dashes = 0
        for k in 0..<n {
            let b = p[k]
            if b &- 48 < 10 {
                digits += 1
            } else if (b | 0x20) &- 97 < 6 {
                hex += 1
            } else if b == UInt8(ascii: "-") {
                dashes += 1
            } else {
                return false
            }
        }
        if digits == n { return true }  // 123
        if n == 36 && dashes == 4 { return true }  // UUID
        return dashes == 0 && n >= 8 && digits > 0  // 9f3c2ab1…
    }
}
