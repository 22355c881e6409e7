import Testing
import StreamtopKafka

/// The floors a Kafka group's commit carries as metadata (see `CommitFloors`).
@Suite struct CommitFloorsTests {
    @Test func theFloorsTravelAsCommitMetadata() {
        let floors: [String: Int64] = ["visits": 1_732_493_100, "per client": 42]
        #expect(CommitFloors.decode(CommitFloors.encode(floors)) == floors)
        #expect(CommitFloors.encode([:]).isEmpty)
        #expect(CommitFloors.decode(Array("some other client's metadata".utf8)).isEmpty)
        #expect(CommitFloors.decode([]).isEmpty)
        // A name that would break the format is left out rather than corrupting the others.
        #expect(CommitFloors.decode(CommitFloors.encode(["a\tb": 1, "ok": 2])) == ["ok": 2])
    }
}
