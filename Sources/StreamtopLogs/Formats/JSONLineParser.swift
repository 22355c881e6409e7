#if canImport(Glibc)
    import Glibc
#endif

/// Which JSON keys hold which field. Nested objects are addressed with dots (`request.remote_ip`).
/// The defaults cover nginx `escape=json` logs with the variable names as keys, Caddy and Traefik.
public struct JSONFieldMap: Sendable, Equatable {
    /// Candidate key paths per field, tried in order; the first present wins.
    public private(set) var keys: [FieldKind: [String]]
    /// The candidates laid out flat for matching without allocation.
    private(set) var table: CandidateTable

    /// The default mapping.
    public init() {
        keys = [
            .client: ["remote_addr", "request.remote_ip", "request.client_ip", "ClientHost", "client_ip", "remote_ip", "ip", "client"],
            .timeISO: ["time_iso8601", "time", "timestamp", "@timestamp", "StartUTC", "StartLocal"],
            .timeCLF: ["time_local"],
            .timeEpoch: ["ts", "msec", "epoch"],
            .request: ["request"],
            .method: ["request_method", "request.method", "RequestMethod", "method"],
            .uri: ["request_uri", "request.uri", "RequestPath", "uri", "path"],
            .status: ["status", "DownstreamStatus", "status_code", "response.status"],
            .size: ["body_bytes_sent", "size", "DownstreamContentSize", "bytes_sent", "bytes"],
            .requestTimeSeconds: ["request_time", "duration"],
            .requestTimeNanos: ["Duration"],
            .userAgent: ["http_user_agent", "user_agent", "request_User-Agent", "userAgent", "ua"],
            .referer: ["http_referer", "referer", "referrer", "request_Referer", "request.headers.Referer"],
            .vhost: ["host", "http_host", "server_name", "vhost", "request.host", "RequestHost"],
        ]
        table = CandidateTable(keys)
    }

    /// Sets the key path for a field (e.g. from `--json-field client=src_ip`), tried before the defaults.
    public mutating func set(_ kind: FieldKind, to path: String) {
        keys[kind, default: []].insert(path, at: 0)
        table = CandidateTable(keys)
    }

    public static func == (a: JSONFieldMap, b: JSONFieldMap) -> Bool { a.keys == b.keys }

    /// Every candidate key path as bytes, with its field and rank, in one immutable allocation.
    final class CandidateTable: @unchecked Sendable {
        struct Entry {
            var offset: Int
            var length: Int
            var kind: Int
            var rank: Int
        }
        let entries: UnsafeMutableBufferPointer<Entry>
        let bytes: UnsafeMutablePointer<UInt8>

        init(_ keys: [FieldKind: [String]]) {
            var all: [UInt8] = []
            var list: [Entry] = []
            for kind in FieldKind.allCases {
                for (rank, path) in (keys[kind] ?? []).enumerated() {
                    list.append(Entry(offset: all.count, length: path.utf8.count, kind: FieldKind.allCases.firstIndex(of: kind)!, rank: rank))
                    all += Array(path.utf8)
                }
            }
            bytes = .allocate(capacity: max(1, all.count))
            bytes.initialize(from: all, count: all.count)
            entries = .allocate(capacity: max(1, list.count))
            _ = entries.initialize(from: list)
            count = list.count
        }

        let count: Int

        deinit {
            entries.deallocate()
            bytes.deallocate()
        }
    }
}

/// Reads one JSON object per line with a byte-level scanner: no allocation, no JSON tree.
/// Strings are taken as written (escapes are not decoded), which keeps keys distinct as written.
public enum JSONLineParser {
    static let kinds = FieldKind.allCases
    static func index(_ k: FieldKind) -> Int { kinds.firstIndex(of: k)! }
    static let clientIndex = index(.client), isoIndex = index(.timeISO), clfIndex = index(.timeCLF), epochIndex = index(.timeEpoch)
    static let requestIndex = index(.request), methodIndex = index(.method), uriIndex = index(.uri), statusIndex = index(.status)
    static let sizeIndex = index(.size), secondsIndex = index(.requestTimeSeconds), nanosIndex = index(.requestTimeNanos)
    static let uaIndex = index(.userAgent), refererIndex = index(.referer), vhostIndex = index(.vhost)

    /// A value found for a field: its byte range and the rank of the key that supplied it.
    struct Slot {
        var s = 0
        var e = 0
        var rank = Int.max
    }

    /// Parses one line with a field map.
    public static func parse(_ base: UnsafePointer<UInt8>, start: Int, count: Int, map: JSONFieldMap) -> CombinedLogParser.Outcome {
        guard CombinedLogParser.offsetsFit(start: start, count: count) else { return .malformed(.lineTooLong) }
        return withUnsafeTemporaryAllocation(of: Slot.self, capacity: kinds.count) { slots in
            slots.initialize(repeating: Slot())
            return withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: 4) { path in
                var scanner = Scanner(base: base, i: start, end: start + count, table: map.table, slots: slots, path: path)
                scanner.skipSpaces()
                guard scanner.peek == UInt8(ascii: "{"), scanner.object(depth: 0) else { return .malformed(.badJSON) }
                scanner.skipSpaces()
                guard scanner.i == scanner.end else { return .malformed(.badJSON) }
                return record(base, slots)
            }
        }
    }

    static func record(_ base: UnsafePointer<UInt8>, _ v: UnsafeMutableBufferPointer<Slot>) -> CombinedLogParser.Outcome {
        func has(_ i: Int) -> Bool { v[i].rank != Int.max }
        var rec = ParsedRecord(clientStart: 0, clientLength: 0, methodStart: -1, methodLength: 0, pathStart: 0, pathLength: 0, status: 0, size: 0, time: 0)
        let c = v[clientIndex]
        guard has(clientIndex), c.e > c.s else { return .malformed(.missingField) }
        rec.clientStart = Int32(c.s)
        rec.clientLength = Int32(c.e - c.s)
        var time: Int64?
        if has(isoIndex) {
            let t = v[isoIndex]
            time = LogTime.parseISO8601(base + t.s, count: t.e - t.s) ?? LogTime.parseCLF(base + t.s, count: t.e - t.s)
                ?? LogTime.parseEpoch(base + t.s, count: t.e - t.s)
        }
        if time == nil && has(clfIndex) { time = LogTime.parseCLF(base + v[clfIndex].s, count: v[clfIndex].e - v[clfIndex].s) }
        if time == nil && has(epochIndex) { time = LogTime.parseEpoch(base + v[epochIndex].s, count: v[epochIndex].e - v[epochIndex].s) }
        guard let when = time else { return .malformed(has(isoIndex) || has(clfIndex) || has(epochIndex) ? .badTime : .missingTime) }
        rec.time = when
        guard has(statusIndex) else { return .malformed(.missingField) }
        let st = v[statusIndex]
        guard st.e - st.s == 3, base[st.s] &- 48 < 10, base[st.s + 1] &- 48 < 10, base[st.s + 2] &- 48 < 10 else { return .malformed(.badStatus) }
        rec.status = UInt16(base[st.s] &- 48) * 100 + UInt16(base[st.s + 1] &- 48) * 10 + UInt16(base[st.s + 2] &- 48)
        if has(sizeIndex) {
            let sz = v[sizeIndex]
            if !(sz.e - sz.s == 1 && base[sz.s] == UInt8(ascii: "-")) {
                switch CompiledFormat.integer(base, sz.s, sz.e) {
                case .value(let n): rec.size = n
                case .notANumber: return .malformed(.badSize)
                case .outOfRange: return .malformed(.numberOutOfRange)
                }
            }
        }
        if has(methodIndex) && has(uriIndex) && v[methodIndex].e > v[methodIndex].s {
            let m = v[methodIndex]
            let u = v[uriIndex]
            rec.methodStart = Int32(m.s)
            rec.methodLength = Int32(m.e - m.s)
            let q = CombinedLogParser.find(UInt8(ascii: "?"), base, from: u.s, to: u.e) ?? u.e
            rec.pathStart = Int32(u.s)
            rec.pathLength = Int32(q - u.s)
        } else if has(requestIndex) {
            RequestLine.split(base, v[requestIndex].s, v[requestIndex].e, into: &rec)
        }
        // A serving time that is not a plain number (Go may write 5e-05) is skipped, as before; one too
        // large to count with makes the line malformed, as in the other formats.
        var served = CompiledFormat.Number.notANumber
        if has(secondsIndex) { served = CompiledFormat.duration(base, v[secondsIndex].s, v[secondsIndex].e, .requestTimeSeconds) }
        if case .notANumber = served, has(nanosIndex) { served = CompiledFormat.duration(base, v[nanosIndex].s, v[nanosIndex].e, .requestTimeNanos) }
        switch served {
        case .value(let micros): rec.requestMicros = micros
        case .notANumber: break
        case .outOfRange: return .malformed(.numberOutOfRange)
        }
        if has(uaIndex), v[uaIndex].e > v[uaIndex].s {
            rec.uaStart = Int32(v[uaIndex].s)
            rec.uaLength = Int32(v[uaIndex].e - v[uaIndex].s)
        }
        if has(refererIndex), v[refererIndex].e > v[refererIndex].s, !(v[refererIndex].e - v[refererIndex].s == 1 && base[v[refererIndex].s] == UInt8(ascii: "-")) {
            rec.refererStart = Int32(v[refererIndex].s)
            rec.refererLength = Int32(v[refererIndex].e - v[refererIndex].s)
        }
        if has(vhostIndex), v[vhostIndex].e > v[vhostIndex].s {
            rec.vhostStart = Int32(v[vhostIndex].s)
            rec.vhostLength = Int32(v[vhostIndex].e - v[vhostIndex].s)
        }
        return .record(rec)
    }

    struct Scanner {
        let base: UnsafePointer<UInt8>
        var i: Int
        let end: Int
        let table: JSONFieldMap.CandidateTable
        let slots: UnsafeMutableBufferPointer<Slot>
        /// Key ranges of the enclosing objects (up to 4 deep).
        let path: UnsafeMutableBufferPointer<(Int, Int)>

        var peek: UInt8? { i < end ? base[i] : nil }

        mutating func skipSpaces() {
            while i < end && (base[i] == 0x20 || base[i] == 0x09) { i += 1 }
        }

        /// A string starting at the opening quote; returns the content range (escapes kept).
        mutating func string() -> (Int, Int)? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            let s = i + 1
            guard let q = CombinedLogParser.closingQuote(base, from: s, to: end) else { return nil }
            i = q + 1
            return (s, q)
        }

        /// A number, `true`, `false` or `null`: the raw range.
        mutating func scalar() -> (Int, Int)? {
            let s = i
            while i < end {
                let b = base[i]
                if b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") || b == 0x20 || b == 0x09 { break }
                i += 1
            }
            return i > s ? (s, i) : nil
        }

        /// Skips an array (its elements are not mapped).
        mutating func skipArray() -> Bool {
            guard peek == UInt8(ascii: "[") else { return false }
            i += 1
            var depth = 1
            while i < end && depth > 0 {
                switch base[i] {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                    continue
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                default: break
                }
                i += 1
            }
            return depth == 0
        }

        /// An object at `depth`; offers every scalar member whose dotted key path is in the table.
        mutating func object(depth: Int) -> Bool {
            guard peek == UInt8(ascii: "{"), depth < path.count else { return false }
            i += 1
            skipSpaces()
            if peek == UInt8(ascii: "}") {
                i += 1
                return true
            }
            while true {
                skipSpaces()
                guard let key = string() else { return false }
                skipSpaces()
                guard peek == UInt8(ascii: ":") else { return false }
                i += 1
                skipSpaces()
                guard let b = peek else { return false }
                if b == UInt8(ascii: "{") {
                    path[depth] = key
                    guard object(depth: depth + 1) else { return false }
                } else if b == UInt8(ascii: "[") {
                    guard skipArray() else { return false }
                } else {
                    guard let value = b == UInt8(ascii: "\"") ? string() : scalar() else { return false }
                    match(depth: depth, key: key, value: value)
                }
                skipSpaces()
                guard let sep = peek else { return false }
                i += 1
                if sep == UInt8(ascii: "}") { return true }
                guard sep == UInt8(ascii: ",") else { return false }
            }
        }

        /// Offers the value to every field whose candidate key path equals the path of this member.
        func match(depth: Int, key: (Int, Int), value: (Int, Int)) {
            var length = key.1 - key.0
            for d in 0..<depth { length += path[d].1 - path[d].0 + 1 }
            for n in 0..<table.count {
                let c = table.entries[n]
                guard c.length == length, c.rank < slots[c.kind].rank, equals(c, depth: depth, key: key) else { continue }
                slots[c.kind] = Slot(s: value.0, e: value.1, rank: c.rank)
            }
        }

        func equals(_ c: JSONFieldMap.CandidateTable.Entry, depth: Int, key: (Int, Int)) -> Bool {
            var at = table.bytes + c.offset
            for d in 0..<depth {
                let part = path[d]
                let n = part.1 - part.0
                guard memcmp(at, base + part.0, n) == 0, at[n] == UInt8(ascii: ".") else { return false }
                at += n + 1
            }
            return memcmp(at, base + key.0, key.1 - key.0) == 0
        }
    }
}
