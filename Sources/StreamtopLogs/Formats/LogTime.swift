/// Conversions between access-log timestamps and seconds since the Unix epoch (UTC).
///
/// All functions are pure and thread-safe. Parsing works on raw bytes: it runs once per line on the
/// ingest path, so it allocates nothing.
public enum LogTime {
    /// The last CLF time a parser read, by its bytes. A log's lines come in time order, so a busy one
    /// repeats its second and nearly every line repeats its day: the calendar (day, month name, leap
    /// years, days since the epoch) is worked out once a day, the clock once a second. One per parsing
    /// loop (it is a value; a worker's block keeps its own).
    /// Zero means none: a text that reaches the comparison has a `/` in its date word and a `:` in its
    /// clock word, so neither is ever zero.
    public struct CLFCache: Sendable {
        /// Bytes 0–8 and 7–11 (`dd/Mon/yyyy`) of the last valid date, and its days since the epoch.
        @usableFromInline var date: UInt64 = 0
        @usableFromInline var year: UInt32 = 0
        @usableFromInline var days: Int64 = 0
        /// Bytes 10–18 and 18–26 (the clock and zone) of the last valid time on that date, and the time.
        @usableFromInline var clock: UInt64 = 0
        @usableFromInline var zone: UInt64 = 0
        @usableFromInline var time: Int64 = 0
        /// An empty cache.
        public init() {}
    }

    /// Parses `dd/Mon/yyyy:HH:MM:SS ±hhmm` (exactly 26 bytes) and returns UTC seconds since the epoch,
    /// or nil when the text is not a real calendar time in that layout.
    @inlinable
    public static func parseCLF(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        var cache = CLFCache()
        return parseCLF(p, count: count, cache: &cache)
    }

    /// `parseCLF`, taking the time (or the day) of the last line read with `cache` when its bytes are
    /// the same: only text that parsed is cached, so the same bytes give the same answer.
    @inlinable
    public static func parseCLF(_ p: UnsafePointer<UInt8>, count: Int, cache: inout CLFCache) -> Int64? {
        guard count == 26, p[2] == UInt8(ascii: "/"), p[6] == UInt8(ascii: "/"), p[11] == UInt8(ascii: ":"),
            p[14] == UInt8(ascii: ":"), p[17] == UInt8(ascii: ":"), p[20] == UInt8(ascii: " ")
        else { return nil }
        let raw = UnsafeRawPointer(p)
        let date = raw.loadUnaligned(as: UInt64.self)
        let year = raw.loadUnaligned(fromByteOffset: 7, as: UInt32.self)
        let clock = raw.loadUnaligned(fromByteOffset: 10, as: UInt64.self)
        let zone = raw.loadUnaligned(fromByteOffset: 18, as: UInt64.self)
        let sameDate = date == cache.date && year == cache.year
        if sameDate && clock == cache.clock && zone == cache.zone { return cache.time }
        let days: Int64
        if sameDate {
            days = cache.days
        } else {
            guard let day = twoDigits(p, 0), let year4 = fourDigits(p, 7), let month = monthNumber(p[3], p[4], p[5]),
                year4 >= 1, day >= 1, day <= daysInMonth(year: year4, month: month)
            else { return nil }
            days = daysFromCivil(year: year4, month: month, day: day)
            cache.date = date
            cache.year = year
            cache.days = days
            // The cached clock belonged to the other date.
            cache.clock = 0
        }
        guard let hour = twoDigits(p, 12), let minute = twoDigits(p, 15), let second = twoDigits(p, 18),
            let offH = twoDigits(p, 22), let offM = twoDigits(p, 24), hour < 24, minute < 60, second < 60
        else { return nil }
        let sign = p[21]
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        // The offset is how far local time is ahead of UTC, so UTC = local - offset.
        let offset = Int64(offH * 3600 + offM * 60)
        let time = sign == UInt8(ascii: "+") ? local - offset : local + offset
        cache.clock = clock
        cache.zone = zone
        cache.time = time
        return time
    }

    /// Parses ISO 8601 / RFC 3339 as loggers write it: `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z`
    /// or `±HH:MM` (or `±HHMM`). A space may stand for the `T`. Returns UTC epoch seconds.
    @inlinable
    public static func parseISO8601(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        guard count >= 19, p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-"),
            p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: " "), p[13] == UInt8(ascii: ":"), p[16] == UInt8(ascii: ":"),
            let year = fourDigits(p, 0), let month = twoDigits(p, 5), let day = twoDigits(p, 8), let hour = twoDigits(p, 11),
            let minute = twoDigits(p, 14), let second = twoDigits(p, 17)
        else { return nil }
        guard year >= 1, month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month), hour < 24,
            minute < 60, second < 60
        else { return nil }
        var i = 19
        if i < count && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            while i < count && p[i] &- 48 < 10 { i += 1 }
        }
        var offset: Int64 = 0
        if i < count && (p[i] == UInt8(ascii: "Z") || p[i] == UInt8(ascii: "z")) {
            i += 1
        } else if i < count && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) {
            guard i + 3 <= count, let oh = twoDigits(p, i + 1) else { return nil }
            var j = i + 3
            if j < count && p[j] == UInt8(ascii: ":") { j += 1 }
            guard j + 2 <= count, let om = twoDigits(p, j) else { return nil }
            offset = Int64(oh * 3600 + om * 60) * (p[i] == UInt8(ascii: "+") ? 1 : -1)
            i = j + 2
        }
        guard i == count else { return nil }
        let local = daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return local - offset
    }

    /// Parses epoch seconds written as a number, with an optional fraction (`1700000000.123`, nginx's
    /// `$msec`, Caddy's `ts`). Values above 1e11 are taken as milliseconds.
    @inlinable
    public static func parseEpoch(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        var i = 0
        var v: Int64 = 0
        while i < count && p[i] &- 48 < 10 {
            v = v &* 10 &+ Int64(p[i] &- 48)
            i += 1
            if i > 16 { return nil }
        }
        guard i > 0 else { return nil }
        if i < count && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < count && p[i] &- 48 < 10 { i += 1 }
        }
        guard i == count else { return nil }
        return v > 100_000_000_000 ? v / 1000 : v
    }

    /// Parses a timestamp given as a byte array (convenience for tests and non-hot paths).
    public static func parseCLF(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return nil }
            return parseCLF(base, count: buf.count)
        }
    }

    /// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`.
    public static func iso8601(_ epoch: Int64) -> String {
        let (y, m, d, hh, mm, ss) = civil(epoch)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(hh, 2) + ":" + pad(mm, 2) + ":" + pad(ss, 2)
            + "Z"
    }

    /// Formats epoch seconds as `HH:MM:SS` (UTC), for compact displays.
    public static func clock(_ epoch: Int64) -> String {
        let (_, _, _, hh, mm, ss) = civil(epoch)
        return pad(hh, 2) + ":" + pad(mm, 2) + ":" + pad(ss, 2)
    }

    /// Formats epoch seconds the way access logs write them, in UTC: `dd/Mon/yyyy:HH:MM:SS +0000`.
    public static func clf(_ epoch: Int64) -> String {
        let (y, m, d, hh, mm, ss) = civil(epoch)
        return pad(d, 2) + "/" + monthNames[m - 1] + "/" + pad(y, 4) + ":" + pad(hh, 2) + ":" + pad(mm, 2) + ":"
            + pad(ss, 2) + " +0000"
    }

    /// Splits epoch seconds into calendar fields (UTC).
    public static func civil(_ epoch: Int64) -> (Int, Int, Int, Int, Int, Int) {
        var days = epoch / 86_400
        var secs = epoch % 86_400
        if secs < 0 {
            secs += 86_400
            days -= 1
        }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d), Int(secs / 3600), Int(secs % 3600 / 60), Int(secs % 60))
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    @inlinable
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    @inlinable
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    @inlinable
    static func twoDigits(_ p: UnsafePointer<UInt8>, _ i: Int) -> Int? {
        let a = p[i] &- 48
        let b = p[i + 1] &- 48
        guard a < 10, b < 10 else { return nil }
        return Int(a) * 10 + Int(b)
    }

    @inlinable
    static func fourDigits(_ p: UnsafePointer<UInt8>, _ i: Int) -> Int? {
        guard let hi = twoDigits(p, i), let lo = twoDigits(p, i + 2) else { return nil }
        return hi * 100 + lo
    }

    /// English three-letter month (first letter upper case, the rest lower case) to 1...12.
    @inlinable
    static func monthNumber(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        let key = UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c)
        switch key {
        case 0x4A_61_6E: return 1  // Jan
        case 0x46_65_62: return 2  // Feb
        case 0x4D_61_72: return 3  // Mar
        case 0x41_70_72: return 4  // Apr
        case 0x4D_61_79: return 5  // May
        case 0x4A_75_6E: return 6  // Jun
        case 0x4A_75_6C: return 7  // Jul
        case 0x41_75_67: return 8  // Aug
        case 0x53_65_70: return 9  // Sep
        case 0x4F_63_74: return 10  // Oct
        case 0x4E_6F_76: return 11  // Nov
        case 0x44_65_63: return 12  // Dec
        default: return nil
        }
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
