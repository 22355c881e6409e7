import StreamtopEngine
import StreamtopLogs

/// Enriches records in place for every later task (filters, groups, windows, the report):
/// folds ids out of paths (`/users/123` → `/users/:id`), replaces the client by its network
/// (`10.1.2.3` → `10.1.2.0/24`), and settles bot detection once per record so later `bot` tests and
/// `agent` keys read a flag. Rewritten fields point at bytes appended after the block's lines, so nothing
/// is allocated per record. Stateless: any number of workers may run it.
public final class MapOperator: StreamOperator {
    /// What the map does.
    public struct Options: Sendable, Equatable {
        /// Fold ids in paths.
        public var normalizePaths = false
        /// Replace IPv4 clients by their network of this many bits (nil: keep the address).
        public var clientPrefix: Int?
        /// Groups kept of IPv6 clients when `clientPrefix` is set (3 = /48).
        public var ipv6Groups = 3
        /// Decide bot or human once per record.
        public var markBots = false

        /// Options that change nothing.
        public init(normalizePaths: Bool = false, clientPrefix: Int? = nil, markBots: Bool = false) {
            self.normalizePaths = normalizePaths
            self.clientPrefix = clientPrefix
            self.markBots = markBots
        }
    }

    /// What this task does.
    public let options: Options

    /// Bot verdicts per worker slot, so that each worker keeps its own without locking per record.
    private let caches = Locked<[Int: BotVerdictCache]>([:])

    /// Creates the operator.
    public init(_ options: Options) { self.options = options }

    public var maxParallelism: Int { Int.max }
    public var takes: (any BatchPayload.Type)? { ParsedBlock.self }

    public func process(_ batch: Batch, slot: Int) -> OperatorOutput {
        let parsed = batch.payload(as: ParsedBlock.self)
        // Room for the longest possible rewrite of every record, made once so the buffer moves at most once.
        var room = 0
        for r in parsed.records {
            if options.normalizePaths && r.hasPath { room += 3 * Int(r.pathLength) + 3 }
            if options.clientPrefix != nil { room += Int(r.clientLength) + 8 }
        }
        // After a fan-out other tasks read the same block: rewrite a copy of it, made with the room (a copy
        // and then a larger buffer for the room moved every block twice).
        let lines = batch.shared ? parsed.lines.copy(reserving: room) : parsed.lines
        if room > 0 { lines.reserveDerived(room) }
        let base = lines.base
        // Unretained in the loop: `caches` holds it. As a reference it was retained and released around
        // every record's lookup (seen in the compiled loop).
        let bots = options.markBots ? Unmanaged.passUnretained(caches.withLock { c in
            if let cache = c[slot] { return cache }
            let cache = BotVerdictCache()
            c[slot] = cache
            return cache
        }) : nil
        var records = parsed.records
        records.withUnsafeMutableBufferPointer { recs in
            for k in recs.indices {
                var r = recs[k]
                if options.normalizePaths && r.hasPath {
                    let n = PathNormalizer.normalize(base + Int(r.pathStart), Int(r.pathLength), into: lines.derivedEnd)
                    r.pathStart = lines.commitDerived(n)
                    r.pathLength = Int32(n)
                    r.flags |= ParsedRecord.Flags.pathNormalized
                }
                if let bits = options.clientPrefix {
                    let n = RecordField.network(base + Int(r.clientStart), Int(r.clientLength), ipv4Bits: bits, ipv6Groups: options.ipv6Groups, into: lines.derivedEnd)
                    r.clientStart = lines.commitDerived(n)
                    r.clientLength = Int32(n)
                }
                if let bots {
                    let bot = r.flags & ParsedRecord.Flags.botChecked != 0 ? BotDetector.isBot(r, base)
                        : r.hasUserAgent && bots._withUnsafeGuaranteedRef { $0.isBot(base + Int(r.uaStart), Int(r.uaLength)) }
                    r.flags |= ParsedRecord.Flags.botChecked | (bot ? ParsedRecord.Flags.bot : 0)
                }
                recs[k] = r
            }
        }
        let out = ParsedBlock(lines: lines, records: records, malformed: parsed.malformed, filtered: parsed.filtered, newest: parsed.newest, tailNewest: parsed.tailNewest)
        return OperatorOutput(batch: batch.derived(payload: out, records: records.count))
    }
}

extension MapOperator: CheckpointableOperator {
    /// No state (its caches are caches), but its options shape what every later task counts.
    public var stateShape: String { "map \(StateShape.digest(String(describing: options)))" }
    public func saveState(_ w: inout StateWriter) {}
    public func restoreState(_ r: inout StateReader) throws {}
}
