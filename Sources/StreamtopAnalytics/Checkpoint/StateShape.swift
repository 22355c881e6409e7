/// Helpers for the shape of a pipeline that a checkpoint records and a restore compares.
public enum StateShape {
    /// A short, stable digest of a long description (a filter's expression tree, a map's options): equal
    /// settings give equal digests in every process (FNV-1a, no per-process seed).
    public static func digest(_ text: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return String(h, radix: 16)
    }
}
