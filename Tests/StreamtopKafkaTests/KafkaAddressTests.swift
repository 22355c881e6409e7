import Foundation
import Testing
@testable import StreamtopKafka

@Suite struct KafkaAddressTests {
    @Test func parsesBrokersTopicGroupAndStart() throws {
        let a = try KafkaAddress(parsing: "kafka://b1:9092,b2/access_log_topic?group=streamtop&from=beginning")
        #expect(a.brokers == ["b1:9092", "b2:9092"])
        #expect(a.topic == "access_log_topic")
        #expect(a.group == "streamtop")
        #expect(a.fromBeginning == true)
        #expect(a.description == "kafka://b1:9092,b2:9092/access_log_topic?group=streamtop&from=beginning")
        let v6 = try KafkaAddress(parsing: "kafka://[::1]:19092/t")
        #expect(v6.brokers == ["[::1]:19092"])
        #expect(v6.group == nil && v6.fromBeginning == nil)
    }

    @Test func refusesMalformedAddressesWithTheirReason() {
        let cases: [(String, String)] = [
            ("kafka://host:9092", "no topic"),
            ("kafka://host:9092/", "no topic"),
            ("kafka://host:99999/t", "port must be 1-65535"),
            ("kafka://host:x/t", "port must be 1-65535"),
            ("kafka://,host/t", "a broker is empty"),
            ("kafka://host/bad topic", "a topic name is"),
            ("kafka://host/t?grp=1", "unknown setting 'grp'"),
            ("kafka://host/t?from=yesterday", "from wants beginning or latest"),
            ("kafka://host/t?group=", "group wants a name"),
            ("kafka://ho st/t", "bad broker host"),
            ("http://host/t", "is not a Kafka address"),
        ]
        for (text, reason) in cases {
            #expect(throws: KafkaError.self, "\(text)") { try KafkaAddress(parsing: text) }
            do {
                _ = try KafkaAddress(parsing: text)
            } catch {
                #expect("\(error)".contains(reason), "\(text): \(error)")
            }
        }
    }

    @Test func offsetsBecomeCommittableOnlyWhenEveryEarlierBlockIsProcessed() {
        // Blocks finish out of order on two workers; committing block 3's offsets while block 2 is still
        // queued would lose block 2's lines after a crash.
        let tracker = CommitTracker()
        var tokens: [Int: AnyObject] = [:]
        for seq in 1...3 { tokens[seq] = tracker.handedOut(seq, partition: 0, next: Int64(seq * 10)) }
        tokens[3] = nil
        #expect(tracker.takeCommittable() == nil)
        tokens[1] = nil
        #expect(tracker.takeCommittable() == [10])
        #expect(tracker.takeCommittable() == nil)
        tokens[2] = nil
        #expect(tracker.takeCommittable() == [30])
    }

    @Test func eachPartitionCommitsAsFarAsItsOwnBlocksAreProcessed() {
        // A paced replay hands partition 1's block (read second) out first; partition 0's is still queued.
        let tracker = CommitTracker()
        var tokens: [Int: AnyObject] = [:]
        tokens[1] = tracker.handedOut(1, partition: 0, next: 64)
        tokens[2] = tracker.handedOut(2, partition: 1, next: 64)
        tokens[2] = nil
        #expect(tracker.takeCommittable() == [-1, 64], "partition 1 is done; partition 0 is not")
        tokens[3] = tracker.handedOut(3, partition: 1, next: 128)
        tokens[1] = nil
        #expect(tracker.processedOffsets() == [64, 64])
        tokens[3] = nil
        #expect(tracker.takeCommittable() == [64, 128])
    }

    @Test func secretsNeverAppearInMessages() {
        let message = KafkaClient.withoutValue("Invalid value \"hunter22\" for configuration property \"sasl.password\"", "hunter22")
        #expect(!message.contains("hunter22"))
    }
}

@Suite struct CommitTrackerConcurrencyTests {
    @Test func blocksReleasedOnManyThreadsCommitExactlyTheOffsetsOfTheLastOne() {
        // Workers drop blocks on their own threads, in any order; the source thread takes what may be
        // committed. Whatever the interleaving, offsets only move forward and end at the last block's.
        let tracker = CommitTracker()
        let count = 2_000
        var tokens: [AnyObject?] = (1...count).map { tracker.handedOut($0, partition: 0, next: Int64($0)) }
        let box = TokenBox(tokens)
        tokens.removeAll()
        var seen: [Int64] = []
        let group = DispatchGroup()
        for t in 0..<4 {
            DispatchQueue.global().async(group: group) {
                var i = t
                while i < count {
                    box.release(i)
                    i += 4
                }
            }
        }
        while group.wait(timeout: .now() + .milliseconds(1)) == .timedOut {
            if let o = tracker.takeCommittable() { seen.append(o[0]) }
        }
        if let o = tracker.takeCommittable() { seen.append(o[0]) }
        #expect(seen == seen.sorted())
        #expect(seen.last == Int64(count))
    }
}

/// Tokens released by index from several threads (each index by one thread only).
final class TokenBox: @unchecked Sendable {
    private let tokens: UnsafeMutablePointer<AnyObject?>
    private let count: Int
    init(_ list: [AnyObject?]) {
        count = list.count
        tokens = .allocate(capacity: list.count)
        tokens.initialize(from: list, count: list.count)
    }
    deinit {
        tokens.deinitialize(count: count)
        tokens.deallocate()
    }
    func release(_ i: Int) { tokens[i] = nil }
}
