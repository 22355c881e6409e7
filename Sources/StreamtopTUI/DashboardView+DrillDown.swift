import Foundation
import StreamtopAnalytics
import StreamtopEngine
import StreamtopLogs

extension DashboardView {
    /// "1 request", "1,204 requests".
    static func requests(_ n: Int) -> String { "\(Format.grouped(n)) request\(n == 1 ? "" : "s")" }

    /// The drill-down over the analytics view (Enter on a path, client or status): the key's count over
    /// the whole run, then what the engine has counted of it since the drill-down opened — statuses,
    /// serving time, requests per minute, and its top clients and paths.
    static func drawDrillDown(_ buf: inout ScreenBuffer, _ m: DashboardModel, _ focus: FocusKey) {
        guard let (x0, y0, boxWidth, boxHeight) = overlayBox(&buf, minHeight: 6) else { return }
        let title = " Drill-down: " + (focus.task.map { "\($0) where " } ?? (focus.kind == "where" ? "where " : "\(focus.kind) "))
        let tx = x0 + 2 + buf.put(title, x: x0 + 2, y: y0, role: .title)
        buf.put(Sanitizer.truncate(focus.key, to: boxWidth - tx + x0 - 2) + " ", x: tx, y: y0, role: .title)
        let inner = boxWidth - 4
        let x = x0 + 2
        var y = y0 + 1
        buf.put(focus.task == nil ? "Enter or Esc closes" : "Enter or Esc goes back to the result table", x: x, y: y0 + boxHeight - 1, role: .dim)
        // The report's drill-downs are in its summary; a task's in its result.
        let published = focus.task.map { t in m.results.first { $0.task == t }?.drillDown } ?? m.summary.drillDown
        guard let d = published, d.focus == focus else {
            buf.put(Sanitizer.truncate("opening… the engine starts counting it with its next block", to: inner), x: x, y: y, role: .dim)
            return
        }
        var head: String
        if let reread = d.reread, let failure = reread.failure, reread.lines == 0 {
            // Nothing was read: no counts to show, only why.
            buf.put(Sanitizer.truncate("reading the input again failed: \(failure)", to: inner), x: x, y: y, role: .warning)
            return
        }
        if let reread = d.reread {
            // A finished run's input read again: the whole run, key by key.
            head = "whole input (read again): \(Self.requests(d.requests)), \(Format.bytes(Int(clamping: d.bytes)))"
            if !reread.done && reread.failure == nil { head += " · reading… \(Format.grouped(reread.lines)) of \(Format.grouped(reread.reportLines)) lines" }
        } else if let earlier = d.earlier {
            // A replay's files: what came before the drill-down opened is read again, the rest counted live.
            head = "whole run: \(Self.requests(d.requests)), \(Format.bytes(Int(clamping: d.bytes)))"
            if !earlier.done && earlier.failure == nil {
                head += " · reading what came before \(Engine.clockTime(d.since)) again… \(Format.percent(Int(clamping: earlier.bytes), of: Int(clamping: max(1, earlier.of))))"
            }
        } else {
            // The whole run from the report's own tables; the rest since the drill-down opened.
            head = d.wholeRun.map { "whole run \(Self.requests($0)) · " } ?? ""
            head += "since \(Engine.clockTime(d.since))"
            if let start = m.startedAt { head += " (\(Format.elapsed(max(0, start + m.engine.time - d.since))))" }
            head += ": \(Self.requests(d.requests)), \(Format.bytes(Int(clamping: d.bytes)))"
        }
        if d.estimated { head += " (over 10,000 keys: counts may fall short)" }
        buf.put(Sanitizer.truncate(head, to: inner), x: x, y: y, role: .headerValue)
        y += 1
        if let reread = d.reread {
            var note: String?
            if let failure = reread.failure {
                note = "reading the input again failed: \(failure)"
            } else if reread.done && reread.lines != reread.reportLines {
                note = "the files now hold \(Format.grouped(reread.lines)) lines; the run counted \(Format.grouped(reread.reportLines)) (they changed, or a seek skipped some)"
            }
            if let note {
                buf.put(Sanitizer.truncate(note, to: inner), x: x, y: y, role: .warning)
                y += 1
            }
        } else if let failure = d.earlier?.failure {
            let note = "reading what came before \(Engine.clockTime(d.since)) again failed (\(failure)): counts hold only what was read"
            buf.put(Sanitizer.truncate(note, to: inner), x: x, y: y, role: .warning)
            y += 1
        } else if let why = d.liveOnly, !(m.engine.inputEnded || m.engine.finished) {
            buf.put(Sanitizer.truncate("counted from when it opened: \(why)", to: inner), x: x, y: y, role: .dim)
            y += 1
        } else if d.earlier == nil && (m.engine.inputEnded || m.engine.finished) {
            let past = focus.task == nil ? "the report keeps no per-key breakdown of the past" : "the task keeps no per-record breakdown of the past"
            buf.put(Sanitizer.truncate("the input has ended: nothing more will be counted (\(past))", to: inner), x: x, y: y, role: .warning)
            y += 1
        }
        // Status codes, each in its class's colour, most frequent first.
        var sx = x + buf.put("Status  ", x: x, y: y, role: .label)
        if d.status.isEmpty { buf.put("none yet", x: sx, y: y, role: .dim) }
        for st in d.status.sorted(by: { ($0.count, $1.key) > ($1.count, $0.key) }) {
            let text = "\(st.key) \(Format.percent(st.count, of: d.requests)) (\(Format.count(Double(st.count))))  "
            guard sx + Sanitizer.width(of: text) <= x + inner else { break }
            sx += buf.put(text, x: sx, y: y, role: statusRole(st.key))
        }
        y += 1
        let lx = x + buf.put("Serving  ", x: x, y: y, role: .label)
        if let t = d.requestTime {
            let text = "p50 \(Format.duration(t.p50 * 1000)) · p95 \(Format.duration(t.p95 * 1000)) · p99 \(Format.duration(t.p99 * 1000)) · max \(Format.duration(t.max * 1000))"
            buf.put(Sanitizer.truncate(text, to: inner - (lx - x)), x: lx, y: y, role: .normal)
        } else {
            buf.put(d.requests == 0 ? "-" : "not logged by this format", x: lx, y: y, role: .dim)
        }
        y += 1
        // Every minute from the first to the last, those without a request at zero: a quiet spell or an
        // outage shows as one, not closed up. At most as many minutes as columns, the latest. In a short
        // terminal the lists below come first: the graph (and the blank line under it) only with room left
        // for a list of a few rows.
        let room = y0 + boxHeight - 2 - y
        if room >= 4 {
            drawPerMinute(&buf, d, x: x, y: y, inner: inner)
            y += room >= 7 ? 2 : 1
        }
        // A path's clients, a client's paths, a status's both.
        var lists: [(String, [KeyCount], Int)] = []
        switch focus {
        case .path: lists = [("Clients", d.topClients, d.uniqueClients)]
        case .client: lists = [("Paths", d.topPaths, d.uniquePaths)]
        case .status, .filter: lists = [("Paths", d.topPaths, d.uniquePaths), ("Clients", d.topClients, d.uniqueClients)]
        }
        // A column no wider than 64: counts stay near their keys on a wide terminal.
        let colWidth = min(64, (inner - (lists.count - 1) * 2) / lists.count)
        let rows = y0 + boxHeight - 2 - y
        guard rows >= 2 else { return }
        for (i, (name, list, distinct)) in lists.enumerated() {
            let cx = x + i * (colWidth + 2)
            buf.put("\(name) (\(Format.grouped(distinct)))", x: cx, y: y, role: .label)
            for (r, item) in list.prefix(rows - 1).enumerated() {
                let share = Format.percent(item.count, of: d.requests)
                buf.put(Sanitizer.truncate(item.key, to: colWidth - 16), x: cx, y: y + 1 + r, role: .normal)
                buf.putRight("\(Format.count(Double(item.count))) \(share)", right: cx + colWidth, y: y + 1 + r, role: .headerValue)
            }
            if list.isEmpty { buf.put("none yet", x: cx, y: y + 1, role: .dim) }
        }
    }

    /// The drill-down's requests per minute as a sparkline on row `y`.
    private static func drawPerMinute(_ buf: inout ScreenBuffer, _ d: DrillDownSummary, x: Int, y: Int, inner: Int) {
        let columns = max(1, inner - 40)
        var counts: [Double] = []
        if let first = d.perMinute.first?.minute, let last = d.perMinute.last?.minute {
            let from = max(first, last - Int64(columns - 1) * 60)
            let byMinute = Dictionary(d.perMinute.map { ($0.minute, $0.count) }, uniquingKeysWith: +)
            counts = stride(from: from, through: last, by: 60).map { Double(byMinute[$0] ?? 0) }
        }
        let (line, peak) = sparkline(counts, width: columns)
        buf.put("Per min  ", x: x, y: y, role: .label)
        buf.put(line, x: x + 9, y: y, role: .sparkline)
        if let last = d.perMinute.last {
            buf.putRight("\(Format.count(Double(last.count))) at \(LogTime.clock(last.minute).prefix(5)), peak \(Format.count(peak)) ", right: x + inner, y: y, role: .dim)
        }
    }
}
