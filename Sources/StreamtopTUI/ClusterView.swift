import Foundation
import StreamtopAnalytics
import StreamtopEngine

/// Renders the cluster view: one row per instance, the totals, and the analytics merged across instances.
/// Pure, like `DashboardView`.
public enum ClusterView {
    /// Smallest terminal the table fits (the per-instance dashboard goes smaller).
    public static let minimumSize = (width: 80, height: 20)

    /// The screen row of the first instance.
    public static let firstInstanceRow = 4

    /// The keys of the cluster view and what they do (the help screen and the hint bar).
    public static let keys: [(String, String)] = [
        ("↑ ↓ k j", "select an instance"),
        ("Enter", "open the selected instance's dashboard (q there comes back here)"),
        ("q", "quit"),
        ("?", "this help"),
    ]

    /// Draws one frame.
    public static func render(_ model: ClusterModel, state: ClusterState, width: Int, height: Int) -> ScreenBuffer {
        var buf = ScreenBuffer(width: width, height: height)
        guard width >= minimumSize.width, height >= minimumSize.height else {
            DashboardView.drawTooSmall(&buf, needs: minimumSize)
            return buf
        }
        let (top, rows) = window(count: model.instances.count, selected: state.selected, height: height)
        drawHeader(&buf, model, shown: rows < model.instances.count ? (top + 1)...(top + rows) : nil)
        let columns = Columns(width: width)
        drawTableHeader(&buf, columns, y: firstInstanceRow - 1)
        for (i, instance) in model.instances.enumerated().dropFirst(top).prefix(rows) {
            drawInstance(&buf, columns, instance, selected: i == state.selected, y: firstInstanceRow + i - top)
        }
        var y = firstInstanceRow + rows
        drawTotals(&buf, columns, model, y: y)
        y += 2
        drawMerged(&buf, model, state.thresholds, y: y, rows: height - 1 - y)
        drawHints(&buf, model, state)
        if state.showHelp { drawHelp(&buf) }
        return buf
    }

    /// How many instance rows fit, and the first one shown (the selection stays on screen).
    static func window(count: Int, selected: Int, height: Int) -> (first: Int, rows: Int) {
        let rows = min(count, max(3, (height - 8) / 2))
        return (max(0, min(selected - rows + 1, count - rows)), rows)
    }

    /// The instance a click on row `y` selects, if any.
    public static func instance(atRow y: Int, count: Int, selected: Int, height: Int) -> Int? {
        let (first, rows) = window(count: count, selected: selected, height: height)
        let i = y - firstInstanceRow
        return i >= 0 && i < rows ? first + i : nil
    }

    /// Where each column starts: the instance's address takes what the fixed columns leave; the data age
    /// appears when there is room for it.
    struct Columns {
        let instance = 3
        let instanceWidth: Int
        let state: Int
        let rate: Int  // right edges of the numbers
        let lines: Int
        /// Consumer lag and partitions (`-` until Kafka input) are left out below 100 columns, where the
        /// addresses need the room to tell instances apart.
        let lag: Int?
        let parts: Int?
        let busiest: Int
        let checkpoint: Int
        let age: Int?  // right edge

        init(width: Int) {
            // state 11, in/s 7, lines 7, [lag 5, parts 5,] busiest 12, checkpoint 10, each after a space.
            let withKafka = width >= 100
            let fixed = 12 + 8 + 8 + (withKafka ? 14 : 0) + 13 + 11 + 1
            let withAge = width - 3 - fixed - 7 >= 22
            // Addresses rarely need more than 30 columns; wider terminals keep the slack on the right.
            instanceWidth = min(30, max(12, width - 3 - fixed - (withAge ? 7 : 0)))
            state = instance + instanceWidth + 1
            rate = state + 12 + 7
            lines = rate + 8
            lag = withKafka ? lines + 8 : nil
            parts = lag.map { $0 + 6 }
            busiest = (parts ?? lines) + 1
            checkpoint = busiest + 13
            age = withAge ? checkpoint + 11 + 6 : nil
        }
    }

    static func drawHeader(_ buf: inout ScreenBuffer, _ m: ClusterModel, shown: ClosedRange<Int>?) {
        buf.fill(x: 0, y: 0, width: buf.width, height: 2, role: .header)
        var x = buf.put(" streamtop ", x: 0, y: 0, role: .title)
        let lost = m.instances.count - m.answering
        x += buf.put(" cluster · \(m.instances.count) instance\(m.instances.count == 1 ? "" : "s") · \(m.answering) answering", x: x, y: 0, role: .header)
        if lost > 0 { x += buf.put(" · \(lost) UNREACHABLE", x: x, y: 0, role: .headerWarning) }
        // More instances than rows: which are on screen (↑/↓ scroll).
        if let shown { buf.put(" · rows \(shown.lowerBound)–\(shown.upperBound) ↑↓", x: x, y: 0, role: .header) }
        buf.putRight(m.clock + " ", right: buf.width, y: 0, role: .header)

        // Totals line, merged.
        let s = m.merged.summary
        var items: [(String, String, Role)] = [
            ("lines", Format.grouped(s.lines), .headerValue),
            ("rate", Format.count(m.inputRate) + "/s", .headerValue),
            ("records", Format.grouped(s.records), .headerValue),
            ("malformed", Format.grouped(s.malformed), s.malformed > 0 ? .headerWarning : .headerValue),
            ("clients", distinct(s.uniqueClients, m.merged, clients: true), .headerValue),
            ("paths", distinct(s.uniquePaths, m.merged, clients: false), .headerValue),
        ]
        if let rt = s.requestTime {
            items.append(("served p50/p99", Format.duration(rt.p50 * 1000) + "/" + Format.duration(rt.p99 * 1000), .headerValue))
        }
        var cx = 1
        for (label, value, role) in items {
            let w = Sanitizer.width(of: label) + 1 + Sanitizer.width(of: value) + 2
            if cx + w > buf.width { break }
            cx += buf.put(label + " ", x: cx, y: 1, role: .header)
            cx += buf.put(value, x: cx, y: 1, role: role)
            cx += 2
        }
        buf.put(Sanitizer.truncate(mergeNote(m.merged), to: buf.width - 2), x: 1, y: 2, role: .dim)
    }

    /// A distinct count as merged: `≈12,345` for a union, `12,345–20,001` when only bounds are known.
    static func distinct(_ value: Int, _ merged: MergedSummary, clients: Bool) -> String {
        switch merged.distinct {
        case .single: return Format.grouped(value)
        case .union: return "≈" + Format.grouped(value)
        case .bounds(let c, let p, _): return Format.grouped(value) + "–" + Format.grouped(clients ? c : p)
        }
    }

    /// What the merged figures are: which parts are estimates, and why.
    static func mergeNote(_ m: MergedSummary) -> String {
        switch m.distinct {
        case .single:
            return m.instances == 0 ? "no instance has answered yet" : "one instance: its own figures"
        case .union, .bounds:
            // Most important first: a narrow terminal cuts the end.
            var parts: [String] = []
            if case .bounds(_, _, let seedsDiffer) = m.distinct {
                parts.append(seedsDiffer
                    ? "≈ distinct counts: bounds only, the instances hash with different seeds (set one STREAMTOP_HASH_SEED)"
                    : "≈ distinct counts: bounds only, an instance sent no sketches (older version?)")
            } else {
                parts.append("≈ distinct counts: HyperLogLog union ±1.6%")
            }
            let bound = max(m.pathsBound, m.clientsBound)
            parts.append(bound > 0 ? "top lists short by ≤\(Format.count(Double(bound)))" : "top lists exact")
            if !m.requestTimeMerged { parts.append("served time left out (an instance sent no histogram)") }
            parts.append("counts summed")
            return parts.joined(separator: " · ")
        }
    }

    static func drawTableHeader(_ buf: inout ScreenBuffer, _ c: Columns, y: Int) {
        buf.fill(x: 0, y: y, width: buf.width, role: .tableHeader)
        buf.put("INSTANCE", x: c.instance, y: y, role: .tableHeader)
        buf.put("STATE", x: c.state, y: y, role: .tableHeader)
        buf.putRight("IN/s", right: c.rate, y: y, role: .tableHeader)
        buf.putRight("LINES", right: c.lines, y: y, role: .tableHeader)
        if let lag = c.lag, let parts = c.parts {
            buf.putRight("LAG", right: lag, y: y, role: .tableHeader)
            buf.putRight("PARTS", right: parts, y: y, role: .tableHeader)
        }
        buf.put("BUSIEST", x: c.busiest, y: y, role: .tableHeader)
        buf.put("CHECKPOINT", x: c.checkpoint, y: y, role: .tableHeader)
        if let age = c.age { buf.putRight("DATA", right: age, y: y, role: .tableHeader) }
    }

    /// The instance's state in a word: running, PAUSED (a task paused), ended, UNREACHABLE.
    static func stateLabel(_ i: ClusterModel.Instance) -> (String, Role) {
        if i.sameAs != nil { return ("duplicate", .dim) }
        // Gone after its input ended: a finished run that exited, not a failure.
        if i.link.lostSince != nil, let m = i.model, m.engine.inputEnded || m.engine.finished { return ("ended", .taskFinished) }
        guard let m = i.model, i.link.lostSince == nil else { return ("UNREACHABLE", .warning) }
        if m.engine.finished { return ("finished", .taskFinished) }
        if m.engine.tasks.contains(where: { $0.state == .paused }) { return ("PAUSED", .taskPaused) }
        if m.engine.inputEnded { return ("draining", .taskIdle) }
        if i.link.age >= 2 { return ("stale", .warning) }
        return ("running", .taskRunning)
    }

    static func drawInstance(_ buf: inout ScreenBuffer, _ c: Columns, _ i: ClusterModel.Instance, selected: Bool, y: Int) {
        if selected {
            buf.fill(x: 0, y: y, width: buf.width, role: .selected)
            buf.put("▶", x: 1, y: y, role: .selected)
        }
        func role(_ r: Role) -> Role { selected ? .selected : r }
        buf.put(Sanitizer.truncate(i.link.endpoint, to: c.instanceWidth), x: c.instance, y: y, role: role(.task))
        let (label, stateRole) = stateLabel(i)
        buf.put(label, x: c.state, y: y, role: selected && stateRole != .warning ? .selected : stateRole)
        if let first = i.sameAs {
            buf.put(Sanitizer.truncate("the same instance as \(first): counted once", to: buf.width - c.state - 13), x: c.state + 12, y: y, role: role(.dim))
            return
        }
        guard let m = i.model, i.link.lostSince == nil else {
            // Unreachable: since when and why, and what it had done when last seen, across the other columns.
            var text = "since \(i.link.lostSince ?? "start")"
            if let m = i.model, m.engine.inputEnded || m.engine.finished {
                text += ": its input had ended"
            } else if let r = i.link.reason {
                text += " (\(r))"
            }
            if let m = i.model { text += ", last seen at \(Format.grouped(m.summary.lines)) lines" }
            buf.put(Sanitizer.truncate(text, to: buf.width - c.state - 13), x: c.state + 12, y: y, role: role(.dim))
            return
        }
        let e = m.engine
        buf.putRight(Format.count(i.inputRate), right: c.rate, y: y, role: role(.headerValue))
        buf.putRight(Format.count(Double(m.summary.lines)), right: c.lines, y: y, role: role(.normal))
        // Lag: messages behind the partitions' ends for a Kafka input, bytes not read yet of a followed file.
        if let lag = c.lag, let parts = c.parts {
            if let k = m.partitions {
                buf.putRight(k.totalLag.map { Format.count(Double($0)) } ?? "?", right: lag, y: y, role: role((k.totalLag ?? 0) > 1_000_000 ? .warning : .normal))
            } else if let behind = m.backlogBytes {
                buf.putRight(Format.bytes(Int(behind)), right: lag, y: y, role: role(behind > 16 << 20 ? .warning : .normal))
            } else {
                buf.putRight("-", right: lag, y: y, role: role(.dim))
            }
            if let k = m.partitions, !k.partitions.isEmpty {
                buf.putRight(Sanitizer.truncate(k.partitions.map(String.init).joined(separator: ","), to: 8), right: parts, y: y, role: role(.normal))
            } else {
                buf.putRight("-", right: parts, y: y, role: role(.dim))
            }
        }
        if let busy = e.tasks.dropFirst().max(by: { $0.busyRatio < $1.busyRatio }), busy.busyRatio > 0.005 {
            let pct = " \(Int((busy.busyRatio * 100).rounded()))%"
            let name = Sanitizer.truncate(busy.name, to: 12 - pct.count)
            buf.put(name + pct, x: c.busiest, y: y, role: role(busy.busyRatio > 0.8 ? .warning : .normal))
        } else {
            buf.put("-", x: c.busiest, y: y, role: role(.dim))
        }
        let (ckpt, ckptRole) = checkpoint(e.checkpoint, now: e.time)
        buf.put(ckpt, x: c.checkpoint, y: y, role: role(ckptRole))
        if let age = c.age {
            buf.putRight(i.link.age < 10 ? String(format: "%.1fs", i.link.age) : Format.elapsed(i.link.age), right: age, y: y, role: role(i.link.age >= 2 ? .warning : .dim))
        }
    }

    /// The last checkpoint in ten columns: `#12 4s ago`, `FAILED ×2`, `none`.
    static func checkpoint(_ c: CheckpointStatus?, now: Double) -> (String, Role) {
        guard let c else { return ("-", .dim) }
        if c.failure != nil { return ("FAILED ×\(c.failures)", .warning) }
        guard c.number > 0 else { return ("none yet", .dim) }
        guard c.time > 0 || c.restored != c.number else { return ("#\(c.number) loaded", .normal) }
        let age = max(0, now - c.time)
        return ("#\(c.number) " + (age < 60 ? "\(Int(age))s" : Format.elapsed(age)), age > 600 ? .warning : .normal)
    }

    static func drawTotals(_ buf: inout ScreenBuffer, _ c: Columns, _ m: ClusterModel, y: Int) {
        buf.fill(x: 0, y: y, width: buf.width, role: .tableHeader)
        buf.put("TOTAL", x: c.instance, y: y, role: .tableHeader)
        buf.put("\(m.answering)/\(m.instances.count) up", x: c.state, y: y, role: m.answering < m.instances.count ? .warning : .tableHeader)
        buf.putRight(Format.count(m.inputRate), right: c.rate, y: y, role: .tableHeader)
        buf.putRight(Format.count(Double(m.merged.summary.lines)), right: c.lines, y: y, role: .tableHeader)
        let checkpointed = m.instances.compactMap { $0.model?.engine.checkpoint }
        if !checkpointed.isEmpty {
            let failing = checkpointed.filter { $0.failure != nil }.count
            buf.put(failing > 0 ? "\(failing) failing" : "all ok", x: c.checkpoint, y: y, role: failing > 0 ? .warning : .tableHeader)
        }
    }

    static func drawMerged(_ buf: inout ScreenBuffer, _ m: ClusterModel, _ thresholds: HealthThresholds, y: Int, rows: Int) {
        guard rows >= 3 else { return }
        let title = m.merged.instances > 1 ? "Merged analytics of \(m.merged.instances) instances\(m.merged.isEstimated ? " (≈ estimates)" : "")" : "Analytics"
        buf.put(title, x: 1, y: y, role: .label)
        // The site across all instances: rates and bandwidth add up, shares are weighted by requests.
        DashboardView.drawHealth(&buf, m.merged.summary.health, thresholds, y: y + 1)
        let model = DashboardModel(engine: .empty, summary: m.merged.summary, malformedReasons: m.malformedReasons, source: "cluster")
        DashboardView.drawAnalytics(&buf, model, y: y + 2, rows: rows - 2)
    }

    static func drawHints(_ buf: inout ScreenBuffer, _ m: ClusterModel, _ state: ClusterState) {
        let y = buf.height - 1
        buf.fill(x: 0, y: y, width: buf.width, role: .hint)
        var x = 1
        for (keys, label) in [("↑↓", "select"), ("Enter", "open"), ("q", "quit"), ("?", "help")] {
            x += buf.put(keys, x: x, y: y, role: .hintKey)
            x += buf.put(" " + label + "  ", x: x, y: y, role: .hint)
        }
        // The message, else why the selected instance is unreachable.
        var note = state.message
        if note == nil, m.instances.indices.contains(state.selected) {
            let i = m.instances[state.selected]
            if let since = i.link.lostSince {
                note = "\(i.link.endpoint) unreachable since \(since)\(i.link.reason.map { ": \($0)" } ?? ""); retrying"
            }
        }
        if let note, buf.width - x - 1 > 8 {
            buf.putRight(Sanitizer.truncate(note, to: buf.width - x - 1) + " ", right: buf.width, y: y, role: .hint)
        }
    }

    static func drawHelp(_ buf: inout ScreenBuffer) {
        let lines = keys + [
            ("", ""),
            ("rows", "one per instance, in the order given; an unreachable one stays listed with since when"),
            ("totals", "counts summed; distinct counts a HyperLogLog union when the instances share a hash seed"),
            ("", "(STREAMTOP_HASH_SEED), else bounds; top lists merged from each instance's top entries"),
        ]
        let boxWidth = min(buf.width - 2, 110)
        let boxHeight = min(buf.height - 1, lines.count + 2)
        let x0 = (buf.width - boxWidth) / 2
        let y0 = max(0, (buf.height - 1 - boxHeight) / 2)
        buf.fill(x: x0, y: y0, width: boxWidth, height: boxHeight, role: .help)
        buf.put(" streamtop cluster view ", x: x0 + 2, y: y0, role: .title)
        for (i, (k, text)) in lines.enumerated() where i < boxHeight - 2 {
            buf.put(k, x: x0 + 2, y: y0 + 1 + i, role: .hintKey)
            buf.put(Sanitizer.truncate(text, to: boxWidth - 14), x: x0 + 12, y: y0 + 1 + i, role: .help)
        }
        buf.put("press ? or Esc to close", x: x0 + 2, y: y0 + boxHeight - 1, role: .dim)
    }
}
