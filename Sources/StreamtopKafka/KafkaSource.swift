import CKafka
import Foundation
import StreamtopEngine
import StreamtopLogs
import Synchronization

/// Reads a Kafka topic as lines: each message is one log line (a trailing newline is dropped), so every
/// format, filter, window and pipeline that works on files works on a topic.
///
/// - `replay`: every partition from its earliest offset to the end offsets seen at start, then the end of
///   input. No group, nothing committed: a reproducible read of what the topic holds.
/// - `follow`: waits for new messages. With the address's `group`, instances with the same group share
///   the partitions (the group rebalances when one joins or leaves) and offsets are committed once the
///   lines of a message were processed (at-least-once); without a group it reads every partition.
///
/// Messages are copied straight into the block's buffer by a `LineChunker`, so an over-long message is
/// cut and counted like an over-long line of a file, and memory stays bounded.
public final class KafkaSource: ResumableLineSource, PartitionedSource, @unchecked Sendable {
    /// How the topic is read.
    public enum Mode: Sendable { case replay, follow }

    public let address: KafkaAddress
    public let mode: Mode
    /// Where a group without committed offsets, or a reader without a group, starts when following.
    private let fromBeginning: Bool
    private let client: KafkaClient
    private let chunker: LineChunker
    private var partitionIDs: [Int32] = []
    /// Said in the decision log: rebalances, brokers lost and back, commits that failed.
    public var onEvent: ((String) -> Void)?
    /// Runs on the source thread before offsets are committed: delivers the result rows written so far
    /// (a row whose window let go of its records' offsets must not be lost to a kill after the commit).
    public var beforeCommit: (() -> Void)?
    /// Per partition, how far each event-time task has written its windows (see `CommitFloors`): stored
    /// with the commit. Runs on the source thread and reads only what the tasks published.
    public var commitFloors: ((Int) -> [String: Int64])?

    // Read and written by the source thread only.
    private var started = false
    /// Messages taken from the consumer's queue a batch at a time (one lock per batch, not per message).
    private var queue: OpaquePointer?
    private let batch = UnsafeMutablePointer<UnsafeMutablePointer<ck_message_t>?>.allocate(capacity: KafkaSource.batchSize)
    private var batchCount = 0
    private var batchIndex = 0
    private static let batchSize = 1024
    private var current: UnsafeMutablePointer<ck_message_t>?
    /// A message of another partition than the block being filled: it starts the next block.
    private var held: UnsafeMutablePointer<ck_message_t>?
    /// The partition of the block being filled, and its bytes so far (a block holds one partition's
    /// lines, so that event time can be tracked per partition: see `SourcePartition`).
    private var blockPartition: Int32 = -1
    private var bytesInBlock = 0
    private var blockMessages = 0
    /// Messages per block at most. A paced replay sets it low: the pacer works through a block before it
    /// takes the next, and one partition's block can span hours of event time, during which the other
    /// partitions' lines would wait (the live view showed a quarter of the traffic). Set before reading.
    public var maxMessagesPerBlock = Int.max
    /// The offsets of the messages whose lines the block being filled holds.
    private var blockOffsets: [Int64] = []
    /// The offset of the current block's first message.
    private var blockFirstOffset: Int64 = -1
    /// Follow: when each partition last gave a message (or was assigned), in monotonic nanoseconds; a
    /// partition caught up and quiet for `idleNanos` stops holding event time back.
    private var lastMessageAt: [Int32: UInt64] = [:]
    private static let idleNanos: UInt64 = 5_000_000_000
    private var cursor = 0
    private var currentLength = 0
    /// Next offset to read per partition id (-1: nothing read yet), for commits and checkpoints.
    private var nextOffset: [Int64] = []
    /// Replay: the end offset of each partition seen at start, whether it is still being read, and how
    /// many are.
    private var endOffset: [Int64] = []
    private var replaying: [Bool] = []
    private var endConfirmed: [Bool] = []
    private var partitionsLeft = 0
    private var resumeOffsets: [Int32: Int64] = [:]
    private var lastMaintenance: UInt64 = 0
    private var blockSequence = 0
    private var assignment: [Int32] = []
    /// The partitions held before the assignment last became empty (a rebalance in progress).
    private var lastOwned: [Int32] = []
    /// Partitions a rebalance gave this member after it had read others, with the number of that
    /// assignment (see `SourcePartition.takeover`).
    private var takeovers: [Int32: Int] = [:]
    private var assignments = 0
    /// Partitions kept through a rebalance: the offset this member had read them to (see `fill`).
    private var readThrough: [Int32: Int64] = [:]
    /// Per partition assigned, the floors the group's commit came with (see `CommitFloors`), read with its
    /// first message.
    private var floors: [Int32: [String: Int64]] = [:]
    /// Whether the broker keeps commit metadata (nil: not known yet), found by reading back the first
    /// commit that carried floors, at `floorsProbe` (partition, after that time).
    private var floorsKept: Bool?
    private var floorsProbe: (partition: Int32, after: UInt64)?
    /// Whether any block was handed out since the member joined.
    private var handedOutAny = false
    private var emptyMessages = 0
    private var unreachableSince: Date?
    private var errorsSeen: UInt64 = 0
    private var splitClients = SplitClientCheck()
    /// In a group, until a split client was found once (one instance reading every partition sees whole
    /// users whatever the keys).
    private var checkSplitClients = false
    /// Whether any message came with a key.
    private var sawKeyed = false
    /// Since when a source opened without an answer from its topic waits for one (the dashboard's case).
    private var waitingSince: Date?

    private let stopped = Atomic<Bool>(false)
    private let status = Mutex(PartitionStatus())
    /// Where reading started per partition, when known (for lag before anything was processed).
    private let startOffsets = Mutex<[Int32: Int64]>([:])
    private let commits = CommitTracker()

    /// Opens the topic: asks the brokers for its partitions (waiting up to `timeoutSeconds`), so that an
    /// unreachable broker or a missing topic fails here, with one line. `settings` are librdkafka client
    /// settings (`name=value`) passed through.
    public init(
        _ address: KafkaAddress, mode: Mode, fromBeginning: Bool = false, settings: [String] = [],
        maxLineBytes: Int = LineChunker.defaultMaxLineBytes, timeoutSeconds: Double = 10, waitForBrokers: Bool = false
    ) throws {
        if mode == .replay, address.group != nil {
            throw KafkaError("replay reads the whole topic and commits nothing: drop group=\(address.group!) from \(address), or use watch")
        }
        self.address = address
        self.mode = mode
        self.fromBeginning = address.fromBeginning ?? fromBeginning
        let group = address.group ?? "streamtop-\(UInt64.random(in: 1...UInt64.max))"
        client = try KafkaClient(
            address, consumer: true,
            defaults: [
                ("group.id", group), ("enable.auto.commit", "false"), ("enable.auto.offset.store", "false"),
                ("auto.offset.reset", (mode == .replay || self.fromBeginning) ? "earliest" : "latest"),
                // Tansu (the test broker) wants at least 6 s; a dead instance's partitions move within it.
                ("session.timeout.ms", "10000"), ("heartbeat.interval.ms", "2000"),
                // Larger fetches: a log line is small and the source reads millions a second.
                ("fetch.wait.max.ms", "100"),
                // A consumer far behind holds at most this much fetched ahead (64 MiB): memory stays bounded.
                ("queued.max.messages.kbytes", "65536"),
                // When the local queue is full librdkafka pauses fetching for fetch.queue.backoff.ms, 1 s by
                // default: a replay at full speed stalled a whole second now and then (1.0 s runs became 2.0 s).
                ("fetch.queue.backoff.ms", "10"),
                // A replay ends each partition at its end: an empty one says so at once.
                ("enable.partition.eof", mode == .replay ? "true" : "false"),
            ],
            settings: settings)
        // Errors (a broker lost) and group events arrive on the main queue: send them to the consumer's,
        // which the source reads.
        _ = ck_poll_set_consumer(client.handle)
        chunker = LineChunker(sourceIndex: 0, maxLineBytes: maxLineBytes, name: address.description)
        do {
            // The dashboard does not wait long before it opens.
            try found(try client.partitions(timeoutMs: Int32((waitForBrokers && mode == .follow ? min(2, timeoutSeconds) : timeoutSeconds) * 1000)))
        } catch let e as KafkaError where waitForBrokers && mode == .follow {
            // The dashboard opens anyway and says what it waits for; reading starts once the topic answers.
            let now = Date()
            markUnreachable("\(e.description); retrying since \(Engine.clockTime(now.timeIntervalSince1970))", at: now)
            waitingSince = now
        }
    }

    deinit {
        if let m = current { ck_message_destroy(m) }
        if let m = held { ck_message_destroy(m) }
        while batchIndex < batchCount {
            if let m = batch[batchIndex] { ck_message_destroy(m) }
            batchIndex += 1
        }
        batch.deallocate()
        if let queue { ck_queue_destroy(queue) }
    }

    /// The next message or error from the consumer's queue, waiting up to `timeoutMs` when none is fetched.
    private func poll(_ timeoutMs: Int32) -> UnsafeMutablePointer<ck_message_t>? {
        if batchIndex == batchCount {
            guard let queue else { return nil }
            let n = ck_consume_batch_queue(queue, timeoutMs, batch, KafkaSource.batchSize)
            batchIndex = 0
            batchCount = max(0, n)
            if batchCount == 0 { return nil }
        }
        defer { batchIndex += 1 }
        return batch[batchIndex]
    }

    public var label: String {
        let what = mode == .replay ? "replay" : "watch"
        return "\(what) kafka \(address.topic)@\(address.brokers.first ?? "")\(address.group.map { " group \($0)" } ?? "")"
    }

    /// Sizes the per-partition state for the topic's partitions.
    private func found(_ ids: [Int32]) throws {
        partitionIDs = ids
        let slots = Int(ids.max() ?? 0) + 1
        nextOffset = Array(repeating: -1, count: slots)
        endOffset = Array(repeating: -1, count: slots)
        replaying = Array(repeating: false, count: slots)
        endConfirmed = Array(repeating: false, count: slots)
        checkSplitClients = ids.count > 1 && mode == .follow && address.group != nil
    }

    /// Asks for the topic until it answers (the dashboard is open meanwhile, saying so), waiting 1 s, then
    /// 2, 4, up to 10 between tries. Returns false when stopped first.
    private func waitForTopic() -> Bool {
        var pause = 1.0
        var said = status.withLock { $0.problem }
        while !stopped.load(ordering: .relaxed) {
            do {
                try found(try client.partitions(timeoutMs: 2000))
                // Errors from the wait are old news now.
                var code: Int32 = 0
                var buf = [CChar](repeating: 0, count: 8)
                errorsSeen = ck_take_error(&code, &buf, buf.count)
                let down = Date().timeIntervalSince(waitingSince ?? Date())
                waitingSince = nil
                unreachableSince = nil
                status.withLock {
                    $0.unreachableSince = nil
                    $0.problem = nil
                }
                onEvent?("\(address.topic) answered after \(Int(down.rounded())) s of waiting; reading it")
                return true
            } catch {
                let text = "\(error); retrying since \(Engine.clockTime((waitingSince ?? Date()).timeIntervalSince1970))"
                status.withLock { $0.problem = text }
                if said != text {
                    said = text
                    onEvent?(text)
                }
            }
            let until = Date().addingTimeInterval(pause)
            while Date() < until && !stopped.load(ordering: .relaxed) { usleep(100_000) }
            pause = min(10, pause * 2)
        }
        return false
    }


    /// The status, with each partition's lag measured now from what was processed (counted), not merely
    /// read: lines read but still queued in the pipeline (or held by a paced replay) are lag too, and the
    /// last blocks of a run count at once. (librdkafka answers the end offsets from any thread, from what
    /// its fetches saw.)
    public var partitionStatus: PartitionStatus {
        var s = status.withLock { $0 }
        let processed = commits.processedOffsets()
        let starts = startOffsets.withLock { $0 }
        s.lag = s.partitions.map { p in
            var low: Int64 = -1
            var high: Int64 = -1
            guard ck_get_watermark_offsets(client.handle, address.topic, p, &low, &high) == 0, high >= 0,
                let done = Int(p) < processed.count && processed[Int(p)] >= 0 ? processed[Int(p)] : starts[p]
            else { return nil }
            return max(0, high - max(done, low))
        }
        return s
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }

    public func nextBlock() throws -> LineBlock? { try read() }

    private func read() throws -> LineBlock? {
        if !started { try start() }
        while !stopped.load(ordering: .relaxed) {
            maintain()
            if mode == .replay && partitionsLeft == 0 && current == nil && held == nil { break }
            switch try chunker.read(with: { fill($0, $1) }) {
            case .block(let block):
                return handOut(block)
            case .endOfData, .partial:
                // No block came of the bytes (the rest of an over-long line, skipped).
                bytesInBlock = 0
                blockMessages = current == nil ? 0 : 1
                blockOffsets.removeAll(keepingCapacity: true)
                continue
            }
        }
        maintain(force: true)
        return chunker.flush().map(handOut)
    }

    /// Leaves the group, first committing what was processed when `commit` is set. Call once the engine
    /// finished; `commit` only when it drained (a block dropped by a hard stop is released too, but its
    /// lines were not counted, so they must be read again).
    public func close(commit: Bool) {
        guard started else { return }
        if commit { commitProcessed(sync: true) }
        if address.group != nil || mode == .follow { _ = ck_consumer_close(client.handle) }
    }

    // MARK: - Reading

    private func start() throws {
        if waitingSince != nil && !waitForTopic() { return }
        started = true
        if mode == .replay {
            let list = ck_topic_partition_list_new(Int32(partitionIDs.count))!
            defer { ck_topic_partition_list_destroy(list) }
            for p in partitionIDs {
                var low: Int64 = 0
                var high: Int64 = 0
                let rc = ck_query_watermark_offsets(client.handle, address.topic, p, &low, &high, 10_000)
                guard rc == 0 else { throw KafkaError("\(address): cannot read the offsets of partition \(p): \(KafkaLibrary.describe(rc))\(KafkaClient.detail)") }
                endOffset[Int(p)] = high
                replaying[Int(p)] = true
                partitionsLeft += 1
                ck_topic_partition_list_add(list, address.topic, p)!.pointee.offset = max(low, resumeOffsets[p] ?? low)
                startOffsets.withLock { $0[p] = max(low, resumeOffsets[p] ?? low) }
            }
            try check(ck_assign(client.handle, list), "assign the topic's partitions")
            assignment = partitionIDs
        } else if address.group != nil {
            if !resumeOffsets.isEmpty {
                // The checkpoint's offsets become the group's, so the partitions this member is given
                // start where the checkpoint stood.
                let list = offsetList(resumeOffsets)
                defer { ck_topic_partition_list_destroy(list) }
                let rc = ck_commit(client.handle, list, 0)
                if rc != 0 { onEvent?("could not hand the checkpoint's offsets to group \(address.group!): \(KafkaLibrary.describe(rc)); reading from the group's own offsets") }
            }
            // A member starts at the group's committed offsets, which only the checkpoint's tell here.
            startOffsets.withLock { $0 = resumeOffsets }
            let list = ck_topic_partition_list_new(1)!
            defer { ck_topic_partition_list_destroy(list) }
            ck_topic_partition_list_add(list, address.topic, -1)
            try check(ck_subscribe(client.handle, list), "join group \(address.group!)")
        } else {
            let list = ck_topic_partition_list_new(Int32(partitionIDs.count))!
            defer { ck_topic_partition_list_destroy(list) }
            for p in partitionIDs {
                ck_topic_partition_list_add(list, address.topic, p)!.pointee.offset =
                    resumeOffsets[p] ?? Int64(fromBeginning ? CK_OFFSET_BEGINNING : CK_OFFSET_END)
                var low: Int64 = -1
                var high: Int64 = -1
                if let o = resumeOffsets[p] {
                    startOffsets.withLock { $0[p] = o }
                } else if ck_query_watermark_offsets(client.handle, address.topic, p, &low, &high, 5000) == 0 {
                    startOffsets.withLock { $0[p] = fromBeginning ? low : high }
                }
            }
            try check(ck_assign(client.handle, list), "assign the topic's partitions")
            assignment = partitionIDs
        }
        queue = ck_queue_get_consumer(client.handle)
        publishStatus()
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw KafkaError("\(address): cannot \(what): \(KafkaLibrary.describe(rc))\(KafkaClient.detail)") }
    }

    /// Copies whole messages, each ended by a newline, into `buffer` (the chunker's reader): waits up to
    /// 100 ms for the first, then takes what is already fetched until the buffer is full.
    private func fill(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        var filled = 0
        while filled < capacity {
            if current == nil {
                guard !stopped.load(ordering: .relaxed), !(mode == .replay && partitionsLeft == 0 && held == nil) else { break }
                if let m = held {
                    // The message that ended the last block starts this one.
                    guard bytesInBlock == 0 && filled == 0 else { break }
                    held = nil
                    take(m)
                    continue
                }
                guard let m = poll(filled == 0 ? 100 : 0) else { break }
                let p = Int(m.pointee.partition)
                if m.pointee.err != 0 {
                    if mode == .replay && m.pointee.err == Int32(CK_ERR__PARTITION_EOF) {
                        finishReplay(of: p)
                    } else {
                        problem(m.pointee.err)
                    }
                    ck_message_destroy(m)
                    continue
                }
                if mode == .replay && !replayWants(m.pointee.offset, of: p) {
                    ck_message_destroy(m)
                    continue
                }
                if mode == .follow && address.group != nil {
                    // A rebalance is seen before its partitions' lines are handed out.
                    if !assignment.contains(m.pointee.partition) { watchAssignment() }
                    if floors[m.pointee.partition] == nil { floors[m.pointee.partition] = committedFloors(m.pointee.partition) }
                    if let through = readThrough[m.pointee.partition], m.pointee.offset < through {
                        // Kept through an eager rebalance, the partition restarts at the group's offset,
                        // which windows hold behind what this member read and counted already.
                        ck_message_destroy(m)
                        continue
                    }
                }
                if unreachableSince != nil { brokersBack() }
                if mode == .follow { lastMessageAt[m.pointee.partition] = DispatchTime.now().uptimeNanoseconds }
                if (bytesInBlock > 0 || filled > 0) && (m.pointee.partition != blockPartition || blockMessages >= maxMessagesPerBlock) {
                    // Another partition (or a full block): it starts the next block.
                    held = m
                    break
                }
                take(m)
            }
            let m = current!
            blockPartition = m.pointee.partition
            // The payload's bytes, then its newline.
            let n = min(capacity - filled, currentLength + 1 - cursor)
            let fromPayload = min(n, currentLength - cursor)
            if fromPayload > 0 { (buffer + filled).copyMemory(from: m.pointee.payload + cursor, byteCount: fromPayload) }
            if fromPayload < n { buffer.storeBytes(of: 0x0A, toByteOffset: filled + fromPayload, as: UInt8.self) }
            filled += n
            bytesInBlock += n
            cursor += n
            if cursor == currentLength + 1 {
                // A message longer than the line limit went out cut, in a block of its own, not in this one.
                if currentLength <= chunker.maxLineBytes { blockOffsets.append(m.pointee.offset) }
                let p = Int(m.pointee.partition)
                if p >= 0 && p < nextOffset.count {
                    nextOffset[p] = m.pointee.offset + 1
                    if mode == .replay && endConfirmed[p] && m.pointee.offset + 1 >= endOffset[p] { finishReplay(of: p) }
                }
                ck_message_destroy(m)
                current = nil
            }
        }
        return filled
    }

    /// Makes `m` the message being copied.
    private func take(_ m: UnsafeMutablePointer<ck_message_t>) {
        var length = m.pointee.len
        if length > 0, m.pointee.payload.load(fromByteOffset: length - 1, as: UInt8.self) == 0x0A { length -= 1 }
        if length == 0 { emptyMessages += 1 }
        // Once messages come keyed, an unkeyed one is a line the producer found no client in (malformed),
        // sent to any partition: it says nothing of how clients are spread.
        if m.pointee.key_len > 0 { sawKeyed = true }
        if checkSplitClients, length > 0, m.pointee.key_len > 0 || !sawKeyed, let payload = m.pointee.payload {
            splitClients.check(payload, count: length, partition: m.pointee.partition)
            if let f = splitClients.found { warnSplit(f) }
        }
        current = m
        cursor = 0
        currentLength = length
        if blockMessages == 0 { blockFirstOffset = m.pointee.offset }
        blockMessages += 1
    }

    /// Whether a replay still reads message `offset` of partition `p` (not beyond the partition's end).
    private func replayWants(_ offset: Int64, of p: Int) -> Bool {
        guard p >= 0 && p < replaying.count, replaying[p] else { return false }
        if !endConfirmed[p] {
            // The end as the first fetch response states it. Some Kafka-compatible brokers (Tansu 0.6)
            // answer the offsets query at start with the start of the last batch, not its end; a fetch's
            // high watermark is right, and at this point it is still the end seen at start. Until it is
            // known, the partition's end comes from its end-of-partition event.
            var low: Int64 = -1
            var high: Int64 = -1
            guard ck_get_watermark_offsets(client.handle, address.topic, Int32(p), &low, &high) == 0, high >= 0 else { return true }
            endConfirmed[p] = true
            endOffset[p] = max(endOffset[p], high)
        }
        if offset >= endOffset[p] {
            finishReplay(of: p)
            return false
        }
        return true
    }

    private func finishReplay(of p: Int) {
        guard p >= 0 && p < replaying.count, replaying[p] else { return }
        replaying[p] = false
        partitionsLeft -= 1
    }

    private func handOut(_ block: LineBlock) -> LineBlock {
        blockSequence += 1
        defer { handedOutAny = true }
        let p = Int(blockPartition)
        block.keepAlive = commits.handedOut(blockSequence, partition: p, next: p >= 0 && p < nextOffset.count ? nextOffset[p] : -1)
        if blockPartition >= 0 {
            // Offsets name rejected lines only when they match the block's lines one for one.
            let offsets = blockOffsets.count == block.physicalLineCount ? blockOffsets : []
            // A group commits: windows hold the block's offsets until their rows are written.
            let commits = address.group != nil && mode == .follow
            block.partition = SourcePartition(
                id: Int(blockPartition), open: openPartitions(), offsets: offsets, from: blockFirstOffset,
                hold: commits && blockFirstOffset >= 0 ? self.commits.hold(partition: p, from: blockFirstOffset) : nil,
                takeover: takeovers[blockPartition] ?? 0, floors: floors[blockPartition] ?? [:], floorsKept: floorsKept == true)
        }
        blockOffsets.removeAll(keepingCapacity: true)
        bytesInBlock = 0
        blockMessages = current == nil ? 0 : 1  // a message cut by the block's end goes on in the next
        blockFirstOffset = current?.pointee.offset ?? -1
        return block
    }

    /// The partitions whose records may still hold event time back: a replay's not read to their end; a
    /// live topic's assigned ones that are behind their end or gave a message within `idleNanos`.
    private func openPartitions() -> [Int] {
        if mode == .replay { return partitionIDs.filter { replaying[Int($0)] }.map(Int.init) }
        let now = DispatchTime.now().uptimeNanoseconds
        var open: [Int] = []
        for p in assignment {
            let since = lastMessageAt[p] ?? now
            if lastMessageAt[p] == nil { lastMessageAt[p] = now }  // assigned now: idle only after a while
            var low: Int64 = -1
            var high: Int64 = -1
            let next = Int(p) < nextOffset.count ? nextOffset[Int(p)] : -1
            let behind = ck_get_watermark_offsets(client.handle, address.topic, p, &low, &high) == 0 && high >= 0 && next >= 0 && next < high
            if behind || now &- since < Self.idleNanos { open.append(Int(p)) }
        }
        return open
    }

    /// Takes the client's latest error, if a new one was reported.
    private func takeErrors() {
        var code: Int32 = 0
        var buf = [CChar](repeating: 0, count: 512)
        let n = ck_take_error(&code, &buf, buf.count)
        guard n != errorsSeen else { return }
        errorsSeen = n
        let text = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let reason = Escaped.text(String(decoding: text, as: UTF8.self))
        problem(code, reason: KafkaClient.shortReason(reason) ?? reason)
    }

    private func warnSplit(_ f: (client: String, first: Int32, second: Int32)) {
        checkSplitClients = false
        onEvent?("client \(Escaped.text(f.client)) arrives on partitions \(f.first) and \(f.second): per-user results (sessions, visits) split between partitions and instances; produce keyed by client (streamtop produce --key client)")
    }

    private func problem(_ code: Int32, reason: String? = nil) {
        switch code {
        case Int32(CK_ERR__PARTITION_EOF):
            return
        case Int32(CK_ERR__TRANSPORT), Int32(CK_ERR__ALL_BROKERS_DOWN):
            guard unreachableSince == nil else { return }
            let now = Date()
            let text = "broker unreachable since \(Engine.clockTime(now.timeIntervalSince1970)), retrying (\(reason ?? KafkaLibrary.describe(code)))"
            markUnreachable(text, at: now)
            onEvent?(text)
        default:
            let text = "Kafka: \(reason ?? KafkaLibrary.describe(code))"
            // Said once while it repeats.
            guard status.withLock({ s in
                defer { s.problem = text }
                return s.problem != text
            }) else { return }
            onEvent?(text)
        }
    }

    private func markUnreachable(_ text: String, at now: Date) {
        unreachableSince = now
        status.withLock {
            $0.unreachableSince = now.timeIntervalSince1970
            $0.problem = text
        }
    }

    private func brokersBack() {
        let down = Date().timeIntervalSince(unreachableSince ?? Date())
        unreachableSince = nil
        status.withLock {
            $0.unreachableSince = nil
            $0.problem = nil
        }
        onEvent?("broker reachable again after \(Int(down.rounded())) s; reading on")
    }


    // MARK: - Upkeep: assignment, lag, commits (twice a second, on the source thread)

    private func maintain(force: Bool = false) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard force || now - lastMaintenance >= 500_000_000 else { return }
        lastMaintenance = now
        takeErrors()
        if address.group != nil && mode == .follow { watchAssignment() }
        publishStatus()
        // Not on the way out: the engine may be dropping queued blocks then, and a dropped block's
        // release must not commit it (`close` decides).
        if mode == .follow && !force && !stopped.load(ordering: .relaxed) { commitProcessed(sync: false) }
        if let probe = floorsProbe, now >= probe.after {
            // The commit that carried floors has landed by now: does the broker give them back?
            floorsProbe = nil
            floorsKept = !committedFloors(probe.partition).isEmpty
            if floorsKept == false {
                onEvent?("the brokers keep no commit metadata: after a restart or takeover, windows written just before it may be written again from part of their records (README: Delivery)")
            }
        }
    }

    private func watchAssignment() {
        var list: UnsafeMutablePointer<ck_topic_partition_list_t>?
        guard ck_assignment(client.handle, &list) == 0, let l = list else { return }
        defer { ck_topic_partition_list_destroy(l) }
        let now = (0..<Int(l.pointee.cnt)).map { l.pointee.elems[$0].partition }.sorted()
        guard now != assignment else { return }
        assignment = now
        let names = { (p: [Int32]) in "partition\(p.count == 1 ? "" : "s") \(p.map(String.init).joined(separator: ","))" }
        if now.isEmpty {
            // An eager rebalance takes every partition back first; what changed shows once it hands them out.
            onEvent?("\(names(lastOwned)) revoked — the group is rebalancing")
            return
        }
        let lost = lastOwned.filter { !now.contains($0) }
        let gained = now.filter { !lastOwned.contains($0) }
        for p in lost {
            takeovers[p] = nil
            readThrough[p] = nil
            floors[p] = nil
        }
        for p in now where lastOwned.contains(p) && Int(p) < nextOffset.count && nextOffset[Int(p)] >= 0 {
            readThrough[p] = nextOffset[Int(p)]
        }
        if handedOutAny {
            // Another member may have read these up to where the group's offsets stand: their records can
            // be behind the windows closed here (see `PartitionedWindows`).
            for p in gained {
                assignments += 1
                takeovers[p] = assignments
            }
        }
        let text: String
        switch (lastOwned.isEmpty, lost.isEmpty, gained.isEmpty) {
        case (true, _, _): text = "\(names(now)) assigned — joined group \(address.group!)"
        case (false, true, true): text = "\(names(now)) kept after a rebalance"
        case (false, true, false): text = "\(names(gained)) assigned, now \(now.map(String.init).joined(separator: ",")) — a member left"
        case (false, false, true): text = "\(names(lost)) revoked, now \(now.map(String.init).joined(separator: ",")) — a member joined"
        case (false, false, false): text = "\(names(lost)) revoked; \(gained.map(String.init).joined(separator: ",")) assigned — the group rebalanced"
        }
        lastOwned = now
        onEvent?(text)
    }

    private func publishStatus() {
        let owned = assignment
        let empty = emptyMessages
        status.withLock {
            $0.partitions = owned
            $0.emptyMessages = empty
        }
    }

    /// Commits the offsets of every message whose lines were processed (a group only).
    private func commitProcessed(sync: Bool) {
        guard address.group != nil, mode == .follow, let offsets = commits.takeCommittable() else { return }
        var map: [Int32: Int64] = [:]
        for (p, o) in offsets.enumerated() where o >= 0 && assignment.contains(Int32(p)) { map[Int32(p)] = o }
        guard !map.isEmpty else { return }
        // How far the windows were written, read after the offsets: every window the offsets passed is in.
        let written = map.keys.map { ($0, commitFloors?(Int($0)) ?? [:]) }
        // Rows whose windows let go of these offsets must be out before the offsets are committed.
        beforeCommit?()
        let list = offsetList(map)
        defer { ck_topic_partition_list_destroy(list) }
        for (p, f) in written {
            let bytes = CommitFloors.encode(f)
            guard !bytes.isEmpty, let e = element(of: list, partition: p), let buffer = malloc(bytes.count) else { continue }
            if floorsKept == nil && floorsProbe == nil {
                floorsProbe = (p, DispatchTime.now().uptimeNanoseconds + 2_000_000_000)
            }
            // The list owns its elements' metadata (freed with it).
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            e.pointee.metadata = buffer
            e.pointee.metadata_size = bytes.count
        }
        let rc = ck_commit(client.handle, list, sync ? 0 : 1)
        if rc != 0 && sync { onEvent?("offsets not committed: \(KafkaLibrary.describe(rc)) (they are read again after a restart)") }
    }

    private func element(of list: UnsafeMutablePointer<ck_topic_partition_list_t>, partition: Int32) -> UnsafeMutablePointer<ck_topic_partition_t>? {
        for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].partition == partition { return list.pointee.elems + i }
        return nil
    }

    /// The floors stored with the group's commit of partition `p` (none when there is no commit, it has no
    /// streamtop metadata, or the broker does not answer within 5 s).
    private func committedFloors(_ p: Int32) -> [String: Int64] {
        let list = ck_topic_partition_list_new(1)!
        defer { ck_topic_partition_list_destroy(list) }
        ck_topic_partition_list_add(list, address.topic, p)
        guard ck_committed(client.handle, list, 5000) == 0 else { return [:] }
        let e = list.pointee.elems[0]
        guard e.err == 0, let m = e.metadata, e.metadata_size > 0 else { return [:] }
        return CommitFloors.decode(Array(UnsafeRawBufferPointer(start: m, count: e.metadata_size)))
    }

    private func offsetList(_ offsets: [Int32: Int64]) -> UnsafeMutablePointer<ck_topic_partition_list_t> {
        let list = ck_topic_partition_list_new(Int32(offsets.count))!
        for (p, o) in offsets.sorted(by: { $0.key < $1.key }) {
            ck_topic_partition_list_add(list, address.topic, p)!.pointee.offset = o
        }
        return list
    }

    // MARK: - Checkpoints

    public var isResumable: Bool { true }

    /// One position per partition read so far: `offset` is the next offset to read.
    public func positions() -> [FilePosition] {
        var list: [FilePosition] = []
        for (p, o) in nextOffset.enumerated() {
            let offset = o >= 0 ? o : resumeOffsets[Int32(p)] ?? -1
            guard offset >= 0 else { continue }
            list.append(FilePosition(
                path: "\(address.topic)#\(p)", index: p, device: 0, inode: 0, offset: offset,
                lines: chunker.linesHandedOut, skipping: false, fingerprint: 0))
        }
        return list
    }

    /// `logs at offsets 0@1200, 1@1180 (partition@offset)`.
    public func describe(_ positions: [FilePosition]) -> String {
        let list = positions.filter { $0.path.hasPrefix("\(address.topic)#") }.map { "\($0.index)@\($0.offset)" }
        return "\(address.topic) at offsets \(list.joined(separator: ", ")) (partition@offset)"
    }

    public func resume(at positions: [FilePosition]) throws -> String {
        for pos in positions where pos.path.hasPrefix("\(address.topic)#") {
            resumeOffsets[Int32(pos.index)] = pos.offset
        }
        if let lines = positions.first?.lines { chunker.resume(offset: 0, lines: lines) }
        // Offsets take effect when the consumer starts; one already reading would deliver what it fetched
        // before as well as what it fetches again from here (a paced replay once counted 959 lines twice).
        guard !started else { throw KafkaError("\(address): a checkpoint must be restored before the topic is read") }
        guard !resumeOffsets.isEmpty else { return "\(address.topic): the checkpoint holds no offset of this topic; reading as if new" }
        let list = resumeOffsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ", ")
        return "\(address.topic) from offsets \(list) (partition@offset)"
    }
}

/// Which blocks were processed, per partition: a block's lines are done when the block (and every copy or
/// slice of it) is released, and a partition's offsets may be committed up to its newest block before which
/// every block of that partition is done. Per partition, because a paced replay merges partitions by event
/// time and hands their blocks out in another order than they were read; and a partition held back in a
/// pipeline does not hold back the others' commits.
final class CommitTracker: @unchecked Sendable {
    private struct State {
        /// Blocks handed out and not yet finished: sequence → (partition, offset after it).
        var pending: [Int: (partition: Int, next: Int64)] = [:]
        /// Per partition, its unfinished blocks' sequences in the order handed out.
        var order: [Int: [Int]] = [:]
        var done: Set<Int> = []
        var processed: [Int64] = []
        /// Live holds per partition: offset → how many (see `CommitHold`).
        var holds: [Int: [Int64: Int]] = [:]
        /// What `takeCommittable` returned last.
        var taken: [Int64] = []
    }
    private let state = Mutex(State())

    /// Records a block of `partition` handed out, with the offset reached after it; returns the token its
    /// release reports.
    func handedOut(_ sequence: Int, partition: Int, next: Int64) -> AnyObject {
        state.withLock { s in
            s.pending[sequence] = (partition, next)
            s.order[partition, default: []].append(sequence)
        }
        return ReleaseToken(sequence, tracker: self)
    }

    /// A hold on `partition` at `from` (the offset of a block's first message): until it is released,
    /// the partition is committed no further.
    func hold(partition: Int, from: Int64) -> CommitHold {
        let count = { [self] (p: Int, o: Int64) in state.withLock { $0.holds[p, default: [:]][o, default: 0] += 1 } }
        count(partition, from)
        return CommitHold(partition: partition, from: from, onHold: count) { [self] p, o in
            state.withLock { s in
                guard let n = s.holds[p]?[o] else { return }
                s.holds[p]![o] = n > 1 ? n - 1 : nil
            }
        }
    }

    fileprivate func released(_ sequence: Int) {
        state.withLock { s in
            guard let p = s.pending[sequence]?.partition else { return }
            s.done.insert(sequence)
            while let head = s.order[p]?.first, s.done.remove(head) != nil {
                s.order[p]!.removeFirst()
                let next = s.pending.removeValue(forKey: head)!.next
                guard p >= 0 else { continue }
                if p >= s.processed.count { s.processed += Array(repeating: -1, count: p + 1 - s.processed.count) }
                s.processed[p] = next
            }
        }
    }

    /// The offsets reached by every processed block, by partition (-1: no message of that partition yet).
    func processedOffsets() -> [Int64] { state.withLock { $0.processed } }

    /// Per partition, the offset up to which every block was processed and no window holds a record (nil
    /// when that did not move since the last call).
    func takeCommittable() -> [Int64]? {
        state.withLock { s in
            var offsets = s.processed
            for (p, held) in s.holds where p >= 0 && p < offsets.count {
                if let lowest = held.keys.min(), lowest < offsets[p] { offsets[p] = lowest }
            }
            guard offsets != s.taken else { return nil }
            s.taken = offsets
            return offsets
        }
    }
}

private final class ReleaseToken {
    let sequence: Int
    let tracker: CommitTracker
    init(_ sequence: Int, tracker: CommitTracker) {
        self.sequence = sequence
        self.tracker = tracker
    }
    deinit { tracker.released(sequence) }
}
