import Foundation
import Testing
@testable import StreamtopAnalytics
@testable import StreamtopEngine
import StreamtopLogs
@testable import StreamtopTUI

/// The cluster view as an operator reads it: one row per instance, an unreachable one still listed with
/// since when and why, totals over the instances, and the merged analytics marked as estimates.
@Suite struct ClusterViewTests {
    func cluster() -> ClusterModel {
        var busy = sampleModel()
        var other = busy
        other.engine.checkpoint = CheckpointStatus(number: 12, time: 80.4, pauseNanos: 1_000_000, bytes: 4096)
        let lost = busy
        busy.summary.share = AccessAggregate().summary().share
        return ClusterModel(instances: [
            .init(link: RemoteStatus(endpoint: "10.0.0.1:9464", age: 0.3), model: busy),
            .init(link: RemoteStatus(endpoint: "10.0.0.2:9464", age: 0.4), model: other),
            .init(link: RemoteStatus(endpoint: "10.0.0.3:9464", age: 40, lostSince: "12:01:10", reason: "connection refused"), model: lost),
            .init(link: RemoteStatus(endpoint: "10.0.0.4:9464", age: 0, lostSince: "12:00:00", reason: "timed out"), model: nil),
        ])
    }

    func row(_ buf: ScreenBuffer, _ text: String) -> String {
        (0..<buf.height).map { buf.rowText($0) }.first { $0.contains(text) } ?? ""
    }

    @Test func everyInstanceHasARowAndTheLostOnesSayWhy() {
        let buf = ClusterView.render(cluster(), state: ClusterState(), width: 140, height: 40)
        #expect(buf.contains("cluster · 4 instances · 2 answering · 2 UNREACHABLE"), "\(buf.text)")
        let first = row(buf, "10.0.0.1:9464")
        #expect(first.hasPrefix(" ▶"), "the first instance is selected: \(first)")
        // A paused task makes the instance PAUSED; its busiest task (50%) and rate are shown.
        #expect(first.contains("PAUSED") && first.contains("parse 50%"), "\(first)")
        #expect(row(buf, "10.0.0.2:9464").contains("#12 3s"), "its checkpoint and its age: \(row(buf, "10.0.0.2:9464"))")
        let lost = row(buf, "10.0.0.3:9464")
        #expect(lost.contains("UNREACHABLE") && lost.contains("since 12:01:10 (connection refused)") && lost.contains("last seen at"), "\(lost)")
        let never = row(buf, "10.0.0.4:9464")
        #expect(never.contains("UNREACHABLE") && never.contains("since 12:00:00 (timed out)") && !never.contains("last seen"), "\(never)")
        #expect(row(buf, "TOTAL").contains("2/4 up"), "\(row(buf, "TOTAL"))")
    }

    @Test func totalsAndAnalyticsAreMergedAndMarkedAsEstimates() {
        let m = cluster()
        // Three instances have answered at least once: their figures add up (the lost one's last ones too).
        let one = sampleModel().summary
        #expect(m.merged.instances == 3)
        #expect(m.merged.summary.lines == 3 * one.lines)
        let buf = ClusterView.render(m, state: ClusterState(), width: 140, height: 40)
        #expect(buf.contains("lines \(Format.grouped(3 * one.lines))"), "\(buf.text)")
        #expect(buf.contains("Merged analytics of 3 instances (≈ estimates)"))
        // The site across instances: three at 200 req/s each, 5xx weighted by requests.
        #expect(buf.contains("site last min 600 req/s  4xx 6.6%  5xx 2.5%"), "\(buf.text)")
        // The sample's instances share no sketch (two of them have none): distinct counts are bounds.
        #expect(buf.contains("≈ distinct counts: bounds only, an instance sent no sketches"), "\(buf.text)")
        let top = one.topPaths[0]
        let line = (0..<buf.height).map { buf.rowText($0) }.first { $0.hasPrefix(" \(top.key) ") } ?? ""
        #expect(line.contains(Format.count(Double(3 * top.count))), "\(line)")
    }

    @Test func theSelectionMovesAndHelpExplainsTheMerge() {
        var state = ClusterState()
        state.selected = 2
        var buf = ClusterView.render(cluster(), state: state, width: 120, height: 30)
        #expect(row(buf, "10.0.0.3:9464").hasPrefix(" ▶"))
        #expect(buf.rowText(buf.height - 1).contains("10.0.0.3:9464 unreachable since 12:01:10: connection refused; retrying"), "\(buf.rowText(buf.height - 1))")
        #expect(ClusterView.instance(atRow: ClusterView.firstInstanceRow + 1, count: 4, selected: 2, height: 30) == 1)
        state.showHelp = true
        buf = ClusterView.render(cluster(), state: state, width: 100, height: 30)
        #expect(buf.contains("Enter") && buf.contains("HyperLogLog union"), "\(buf.text)")
        // The smallest terminal still fits the table.
        buf = ClusterView.render(cluster(), state: ClusterState(), width: 80, height: 24)
        #expect(buf.contains("CHECKPOINT") && buf.contains("TOTAL"), "\(buf.text)")
    }

    @Test func oneProcessUnderTwoAddressesCountsOnceAndAnEndedRunIsNotAFailure() {
        var a = sampleModel()
        a.instanceID = "a1"
        var ended = sampleModel()
        ended.instanceID = "b2"
        ended.engine.inputEnded = true
        let m = ClusterModel(instances: [
            .init(link: RemoteStatus(endpoint: "127.0.0.1:9464", age: 0.2), model: a),
            .init(link: RemoteStatus(endpoint: "localhost:9464", age: 0.2), model: a),
            .init(link: RemoteStatus(endpoint: "127.0.0.1:9465", age: 9, lostSince: "12:00:05", reason: "connection refused"), model: ended),
        ])
        #expect(m.merged.summary.lines == 2 * sampleModel().summary.lines, "the alias is not counted twice")
        // The ended run read nothing more: only the first instance's rate counts.
        #expect(m.inputRate == (a.engine.tasks.first?.outPerSecond ?? -1))
        let buf = ClusterView.render(m, state: ClusterState(), width: 140, height: 40)
        #expect(row(buf, "localhost:9464").contains("duplicate") && row(buf, "localhost:9464").contains("the same instance as 127.0.0.1:9464"), "\(buf.text)")
        let gone = row(buf, "127.0.0.1:9465")
        #expect(gone.contains("ended") && gone.contains("its input had ended") && !gone.contains("UNREACHABLE"), "\(gone)")
    }

    @Test func kafkaInstancesShowTheirPartitionsAndConsumerLag() {
        var a = sampleModel()
        var pa = PartitionStatus()
        pa.partitions = [0, 1]
        pa.lag = [1_200, 34]
        a.partitions = pa
        var b = sampleModel()
        var pb = PartitionStatus()
        pb.partitions = [2, 3]
        pb.lag = [0, 0]
        b.partitions = pb
        let buf = ClusterView.render(ClusterModel(instances: [
            .init(link: RemoteStatus(endpoint: "10.0.0.1:9464", age: 0.1), model: a),
            .init(link: RemoteStatus(endpoint: "10.0.0.2:9464", age: 0.1), model: b),
        ]), state: ClusterState(), width: 140, height: 30)
        #expect(buf.contains("PARTS") && buf.contains("LAG"), "\(buf.text)")
        let first = row(buf, "10.0.0.1:9464")
        #expect(first.contains("0,1") && first.contains("1.23k"), "messages behind, then the partitions: \(first)")
        #expect(row(buf, "10.0.0.2:9464").contains("2,3"), "\(row(buf, "10.0.0.2:9464"))")
    }

    @Test func manyInstancesSayWhichRowsAreShownAndNarrowTerminalsKeepTheAddresses() {
        let many = (0..<12).map { i in ClusterModel.Instance(link: RemoteStatus(endpoint: "10.0.0.\(i):9464", age: 0.1), model: sampleModel()) }
        var state = ClusterState()
        state.selected = 11
        let buf = ClusterView.render(ClusterModel(instances: many), state: state, width: 80, height: 24)
        #expect(buf.rowText(0).contains("rows 5–12"), "\(buf.rowText(0))")
        #expect(row(buf, "10.0.0.11:9464").hasPrefix(" ▶"), "the selection stays on screen: \(buf.text)")
        #expect(!buf.contains("PARTS"), "no lag and partition columns below 100 columns (they are '-' until Kafka)")
        #expect(ClusterView.instance(atRow: ClusterView.firstInstanceRow, count: 12, selected: 11, height: 24) == 4)
    }

    @Test func anAttachedDashboardSaysUnreachableFirstEvenWhenNarrow() {
        var m = sampleModel()
        m.remote = RemoteStatus(endpoint: "127.0.0.1:9464", age: 12, lostSince: "12:01:10", reason: "connection refused")
        m.speed = "20×"
        m.replayPosition = 1_732_500_000
        let buf = DashboardView.render(m, state: DashboardState(), width: 80, height: 24)
        #expect(buf.rowText(0).contains("⇄ UNREACHABLE since 12:01:10"), "\(buf.rowText(0))")
    }
}
