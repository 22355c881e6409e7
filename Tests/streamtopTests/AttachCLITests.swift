import Foundation
import Testing

/// `streamtop attach URL`: the dashboard of a running instance in another terminal. Keys become commands
/// the instance applies (with its token), read-only without one, and an instance that goes away is shown
/// as unreachable, not as a frozen screen.
@Suite(.serialized) struct AttachCLITests {
    @Test func anAddressThatCannotBeAttachedIsOneClearLine() throws {
        let cases: [([String], String)] = [
            (["attach", "127.0.0.1:1"], "streamtop: cannot attach to 127.0.0.1:1: connection refused\n"),
            (["attach", "ftp://example"], "streamtop: attach wants an instance's address like 127.0.0.1:9464 or http://host:9464; got 'ftp://example'\n"),
            (["attach", "127.0.0.1:1", "--control-token-file", "/nonexistent"], "streamtop: cannot read control token file /nonexistent\n"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr == message, "\(args)")
        }
        // An instance list: the same instance twice, or none at all.
        let list = NSTemporaryDirectory() + "streamtop-instances-\(getpid())"
        defer { unlink(list) }
        try "# the cluster\n127.0.0.1:9464\n\nhttp://127.0.0.1:9464/  # again\n".write(toFile: list, atomically: true, encoding: .utf8)
        var r = try run(["attach", "--instances", list])
        #expect(r.status == 1 && r.stderr == "streamtop: instance http://127.0.0.1:9464/ is listed twice (also as 127.0.0.1:9464)\n", "\(r.stderr)")
        try "# nobody yet\n".write(toFile: list, atomically: true, encoding: .utf8)
        r = try run(["attach", "--instances", list])
        #expect(r.status == 64 && r.stderr.contains("lists no instance"), "\(r.status) \(r.stderr)")
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func theClusterViewListsMergesAndOpensInstancesAndKeepsALostOne() throws {
        let service = ServiceCLITests()
        // One seed for both, as a consumer group would be started: their distinct counts can be unioned.
        let seed = ["STREAMTOP_HASH_SEED": "0x5eed"]
        let (first, port1, dir1) = try service.startListening(["--speed", "5"], environment: seed)
        let (second, port2, dir2) = try service.startListening(["--speed", "5"], environment: seed)
        let ui = DashboardEndToEndTests()
        defer {
            ui.tmux("kill-server")
            service.stop(first, dir1)
            service.stop(second, dir2)
        }
        let command = "cd / && TERM=xterm-256color '\(binary)' attach 127.0.0.1:\(port1) 127.0.0.1:\(port2) --every 250ms; echo STREAMTOP-EXIT=$?; sleep 30"
        ui.tmux("new-session", "-d", "-s", "e2e", "-x", "150", "-y", "40", command)
        var s = ui.waitFor { $0.contains("2 answering") && $0.contains("Merged analytics of 2 instances") }
        #expect(s.contains("cluster · 2 instances · 2 answering"), "\(s)")
        let rows = s.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.contains("127.0.0.1:\(port1)") && $0.contains("running") }, "\(s)")
        #expect(rows.contains { $0.contains("127.0.0.1:\(port2)") && $0.contains("running") }, "\(s)")
        #expect(rows.contains { $0.contains("TOTAL") && $0.contains("2/2 up") }, "\(s)")
        #expect(s.contains("distinct counts: HyperLogLog union"), "the same seed: sketches union \(s)")

        // Enter opens the second instance's own dashboard; q comes back to the cluster.
        ui.tmux("send-keys", "-t", "e2e", "Down", "Enter")
        // Each wait names everything the check after it reads: ncurses writes a frame in pieces, and a
        // capture between two pieces shows its top without its bottom line.
        s = ui.waitFor { $0.contains("⇄ 127.0.0.1:\(port2)") && $0.contains("aggregate") && $0.contains("q: back to the cluster") }
        #expect(s.contains("⇄ 127.0.0.1:\(port2)") && s.contains("q: back to the cluster"), "\(s)")
        ui.tmux("send-keys", "-t", "e2e", "q")
        s = ui.waitFor { $0.contains("cluster · 2 instances") }
        #expect(s.contains("cluster · 2 instances"), "\(s)")

        // The second instance dies (a clean stop would show as "ended"): it stays listed, unreachable since a
        // time, and the first answers on.
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()
        s = ui.waitFor { $0.contains("1 answering") && $0.contains("UNREACHABLE") && $0.contains("1/2 up") }
        let lost = s.split(separator: "\n").first { $0.contains("127.0.0.1:\(port2)") }.map(String.init) ?? ""
        #expect(lost.contains("UNREACHABLE") && lost.contains("since") && lost.contains("last seen at"), "\(s)")
        #expect(s.contains("TOTAL") && s.contains("1/2 up"), "\(s)")
        ui.tmux("send-keys", "-t", "e2e", "q")
        s = ui.waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func keysReachTheInstanceAndALostInstanceIsShown() throws {
        let service = ServiceCLITests()
        let tokenFile = NSTemporaryDirectory() + "streamtop-attach-token-\(getpid())"
        try "attach-test-token-0123456789".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { unlink(tokenFile) }
        let (instance, port, _) = try service.startListening(["--speed", "2", "--control-token-file", tokenFile])
        let ui = DashboardEndToEndTests()
        defer {
            ui.tmux("kill-server")
            if instance.isRunning { instance.terminate() }
        }
        let command = "cd / && TERM=xterm-256color '\(binary)' attach 127.0.0.1:\(port) --control-token-file '\(tokenFile)'; echo STREAMTOP-EXIT=$?; sleep 30"
        ui.tmux("new-session", "-d", "-s", "e2e", "-x", "150", "-y", "40", command)
        var s = ui.waitFor { $0.contains("⇄ 127.0.0.1:\(port)") && $0.contains("aggregate") }
        #expect(s.contains("⇄ 127.0.0.1:\(port) · data"), "the header names the instance and the data's age: \(s)")

        // p pauses the selected task (parse) on the instance: its own API says so.
        ui.tmux("send-keys", "-t", "e2e", "p")
        s = ui.waitFor { ui.taskRow($0, "parse").contains("PAUSED") }
        #expect(ui.taskRow(s, "parse").contains("PAUSED"), "\(s)")
        let dashboard = try service.send("http://127.0.0.1:\(port)/api/v1/dashboard")
        #expect(dashboard.body.contains(#""name":"parse""#) && dashboard.body.contains(#""state":"paused""#), "\(dashboard.body.prefix(300))")
        // u undoes it there too; a typed command goes the same way.
        ui.tmux("send-keys", "-t", "e2e", "u")
        s = ui.waitFor { !ui.taskRow($0, "parse").contains("PAUSED") && $0.contains("undid") }
        #expect(!ui.taskRow(s, "parse").contains("PAUSED"), "\(s)")
        ui.tmux("send-keys", "-t", "e2e", ":", "workers nosuch 2", "Enter")
        s = ui.waitFor { $0.contains("unknown task 'nosuch'") }
        #expect(s.contains("unknown task 'nosuch'"), "\(s)")

        // The instance goes away: the last frame stays, marked unreachable.
        instance.interrupt()
        instance.waitUntilExit()
        s = ui.waitFor { $0.contains("UNREACHABLE since") }
        #expect(s.contains("UNREACHABLE since"), "\(s)")
        #expect(s.contains("aggregate"), "the last frame stays on screen")
        ui.tmux("send-keys", "-t", "e2e", "q")
        s = ui.waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func withoutATokenTheDashboardIsReadOnly() throws {
        let service = ServiceCLITests()
        let (instance, port, _) = try service.startListening(["--speed", "2"])
        let ui = DashboardEndToEndTests()
        defer {
            ui.tmux("kill-server")
            instance.terminate()
        }
        ui.tmux("new-session", "-d", "-s", "e2e", "-x", "150", "-y", "40", "cd / && TERM=xterm-256color '\(binary)' attach http://127.0.0.1:\(port)/; sleep 5")
        _ = ui.waitFor { $0.contains("aggregate") }
        ui.tmux("send-keys", "-t", "e2e", "p")
        let s = ui.waitFor { $0.contains("read-only") }
        #expect(s.contains("read-only"), "\(s)")
        #expect(!ui.taskRow(s, "parse").contains("PAUSED"))
        // Quit before the session goes: a tmux server killed under a running dashboard started from the
        // test runner was seen to linger with its pane.
        ui.tmux("send-keys", "-t", "e2e", "q")
        _ = ui.waitFor(5) { !$0.contains("aggregate") }
    }
}
