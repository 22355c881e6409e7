/// Which JSON keys hold which field. Nested objects are addressed with dots (`request.remote_ip`).
/// The defaults cover nginx `escape=json` logs with the variable names as keys, Caddy and Traefik.
public struct JSONFieldMap: Sendable, Equatable {
    /// Candidate key paths per field, tried in order; the first present wins.
    public var keys: [FieldKind: [String]]

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
        ]
    }

    /// Sets the key path for a field (e.g. from `--json-field client=src_ip`), tried before the defaults.
    public mutating func set(_ kind: FieldKind, to path: String) {
        keys[kind, default: []].insert(path, at: 0)
    }
}

/// Reads one JSON object per line with a byte-level scanner: no allocation, no full JSON tree.
/// Strings are taken as written (escapes are not decoded), which keeps keys distinct as written.
public enum JSONLineParser {
    /// Parses one line with a field map.
    public static func parse(_ base: UnsafePointer<UInt8>, start: Int, count: Int, map: JSONFieldMap) -> CombinedLogParser.Outcome {
        var scanner = Scanner(base: base, i: start, end: start + count)
        var found = Found()
        scanner.skipSpaces()
        guard scanner.peek == UInt8(ascii: "{") else { return .malformed(.badJSON) }
        var path: [(Int, Int)] = []  // key ranges of enclosing objects
        guard scanner.object(path: &path, map: map, found: &found) else { return .malformed(.badJSON) }
        scanner.skipSpaces()
        guard scanner.i == scanner.end else { return .malformed(.badJSON) }
        return found.record(base)
    }

    /// The value ranges found so far, with the rank of the key that supplied each (lower is preferred).
    struct Found {
        var values: [FieldKind: (s: Int, e: Int, rank: Int, string: Bool)] = [:]

        mutating func offer(_ kind: FieldKind, _ s: Int, _ e: Int, rank: Int, string: Bool) {
            if let old = values[kind], old.rank <= rank { return }
            values[kind] = (s, e, rank, string)
        }

        func record(_ base: UnsafePointer<UInt8>) -> CombinedLogParser.Outcome {
            var rec = ParsedRecord(clientStart: 0, clientLength: 0, methodStart: -1, methodLength: 0, pathStart: 0, pathLength: 0, status: 0, size: 0, time: 0)
            guard let c = values[.client], c.e > c.s else { return .malformed(.missingField) }
            rec.clientStart = Int32(c.s)
            rec.clientLength = Int32(c.e - c.s)
            var time: Int64?
            if let t = values[.timeISO] {
                time = LogTime.parseISO8601(base + t.s, count: t.e - t.s) ?? LogTime.parseCLF(base + t.s, count: t.e - t.s)
                    ?? LogTime.parseEpoch(base + t.s, count: t.e - t.s)
            }
            if time == nil, let t = values[.timeCLF] { time = LogTime.parseCLF(base + t.s, count: t.e - t.s) }
            if time == nil, let t = values[.timeEpoch] { time = LogTime.parseEpoch(base + t.s, count: t.e - t.s) }
            guard let when = time else { return .malformed(values.keys.contains { [.timeISO, .timeCLF, .timeEpoch].contains($0) } ? .badTime : .missingTime) }
            rec.time = when
            guard let st = values[.status] else { return .malformed(.missingField) }
            guard st.e - st.s == 3, (st.s..<st.e).allSatisfy({ base[$0] &- 48 < 10 }) else { return .malformed(.badStatus) }
            rec.status = UInt16(base[st.s] &- 48) * 100 + UInt16(base[st.s + 1] &- 48) * 10 + UInt16(base[st.s + 2] &- 48)
            if let sz = values[.size], !(sz.e - sz.s == 1 && base[sz.s] == UInt8(ascii: "-")) {
                guard let v = CompiledFormat.integer(base, sz.s, sz.e) else { return .malformed(.badSize) }
                rec.size = v
            }
            if let m = values[.method], let u = values[.uri], m.e > m.s {
                rec.methodStart = Int32(m.s)
                rec.methodLength = Int32(m.e - m.s)
                let q = CombinedLogParser.find(UInt8(ascii: "?"), base, from: u.s, to: u.e) ?? u.e
                rec.pathStart = Int32(u.s)
                rec.pathLength = Int32(q - u.s)
            } else if let r = values[.request] {
                RequestLine.split(base, r.s, r.e, into: &rec)
            }
            for kind in [FieldKind.requestTimeSeconds, .requestTimeNanos] {
                if let d = values[kind], let micros = CompiledFormat.duration(base, d.s, d.e, kind) {
                    rec.requestMicros = micros
                    break
                }
            }
            return .record(rec)
        }
    }

    struct Scanner {
        let base: UnsafePointer<UInt8>
        var i: Int
        let end: Int

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
            while i < end, let b = peek, b != UInt8(ascii: ","), b != UInt8(ascii: "}"), b != UInt8(ascii: "]"), b != 0x20, b != 0x09 { i += 1 }
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

        /// An object; offers every scalar member whose dotted key path is in the map.
        mutating func object(path: inout [(Int, Int)], map: JSONFieldMap, found: inout Found) -> Bool {
            guard peek == UInt8(ascii: "{"), path.count < 4 else { return false }
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
                    path.append(key)
                    guard object(path: &path, map: map, found: &found) else { return false }
                    path.removeLast()
                } else if b == UInt8(ascii: "[") {
                    guard skipArray() else { return false }
                } else {
                    let isString = b == UInt8(ascii: "\"")
                    guard let value = isString ? string() : scalar() else { return false }
                    match(path: path, key: key, value: value, string: isString, map: map, found: &found)
                }
                skipSpaces()
                guard let sep = peek else { return false }
                i += 1
                if sep == UInt8(ascii: "}") { return true }
                guard sep == UInt8(ascii: ",") else { return false }
            }
        }

        /// Offers the value to every field whose candidate key path equals `path.key`.
        func match(path: [(Int, Int)], key: (Int, Int), value: (Int, Int), string: Bool, map: JSONFieldMap, found: inout Found) {
            let length = path.reduce(0) { $0 + $1.1 - $1.0 + 1 } + key.1 - key.0
            for (kind, candidates) in map.keys {
                for (rank, candidate) in candidates.enumerated() where candidate.utf8.count == length {
                    if equals(candidate, path: path, key: key) {
                        found.offer(kind, value.0, value.1, rank: rank, string: string)
                        break
                    }
                }
            }
        }

        func equals(_ candidate: String, path: [(Int, Int)], key: (Int, Int)) -> Bool {
            var c = candidate.utf8.makeIterator()
            for (n, part) in (path + [key]).enumerated() {
                if n > 0 { guard c.next() == UInt8(ascii: ".") else { return false } }
                for j in part.0..<part.1 {
                    guard c.next() == base[j] else { return false }
                }
            }
            return c.next() == nil
        }
    }
}
