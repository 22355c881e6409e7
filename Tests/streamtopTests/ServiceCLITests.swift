import Foundation
import Testing

/// `--listen`: a running instance serves Prometheus metrics and a health check over HTTP, checked with
/// Prometheus's own text parser; a taken address is one clear line.
@Suite(.serialized) struct ServiceCLITests {
    /// Fetches a URL with Python's standard library (no HTTP client in the test's dependencies).
    func fetch(_ url: String) throws -> (status: Int32, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Sends a request with Python's standard library; returns the HTTP status and the body.
    func send(_ url: String, method: String = "GET", body: String? = nil, token: String? = nil) throws -> (code: Int, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import sys, urllib.request, urllib.error
            url, method, body, token = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
            req = urllib.request.Request(url, method=method, data=body.encode() if method == "POST" else None)
            if token: req.add_header("Authorization", "Bearer " + token)
            try:
                r = urllib.request.urlopen(req, timeout=5); code, text = r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                code, text = e.code, e.read().decode()
            sys.stdout.write(str(code) + "\\n" + text)
            """, url, method, body ?? "", token ?? ""]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return (Int(parts.first ?? "") ?? -1, parts.count > 1 ? String(parts[1]) : "")
    }

    /// Runs a Python client script with the port as its argument; its standard output, then its errors.
    func python(_ script: String, port: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, port]
        let out = Pipe()
        p.standardOutput = out
        let errors = NSTemporaryDirectory() + "streamtop-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err"
        FileManager.default.createFile(atPath: errors, contents: nil)
        defer { unlink(errors) }
        p.standardError = FileHandle(forWritingAtPath: errors)
        try p.run()
        let got = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return got + ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
    }

    /// Stops an instance from `startListening` and removes its folder.
    func stop(_ p: Process, _ dir: String) {
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Starts a slow replay listening on a free port; returns the process and the port.
    func startListening(_ extra: [String] = [], environment: [String: String] = [:], openFiles: Int? = nil) throws -> (Process, String, String) {
        let dir = NSTemporaryDirectory() + "streamtop-listen-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["replay", realSample, "--speed", "50", "--headless", "--report", "none", "--listen", "127.0.0.1:0", "--filter", "status < 600"] + extra
        if let openFiles {
            // A low limit on open files, soft and hard, for the instance only.
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -n \(openFiles) && exec \"$0\" \"$@\"", binary] + p.arguments!
        }
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: dir + "/err.txt", contents: nil)
        p.standardError = FileHandle(forWritingAtPath: dir + "/err.txt")
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        for _ in 0..<100 {
            let err = (try? String(contentsOfFile: dir + "/err.txt", encoding: .utf8)) ?? ""
            if let r = err.range(of: "listening on http://127.0.0.1:") {
                let port = err[r.upperBound...].prefix { $0.isNumber }
                return (p, String(port), dir)
            }
            usleep(50_000)
        }
        p.terminate()
        Issue.record("no 'listening on' line")
        return (p, "0", dir)
    }

    @Test func aFollowedLogsBacklogIsAGauge() throws {
        // watch, not replay: the backlog of the followed file is what an alert on falling behind watches.
        let dir = NSTemporaryDirectory() + "streamtop-backlog-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "".write(toFile: dir + "/access.log", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["watch", dir + "/access.log", "--headless", "--report", "none", "--listen", "127.0.0.1:0"]
        FileManager.default.createFile(atPath: dir + "/err.txt", contents: nil)
        p.standardError = FileHandle(forWritingAtPath: dir + "/err.txt")
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { stop(p, dir) }
        var port = ""
        for _ in 0..<100 where port.isEmpty {
            let err = (try? String(contentsOfFile: dir + "/err.txt", encoding: .utf8)) ?? ""
            if let r = err.range(of: "listening on http://127.0.0.1:") { port = String(err[r.upperBound...].prefix { $0.isNumber }) }
            usleep(50_000)
        }
        let metrics = try fetch("http://127.0.0.1:\(port)/metrics")
        #expect(metrics.body.contains("# TYPE streamtop_input_backlog_bytes gauge\nstreamtop_input_backlog_bytes 0\n"), "\(metrics.body.prefix(2000))")
    }

    @Test func metricsParseWithPrometheusOwnParserAndCountWhatTheReportCounts() throws {
        let (p, port, dir) = try startListening(["--state", "st"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        usleep(1_500_000)
        let health = try fetch("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 0 && health.body == "ok\n")
        let metrics = try fetch("http://127.0.0.1:\(port)/metrics")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(metrics.status == 0)
        let text = metrics.body
        for name in ["streamtop_task_records_in_total{task=\"parse\"}", "streamtop_edge_queue_depth{edge=\"parse->filter\"}",
                     "streamtop_responses_total{class=\"2xx\"}", "streamtop_malformed_lines_total{reason=\"bad_status\"}",
                     "streamtop_task_batch_latency_seconds{task=\"aggregate\",quantile=\"0.99\"}", "streamtop_checkpoint_number",
                     "process_cpu_seconds_total", "process_resident_memory_bytes"] {
            #expect(text.contains(name + " "), "\(name) missing")
        }
        // Counters in Prometheus's sense: requests counted = records the report counted so far (never a label per path or client).
        #expect(!text.contains("path=") && !text.contains("client="))
        // Prometheus's own parser (PyPI prometheus_client) accepts every line; .ci/run installs it.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", """
            import sys
            try:
                from prometheus_client.parser import text_string_to_metric_families
            except ImportError:
                print("SKIP"); sys.exit(0)
            fams = list(text_string_to_metric_families(sys.stdin.read()))
            names = {f.name for f in fams}
            assert "streamtop_task_records_in" in names, names
            assert all(s.value >= 0 for f in fams for s in f.samples)
            print("OK", len(fams))
            """]
        let input = Pipe(), output = Pipe()
        check.standardInput = input
        check.standardOutput = output
        check.standardError = output
        try check.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let verdict = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        if verdict.hasPrefix("SKIP") {
            print("skipped the Prometheus parser check: python3 has no prometheus_client (pip install prometheus_client)")
        } else {
            #expect(check.terminationStatus == 0 && verdict.hasPrefix("OK"), "\(verdict)")
        }
    }

    @Test func theSnapshotIsJSONAndCommandsNeedTheToken() throws {
        let tokenFile = NSTemporaryDirectory() + "streamtop-token-\(getpid())"
        try "abcdefghijklmnop-0123\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let (p, port, dir) = try startListening(["--control-token-file", tokenFile])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = "http://127.0.0.1:\(port)"
        usleep(800_000)
        let doc = try send(base + "/api/v1/snapshot")
        #expect(doc.code == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(doc.body.utf8)) as? [String: Any])
        #expect((json["snapshot"] as? [String: Any])?["tasks"] != nil)
        #expect((json["report"] as? [String: Any])?["lines"] is Int)
        #expect(try send(base + "/api/v1/commands", method: "POST", body: "pause parse").code == 401)
        #expect(try send(base + "/api/v1/commands", method: "POST", body: "pause parse", token: "abcdefghijklmnop-0124").code == 401)
        let bad = try send(base + "/api/v1/commands", method: "POST", body: "{\"command\": \"pause nosuchtask\"}", token: "abcdefghijklmnop-0123")
        #expect(bad.code == 400 && bad.body.contains("nosuchtask"), "\(bad)")
        // The answer is what the engine did, from its decision log.
        let pause = try send(base + "/api/v1/commands", method: "POST", body: "pause parse", token: "abcdefghijklmnop-0123")
        #expect(pause.code == 200 && pause.body.hasPrefix("parse: paused"), "\(pause)")
        // Understood but not applied (parse already has the most workers it can): 409 with the engine's reason.
        let capped = try send(base + "/api/v1/commands", method: "POST", body: "workers parse 1024", token: "abcdefghijklmnop-0123")
        #expect(capped.code == 409 && capped.body.contains("workers stay 2") && capped.body.contains("capped at 2"), "\(capped)")
        var paused = false
        for _ in 0..<40 where !paused {
            usleep(50_000)
            paused = try send(base + "/metrics").body.contains("streamtop_task_paused{task=\"parse\"} 1")
        }
        #expect(paused)
        // Refusals are 409 with the reason, whoever refused: the engine (a pause of a paused task) or the
        // front end (a step while the replay plays).
        let token = "abcdefghijklmnop-0123"
        let again = try send(base + "/api/v1/commands", method: "POST", body: "pause parse", token: token)
        #expect(again.code == 409 && again.body.contains("already paused"), "\(again)")
        let step = try send(base + "/api/v1/commands", method: "POST", body: "step 10s", token: token)
        #expect(step.code == 409 && step.body.contains("while the replay is paused"), "\(step)")
        let help = try send(base + "/api/v1/commands", method: "POST", body: "help", token: token)
        #expect(help.code == 200 && help.body.contains("pause TASK"), "\(help)")
        #expect(try send(base + "/api/v1/commands", method: "POST", body: "resume parse", token: token).code == 200)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        // Without a token file, control is off and says so.
        let (q, port2, dir2) = try startListening()
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        let off = try send("http://127.0.0.1:\(port2)/api/v1/commands", method: "POST", body: "pause parse", token: "anything")
        #expect(off.code == 403 && off.body.contains("control is off"))
        kill(q.processIdentifier, SIGTERM)
        q.waitUntilExit()
    }

    @Test func theStreamPushesALinePerTickAndAClientThatNeverReadsHoldsNothingUp() throws {
        let (p, port, dir) = try startListening(["--every", "100ms"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A client that asks for the stream and never reads it.
        let idle = Process()
        idle.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        idle.arguments = ["python3", "-c", "import socket, time, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.sendall(b'GET /api/v1/stream HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); time.sleep(4)", port]
        try idle.run()
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        reader.arguments = ["python3", "-c", """
            import sys, json, urllib.request
            r = urllib.request.urlopen(sys.argv[1], timeout=5)
            lines = [json.loads(r.readline()) for _ in range(3)]
            print(len(lines), all("tasks" in l for l in lines), lines[0]["lines"] <= lines[2]["lines"])
            """, "http://127.0.0.1:\(port)/api/v1/stream"]
        let out = Pipe()
        reader.standardOutput = out
        try reader.run()
        let got = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        reader.waitUntilExit()
        #expect(got == "3 True True\n", "\(got)")
        // The pipeline kept going meanwhile, and stops cleanly with the idle client still connected.
        let health = try send("http://127.0.0.1:\(port)/healthz")
        #expect(health.code == 200)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        idle.terminate()
        idle.waitUntilExit()
    }

    /// Slowloris, silent and never-reading clients, and 1000 idle connections at once: each connection
    /// gets a deadline (2 s here, STREAMTOP_HTTP_IDLE_SECONDS; 30 s by default) to send its request, and a
    /// blocked write as long; meanwhile other clients are served and the pipeline runs.
    @Test func slowSilentAndManyClientsAreCutOffWhileOthersAreServed() throws {
        let (p, port, dir) = try startListening(["--speed", "1", "--loop"], environment: ["STREAMTOP_HTTP_IDLE_SECONDS": "2"])
        defer { stop(p, dir) }
        let got = try python("""
            import socket, sys, time, resource, urllib.request
            port = int(sys.argv[1])
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
            def closed(s, wait):
                s.settimeout(wait)
                try:
                    return s.recv(1) == b""
                except (socket.timeout, OSError) as e:
                    return isinstance(e, ConnectionResetError)
            silent = socket.create_connection(("127.0.0.1", port))
            drip = socket.create_connection(("127.0.0.1", port)); drip.sendall(b"GET /healthz HTTP/1.1\\r\\n")
            deaf = socket.create_connection(("127.0.0.1", port)); deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            deaf.sendall(b"GET /api/v1/stream HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            many = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
            t0 = time.time(); fast = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read() == b"ok\\n"; took = time.time() - t0
            dripped = True
            for _ in range(6):
                try:
                    drip.sendall(b"X"); time.sleep(1)
                except OSError:
                    dripped = False; break
            print("healthz", fast, took < 1)
            print("silent closed", closed(silent, 5))
            print("drip cut off", not dripped or closed(drip, 3))
            print("many closed", sum(closed(s, 0.5) for s in many[:50]) == 50)
            print("metrics", b"streamtop_lines_total" in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read())
            """, port: port)
        #expect(got == "healthz True True\nsilent closed True\ndrip cut off True\nmany closed True\nmetrics True\n", "\(got)")
        #expect(p.isRunning, "the instance survived")
    }

    /// A flood of connections that exhausts the descriptors makes FlyingFox's server stop accepting and
    /// close everything; the instance says so and listens again on the same port, instead of serving
    /// nothing for the rest of its run.
    @Test func aConnectionFloodTakesTheEndpointAwayForAMomentOnly() throws {
        let (p, port, dir) = try startListening(["--speed", "1", "--loop"], openFiles: 64)
        defer { stop(p, dir) }
        let got = try python("""
            import socket, sys, time, urllib.request
            port = int(sys.argv[1])
            flood = []
            for _ in range(100):
                try:
                    flood.append(socket.create_connection(("127.0.0.1", port), timeout=2))
                except OSError:
                    break
            time.sleep(1)
            for s in flood: s.close()
            for _ in range(40):
                try:
                    print(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read().decode().strip()); break
                except OSError:
                    time.sleep(0.25)
            """, port: port)
        #expect(got == "ok\n", "the endpoint answers again: \(got)")
        let err = (try? String(contentsOfFile: dir + "/err.txt", encoding: .utf8)) ?? ""
        #expect(err.contains("the HTTP server stopped (out of file descriptors: too many connections at once); listening again on port \(port)"), "\(err)")
        #expect(p.isRunning)
    }

    @Test func aTakenAddressIsOneClearLine() throws {
        let (p, port, dir) = try startListening()
        defer {
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let r = try run(["replay", sample, "--headless", "--listen", "127.0.0.1:\(port)"])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").filter { !$0.hasPrefix("streamtop: format") } == ["streamtop: cannot listen on 127.0.0.1:\(port): Address already in use"], "\(r.stderr)")
        let bad = try run(["replay", sample, "--headless", "--listen", "9464"])
        #expect(bad.stderr.contains("--listen wants HOST:PORT"))
    }
}
