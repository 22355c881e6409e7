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
        for seq in 1...3 { tokens[seq] = tracker.handedOut(seq, offsets: [Int64(seq * 10)]) }
        tokens[3] = nil
        #expect(tracker.takeCommittable() == nil)
        tokens[1] = nil
        #expect(tracker.takeCommittable() == [10])
        #expect(tracker.takeCommittable() == nil)
        tokens[2] = nil
        #expect(tracker.takeCommittable() == [30])
    }

    @Test func secretsNeverAppearInMessages() {
        let message = KafkaClient.withoutValue("Invalid value \"hunter22\" for configuration property \"sasl.password\"", "hunter22")
        #expect(!message.contains("hunter22"))
    }
}
