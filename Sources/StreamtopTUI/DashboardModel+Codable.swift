import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

/// The model as JSON, for `GET /api/v1/dashboard` and `streamtop attach`: an attached dashboard draws
/// exactly what the instance's own dashboard would, from the same model. The link status is the
/// client's own and is not sent.
extension DashboardModel: Codable {
    enum CodingKeys: String, CodingKey {
        case engine, summary, malformedReasons, recentRejects, source, speed, replayPosition, replayPaused, recordingSpan, results, replaySpeed, replayPass, instanceID, inputWarning, startedAt, processCPU, processRSS, backlogBytes, eventLag, partitions
    }

    /// One malformed-reason count (a tuple in the model).
    struct ReasonCount: Codable {
        var reason: String
        var count: Int
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            engine: try c.decode(EngineSnapshot.self, forKey: .engine), summary: try c.decode(AccessSummary.self, forKey: .summary),
            malformedReasons: try c.decode([ReasonCount].self, forKey: .malformedReasons).map { ($0.reason, $0.count) },
            recentRejects: try c.decode([String].self, forKey: .recentRejects), source: try c.decode(String.self, forKey: .source),
            speed: try c.decodeIfPresent(String.self, forKey: .speed), replayPosition: try c.decodeIfPresent(Int64.self, forKey: .replayPosition),
            replayPaused: try c.decode(Bool.self, forKey: .replayPaused))
        recordingSpan = try c.decodeIfPresent(ClosedRange<Int64>.self, forKey: .recordingSpan)
        results = try c.decode([ResultSummary].self, forKey: .results)
        replaySpeed = try c.decodeIfPresent(Double.self, forKey: .replaySpeed)
        replayPass = try c.decodeIfPresent(Int.self, forKey: .replayPass)
        instanceID = try c.decodeIfPresent(String.self, forKey: .instanceID)
        inputWarning = try c.decodeIfPresent(String.self, forKey: .inputWarning)
        startedAt = try c.decodeIfPresent(Double.self, forKey: .startedAt)
        processCPU = try c.decodeIfPresent(Double.self, forKey: .processCPU)
        processRSS = try c.decodeIfPresent(Int.self, forKey: .processRSS)
        backlogBytes = try c.decodeIfPresent(Int64.self, forKey: .backlogBytes)
        partitions = try c.decodeIfPresent(PartitionStatus.self, forKey: .partitions)
        eventLag = try c.decodeIfPresent(Double.self, forKey: .eventLag)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(engine, forKey: .engine)
        try c.encode(summary, forKey: .summary)
        try c.encode(malformedReasons.map { ReasonCount(reason: $0.0, count: $0.1) }, forKey: .malformedReasons)
        try c.encode(recentRejects, forKey: .recentRejects)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(speed, forKey: .speed)
        try c.encodeIfPresent(replayPosition, forKey: .replayPosition)
        try c.encode(replayPaused, forKey: .replayPaused)
        try c.encodeIfPresent(recordingSpan, forKey: .recordingSpan)
        try c.encode(results, forKey: .results)
        try c.encodeIfPresent(replaySpeed, forKey: .replaySpeed)
        try c.encodeIfPresent(replayPass, forKey: .replayPass)
        try c.encodeIfPresent(instanceID, forKey: .instanceID)
        try c.encodeIfPresent(inputWarning, forKey: .inputWarning)
        try c.encodeIfPresent(startedAt, forKey: .startedAt)
        try c.encodeIfPresent(processCPU, forKey: .processCPU)
        try c.encodeIfPresent(processRSS, forKey: .processRSS)
        try c.encodeIfPresent(backlogBytes, forKey: .backlogBytes)
        try c.encodeIfPresent(partitions, forKey: .partitions)
        try c.encodeIfPresent(eventLag, forKey: .eventLag)
    }

    /// The coders both ends use: infinite speeds and empty ratios travel as strings, not as an error.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    /// See `encoder()`.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
