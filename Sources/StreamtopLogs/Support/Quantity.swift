/// The one parser for the durations and replay speeds users write, wherever they write them: command-line
/// options, pipeline files, action scripts, the `:` line. Pure and thread-safe.
public enum Quantity {
    /// The longest duration accepted (ten years): longer ones are refused, so converting a duration to
    /// whole seconds or milliseconds never traps.
    public static let longestSeconds: Double = 10 * 365 * 86_400

    /// `250ms`, `2s`, `1.5s`, `1m`, `1h`, `1d` (a bare number is seconds) → seconds; nil when it is not a
    /// duration, is negative, or is longer than `longestSeconds`.
    public static func seconds(_ text: String) -> Double? {
        let t = text.lowercased()
        let (num, scale): (Substring, Double) =
            t.hasSuffix("ms") ? (t.dropLast(2), 0.001) : t.hasSuffix("s") ? (t.dropLast(1), 1) : t.hasSuffix("m") ? (t.dropLast(1), 60) : t.hasSuffix("h") ? (t.dropLast(1), 3600) : t.hasSuffix("d") ? (t.dropLast(1), 86_400) : (Substring(t), 1)
        guard !num.isEmpty, num.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(num), v.isFinite, v * scale <= longestSeconds else { return nil }
        return v * scale
    }

    /// A short duration: `500ns`, `200us` (or `µs`), `1.5ms`, `1s` → nanoseconds; nil when it is not one,
    /// is negative, or is over 10 s (a rehearsal's cost per record).
    public static func nanoseconds(_ text: String) -> UInt64? {
        let t = text.lowercased()
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        guard let (suffix, scale) = units.first(where: { t.hasSuffix($0.0) }) else { return nil }
        let num = t.dropLast(suffix.count)
        guard !num.isEmpty, num.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(num), v * scale <= 10e9 else { return nil }
        return UInt64((v * scale).rounded())
    }

    /// The slowest and fastest replay speeds.
    public static let speeds: ClosedRange<Double> = 0.1...1000

    /// A replay speed as shown: `max`, `10×`, `2.5×`.
    public static func speedLabel(_ v: Double) -> String {
        if !v.isFinite { return "max" }
        if v >= 10 || v == v.rounded() { return "\(Int(v.rounded()))×" }
        return "\((v * 10).rounded() / 10)×"
    }

    /// A replay speed: `max` → `.infinity`; `10`, `10x`, `10×`, `0.5` → the factor; nil when it is none of
    /// these or outside `speeds`.
    public static func speed(_ text: String) -> Double? {
        let t = text.lowercased()
        if t == "max" { return .infinity }
        let s = t.hasSuffix("x") ? String(t.dropLast()) : t.hasSuffix("×") ? String(t.dropLast()) : t
        guard let v = Double(s), speeds.contains(v) else { return nil }
        return v
    }
}
