import Foundation
import Testing

/// Runs the real binary in tmux (private socket), presses keys and reads the screen.
@Suite(.serialized) struct DashboardEndToEndTests {
    static let tmux = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first(where: FileManager.default.isExecutableFile)
    let socket = "streamtop-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    /// Runs tmux through posix_spawn and waitpid: Foundation's Process can wait forever here, because
    /// the tmux server that `new-session` forks inherits what Process uses to notice the exit.
    @discardableResult
    func tmux(_ args: String...) -> String { tmux(args) }

    @discardableResult
    func tmux(_ args: [String]) -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket)-\(UInt32.random(in: 0...UInt32.max)).out").path
        defer { unlink(output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = [Self.tmux!, "-L", socket] + args
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, Self.tmux!, &actions, nil, &cargs, environ) == 0 else { return "" }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    func screen() -> String { tmux("capture-pane", "-p", "-t", "e2e") }

    /// Waits until the screen satisfies `ok` (up to `seconds`).
    func waitFor(_ seconds: Double = 20, _ ok: (String) -> Bool) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var s = screen()
        while !ok(s) && Date() < deadline {
            usleep(100_000)
            s = screen()
        }
        return s
    }

    func taskRow(_ screen: String, _ name: String) -> String {
        screen.split(separator: "\n").first { $0.dropFirst(2).hasPrefix(name + " ") }.map(String.init) ?? ""
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func keysDoWhatTheySayAndQuitRestoresTheTerminal() throws {
        defer { tmux("kill-server") }
        let command = "cd / && TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed 1000 --loop; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", command)
        var s = waitFor { $0.contains("TASK") && $0.contains("aggregate") }
        #expect(s.contains("streamtop"), "\(s)")
        // The numbers move.
        let before = s
        s = waitFor { $0 != before && $0.contains("lines") }
        #expect(s != before)
        // parse is selected at start: pause it, its queue fills, then resume.
        tmux("send-keys", "-t", "e2e", "p")
        s = waitFor { taskRow($0, "parse").contains("PAUSED") && $0.contains("blocked by backpressure") }
        #expect(taskRow(s, "parse").contains("PAUSED"), "\(s)")
        #expect(s.contains("blocked by backpressure"), "\(s)")
        tmux("send-keys", "-t", "e2e", "space")
        s = waitFor { !taskRow($0, "parse").contains("PAUSED") }
        #expect(!taskRow(s, "parse").contains("PAUSED"))
        // Select aggregate (j), raise its priority twice, take a worker away.
        tmux("send-keys", "-t", "e2e", "j", "+", "+", "[")
        s = waitFor { $0.contains("priority 1 → 2") && $0.contains("workers 2 → 1") && taskRow($0, "aggregate").contains(" 1     2") }
        #expect(s.contains("aggregate priority 1 → 2"), "\(s)")
        #expect(taskRow(s, "aggregate").hasSuffix("1     2") || taskRow(s, "aggregate").contains(" 1     2"), "\(taskRow(s, "aggregate"))")
        // Sequences curses does not translate (PuTTY's Home and End, ESC [ H) are read whole: Home selects
        // the first task, End the last, and none of their bytes runs as a key ('[' would take a worker).
        func selected(_ screen: String) -> String {
            screen.split(separator: "\n").first { $0.hasPrefix("▶ ") }.map { String($0.dropFirst(2).prefix { $0 != " " }) } ?? ""
        }
        for (bytes, task) in [(["1b", "5b", "31", "7e"], "source"), (["1b", "5b", "34", "7e"], "sink"), (["1b", "5b", "48"], "source"), (["1b", "5b", "46"], "sink")] {
            tmux(["send-keys", "-t", "e2e", "-H"] + bytes)
            s = waitFor { selected($0) == task }
            #expect(selected(s) == task, "\(bytes) selects \(task): \(s)")
            #expect(!s.contains("no action on") && !s.contains("workers 1 →") && !s.contains("workers stay"), "\(bytes): \(s)")
        }
        // The command line and undo: pause the sink by name, then undo it.
        tmux("send-keys", "-t", "e2e", ":", "pause sink", "Enter")
        s = waitFor { taskRow($0, "sink").contains("PAUSED") }
        #expect(taskRow(s, "sink").contains("PAUSED"), "\(s)")
        tmux("send-keys", "-t", "e2e", "u")
        s = waitFor { !taskRow($0, "sink").contains("PAUSED") && $0.contains("undid") }
        #expect(!taskRow(s, "sink").contains("PAUSED"), "\(s)")
        // A command the engine refuses says why (not the optimistic "workers…" message) and leaves nothing
        // to undo: u then undoes the action before it.
        tmux("send-keys", "-t", "e2e", ":", "workers parse 99", "Enter")
        s = waitFor { $0.contains("workers stay") }
        #expect(s.contains("parse: workers stay"), "\(s)")
        tmux("send-keys", "-t", "e2e", "u")
        s = waitFor { $0.contains("undid") }
        #expect(s.contains("undid") && !s.contains("undid: workers parse 99"), "\(s)")
        // Tab shows the decision log, where the operator's actions are listed.
        tmux("send-keys", "-t", "e2e", "Tab")
        s = waitFor { $0.contains("Decisions (newest first)") && $0.contains("operator  sink") }
        #expect(s.contains("Decisions (newest first)") && s.contains("operator  sink"), "\(s)")
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        s = waitFor { $0.contains("TASK") }
        // F2 (as the terminal sends it) opens the column chooser; Space on p50 hides it, Esc closes.
        tmux("send-keys", "-t", "e2e", "F2")
        s = waitFor { $0.contains("Task table columns") && $0.contains("[x] p50") }
        tmux("send-keys", "-t", "e2e", "Down", "Down", "Down", "Space")
        s = waitFor { $0.contains("[ ] p50") && $0.contains("in settings.toml: hidden_columns = [\"p50\"]") }
        tmux("send-keys", "-t", "e2e", "Escape")
        s = waitFor { !$0.contains("Task table columns") && $0.contains("TASK") && $0.contains("p99") }
        let header = s.split(separator: "\n").first { $0.contains("TASK") }.map(String.init) ?? ""
        #expect(!header.contains("p50") && header.contains("p99"), "\(s)")
        // Help opens and closes.
        tmux("send-keys", "-t", "e2e", "?")
        s = waitFor { $0.contains("streamtop keys") && $0.contains("give the selected task one more worker") }
        #expect(s.contains("give the selected task one more worker"))
        tmux("send-keys", "-t", "e2e", "?")
        s = waitFor { !$0.contains("streamtop keys") }
        // A small terminal gets a message, not a crash.
        tmux("resize-window", "-t", "e2e", "-x", "50", "-y", "12")
        s = waitFor { $0.contains("Terminal too small") }
        #expect(s.contains("Terminal too small"))
        tmux("resize-window", "-t", "e2e", "-x", "100", "-y", "30")
        s = waitFor { $0.contains("TASK") }
        #expect(s.contains("TASK"))
        // q quits with status 0 and the shell's screen is back.
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
        #expect(!s.contains("TASK"))
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func enterDrillsIntoTheSelectedPathAndEscClosesIt() throws {
        defer { tmux("kill-server") }
        let command = "cd / && TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed 1000 --loop; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command)
        var s = waitFor { $0.contains("TASK") && $0.contains("aggregate") }
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        // Enter with nothing counted yet has nothing to open: wait for the busiest path of the sample.
        s = waitFor { $0.contains("Analytics ") && $0.contains("/favicon.ico") }
        #expect(s.contains("/favicon.ico"), "\(s)")
        // Enter on the first path opens it; the engine answers and the looping replay feeds its counts.
        tmux("send-keys", "-t", "e2e", "Enter")
        s = waitFor { $0.contains("Drill-down: path") && $0.contains("since") && $0.contains("Status") }
        #expect(s.contains("Drill-down: path") && s.contains("whole run"), "\(s)")
        #expect(s.contains("Clients ("), "the clients behind the path are listed: \(s)")
        tmux("send-keys", "-t", "e2e", "Escape")
        s = waitFor { !$0.contains("Drill-down") }
        #expect(!s.contains("Drill-down"), "\(s)")
        // The decision log has both: the drill-down opened and closed through the mailbox.
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        s = waitFor { $0.contains("Decisions (newest first)") && $0.contains("drill-down on path") && $0.contains("operator  aggregate drill-down closed") }
        #expect(s.contains("drill-down on path") && s.contains("drill-down closed"), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    /// After a replay has ended nothing more is counted, so Enter on a path reads the input file again:
    /// the overlay shows the path's whole-run breakdown, with the count the report gave it.
    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func aDrillDownAfterTheEndReadsTheInputAgain() throws {
        defer { tmux("kill-server") }
        let report = try JSONSerialization.jsonObject(with: Data(try run(["replay", realSample, "--speed", "max", "--headless"]).stdout.utf8)) as? [String: Any] ?? [:]
        let top = try #require((report["top_paths"] as? [[String: Any]])?.first)
        let (path, count) = (try #require(top["key"] as? String), try #require(top["count"] as? Int))
        let command = "cd / && TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed max; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command)
        var s = waitFor { $0.contains("■ ended") }
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        s = waitFor { $0.contains("Analytics ") && $0.contains(path) }
        tmux("send-keys", "-t", "e2e", "Enter")
        let grouped = count.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        s = waitFor { $0.contains("Drill-down: path \(path)") && $0.contains("whole input (read again): \(grouped) requests") }
        #expect(s.contains("whole input (read again): \(grouped) requests"), "\(s)")
        #expect(s.contains("Clients ("), "\(s)")
        #expect(!s.contains("would stay empty") && !s.contains("reading…"), "\(s)")
        tmux("send-keys", "-t", "e2e", "Escape")
        s = waitFor { !$0.contains("Drill-down") }
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    /// During a replay, a drill-down covers the whole run: the part read before it opened is read again,
    /// the rest counted by the engine, so at the end it shows the count the report gives the path.
    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func aDrillDownDuringAReplayCoversTheWholeRun() throws {
        defer { tmux("kill-server") }
        let report = try JSONSerialization.jsonObject(with: Data(try run(["replay", realSample, "--speed", "max", "--headless"]).stdout.utf8)) as? [String: Any] ?? [:]
        let top = try #require((report["top_paths"] as? [[String: Any]])?.first)
        let (path, count) = (try #require(top["key"] as? String), try #require(top["count"] as? Int))
        // At 100× the sample takes about forty seconds (its long silences are skipped): the drill-down
        // opens some four seconds in, with several hundred lines counted.
        let command = "cd / && TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed 100; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command)
        var s = waitFor { $0.contains("▶ 100×") }
        Thread.sleep(forTimeInterval: 4)
        tmux("send-keys", "-t", "e2e", ":focus path \(path)", "Enter")
        s = waitFor { $0.contains("Drill-down: path \(path)") && $0.contains("whole run: ") }
        #expect(!s.contains("■ ended"), "the replay ended before the drill-down opened: \(s)")
        tmux("send-keys", "-t", "e2e", ":speed max", "Enter")
        let grouped = count.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        s = waitFor { $0.contains("■ ended") && $0.contains("whole run: \(grouped) requests") }
        #expect(s.contains("whole run: \(grouped) requests"), "\(s)")
        #expect(!s.contains("again…") && !s.contains("since "), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    /// `watch`: a drill-down opened while a log grows covers what the run read before it opened (read
    /// again from the file, from where watching began: the lines already in the file at the start are not
    /// the run's), and after a rotation the new file's lines, whose offsets start over, count too.
    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func aDrillDownWhileWatchingCoversTheWholeRun() throws {
        defer { tmux("kill-server") }
        let dir = NSTemporaryDirectory() + "streamtop-watch-drill-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/access.log"
        // Every third line is for /p; line numbers make each line distinct.
        func lines(_ range: Range<Int>) -> String {
            range.map { i in
                "10.0.\(i % 7).\(i % 11) - - [10/Oct/2024:13:\(10 + i / 600):\(String(format: "%02d", (i / 10) % 60)) +0000] \"GET \(i % 3 == 0 ? "/p" : "/q\(i % 5)") HTTP/1.1\" \(i % 4 == 0 ? 404 : 200) \(100 + i) \"-\" \"curl/8.\(i % 3)\"\n"
            }.joined()
        }
        func append(_ text: String, to path: String) throws {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try h.seekToEnd()
            try h.write(contentsOf: Data(text.utf8))
            try h.close()
        }
        try lines(0..<200).write(toFile: log, atomically: false, encoding: .utf8)
        let command = "cd / && TERM=xterm-256color '\(binary)' watch '\(log)' --refresh 100ms; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command)
        var s = waitFor { $0.contains("TASK") && $0.contains("aggregate") }
        try append(lines(200..<500), to: log)
        s = waitFor { $0.contains("lines 300 ") }
        #expect(s.contains("lines 300 "), "the 200 lines already there are not the run's: \(s)")
        tmux("send-keys", "-t", "e2e", ":focus path /p", "Enter")
        // /p in lines 200..<500: 100.
        s = waitFor { $0.contains("Drill-down: path /p") && $0.contains("whole run: 100 requests") }
        #expect(s.contains("whole run: 100 requests") && !s.contains("since "), "\(s)")
        try append(lines(500..<800), to: log)
        s = waitFor { $0.contains("whole run: 200 requests") }
        #expect(s.contains("whole run: 200 requests"), "\(s)")
        // Rotation: the new file's offsets start at 0, below the boundary in the old file; they still count.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try lines(800..<950).write(toFile: log, atomically: false, encoding: .utf8)
        s = waitFor { $0.contains("whole run: 250 requests") }
        #expect(s.contains("whole run: 250 requests"), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    /// After the end, a report that counted through `--filter` or `--normalize-paths` cannot be counted
    /// again from the files: Enter says why, not that the drill-down would stay empty.
    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"), arguments: [
        (["--filter", "status >= 100"], "the report counts only what --filter passes"),
        (["--normalize-paths"], "the report counts paths as --normalize-paths folded them"),
    ])
    func aDrillDownAfterTheEndSaysWhyItCannotReadTheInputAgain(options: [String], reason: String) throws {
        defer { tmux("kill-server") }
        let quoted = options.map { "'\($0)'" }.joined(separator: " ")
        let command = "cd / && TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed max \(quoted); echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "170", "-y", "40", command)
        var s = waitFor { $0.contains("■ ended") }
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        s = waitFor { $0.contains("Analytics ") && $0.contains("Top paths") }
        tmux("send-keys", "-t", "e2e", "Enter")
        s = waitFor { $0.contains(reason) }
        #expect(s.contains("the run has ended and \(reason)"), "\(s)")
        #expect(!s.contains("would stay empty"), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    /// Enter on a group row of a pipeline result: the task itself breaks down its records with the row's
    /// keys, through the mailbox, and Esc goes back to the table.
    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func enterOnAGroupRowDrillsIntoTheTasksRecords() throws {
        defer { tmux("kill-server") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("group-drill-\(getpid()).toml").path
        defer { unlink(file) }
        let pipeline = """
            [source]
            files = ["\(realSample)"]
            speed = "1000"
            loop = true

            [[task]]
            name = "by_class"
            operator = "group"
            by = "status_class"
            every = "1m"
            """
        try pipeline.write(toFile: file, atomically: true, encoding: .utf8)
        let command = "cd / && TERM=xterm-256color '\(binary)' run '\(file)'; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command)
        var s = waitFor { $0.contains("TASK") && $0.contains("by_class") }
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        s = waitFor { $0.contains("Analytics ") && $0.contains("by_class  ") && $0.contains("2xx") }
        tmux("send-keys", "-t", "e2e", "Right", "Right", "Right", "Enter")
        s = waitFor { $0.contains("Pipeline results") && $0.contains("Esc closes") }
        // The cursor starts on the task's first row, its largest group; ↓ and ↑ skip task names.
        tmux("send-keys", "-t", "e2e", "Down", "Up", "Up")
        s = waitFor { $0.contains("Enter drills into this row") }
        #expect(s.contains("Enter drills into this row"), "\(s)")
        tmux("send-keys", "-t", "e2e", "Enter")
        let counted = { (screen: String) -> Bool in
            screen.range(of: #"\): [1-9][0-9,]* requests"#, options: .regularExpression) != nil
        }
        s = waitFor { $0.contains("Drill-down: by_class where status_class ==") && counted($0) }
        #expect(s.contains("Drill-down: by_class where status_class ==") && counted(s), "\(s)")
        #expect(!s.contains("whole run"), "\(s)")
        tmux("send-keys", "-t", "e2e", "Escape")
        s = waitFor { !$0.contains("Drill-down") && $0.contains("Pipeline results\n") }
        #expect(!s.contains("Drill-down") && s.contains("Enter drills into this row"), "Esc goes back to the table: \(s)")
        // Esc alone (an Esc followed at once by another key reads as one sequence, as in any terminal).
        tmux("send-keys", "-t", "e2e", "Escape")
        s = waitFor { !$0.contains("Esc closes") }
        tmux("send-keys", "-t", "e2e", "Tab", "Tab")
        let closed = { (screen: String) -> Bool in screen.range(of: "operator +by_class +drill-down closed", options: .regularExpression) != nil }
        s = waitFor { $0.contains("Decisions (newest first)") && $0.contains("drill-down on by_class where") && closed($0) }
        #expect(s.contains("drill-down on by_class where") && closed(s), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"))
    func aFinishedRunSaysSoAndRefusesChanges() throws {
        defer { tmux("kill-server") }
        let command = "cd / && TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed max; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command)
        var s = waitFor { $0.contains("■ ended") && $0.contains("finished in") && $0.contains("avg rate") }
        #expect(s.contains("■ ended") && s.contains("finished in") && s.contains("avg rate"), "\(s)")
        // Nothing is left to steer: a key says so, and there is nothing to undo.
        tmux("send-keys", "-t", "e2e", "p")
        s = waitFor { $0.contains("the run has ended") }
        #expect(s.contains("the run has ended: nothing to change"), "\(s)")
        tmux("send-keys", "-t", "e2e", "u")
        s = waitFor { $0.contains("the run has ended") && !$0.contains("undid") }
        #expect(!s.contains("undid"), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        s = waitFor { $0.contains("STREAMTOP-EXIT=") }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil && TestBroker.available, "needs tmux and a Kafka setup (STREAMTOP_LIBRDKAFKA)"))
    func aKafkaWatchOpensAndSaysItWaitsForAnUnreachableBroker() throws {
        // Headless, an unreachable broker is an error at start; the dashboard opens at once and says so.
        defer { tmux("kill-server") }
        let command = "cd / && TERM=xterm-256color '\(binary)' watch 'kafka://127.0.0.1:9/t?group=g'; echo STREAMTOP-EXIT=$?; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "30", command)
        let s = waitFor(8) { $0.contains("unreachable (Connection refused); retrying since") && $0.contains("partitions none") }
        #expect(s.contains("unreachable (Connection refused); retrying since"), "\(s)")
        #expect(s.contains("partitions none"), "\(s)")
        tmux("send-keys", "-t", "e2e", "q")
        let after = waitFor(5) { $0.contains("STREAMTOP-EXIT=") }
        #expect(after.contains("STREAMTOP-EXIT=0"), "\(after)")
    }

    @Test(.enabled(if: DashboardEndToEndTests.tmux != nil, "tmux is not installed"), arguments: [("#ffffff", true), ("#000000", false)])
    func aLightTerminalGetsTheLightTheme(background: String, light: Bool) throws {
        // tmux answers the background query (OSC 11) with the pane's style.
        defer { tmux("kill-server") }
        let command = "sleep 1; cd / && env -u COLORFGBG TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed 10; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "30", command)
        tmux("set", "-g", "window-style", "bg=\(background)")
        // The footer is the last line ncurses writes: once it is there, so is the rest of the frame.
        let s = waitFor(10) { $0.contains("TASK") && $0.contains("aggregate") && $0.contains(light ? "theme light" : "? help") }
        #expect(s.contains("TASK"), "\(s)")
        #expect(s.contains("theme light: the terminal's background is #ffffff") == light, "\(background): \(s)")
        // A late answer (after the query gave up) reaches the key reader: it is swallowed whole, and its
        // letters (g: graph span, b, r…) do nothing.
        tmux(["send-keys", "-t", "e2e", "-H"] + Array("\u{1b}]11;rgb:0000/0000/0000\u{1b}\\".utf8).map { String(format: "%02x", $0) })
        usleep(500_000)
        let after = screen()
        #expect(!after.contains("no action on") && !after.contains("last 1m") && after.contains("TASK"), "\(after)")
        tmux("send-keys", "-t", "e2e", "q")
    }

    @Test func sigtermRestoresTheTerminal() throws {
        guard Self.tmux != nil else { return }
        defer { tmux("kill-server") }
        let command = "cd /; TERM=xterm-256color '\(binary)' replay '\(realSample)' --speed 10 & P=$!; sleep 2; kill -TERM $P; wait $P; echo STREAMTOP-EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | sed 's/^/TTY:/'; sleep 30"
        tmux("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", command)
        // Wait for stty's report too: it prints after the exit status.
        let s = waitFor(15) { $0.contains("STREAMTOP-EXIT=") && ($0.contains("TTY:icanon") || $0.contains("TTY:-icanon")) }
        #expect(s.contains("STREAMTOP-EXIT=0"), "\(s)")
        #expect(s.contains("TTY:echo") && s.contains("TTY:icanon"), "echo and canonical mode restored: \(s)")
    }
}
