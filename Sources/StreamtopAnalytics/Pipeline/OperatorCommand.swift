import Foundation
import StreamtopEngine
import StreamtopLogs

/// A command as operators type it — in the dashboard's command line, or in an action script — parsed
/// once into plain data.
public enum OperatorCommand: Equatable, Sendable {
    /// A command for the engine's mailbox.
    case engine(ControlCommand)
    /// Change the replay speed (nil: as fast as possible).
    case speed(Double?)
    /// Pause (true) or resume (false) the replay clock; nil toggles.
    case replayPause(Bool?)
    /// While the replay is paused, hand out the next stretch of the recording (seconds).
    case step(Int64)
    /// Jump ahead in the recording.
    case seek(SeekTarget)
    /// Open a drill-down on a path, client or status of the report (nil closes it).
    case focus(FocusKey?)

    /// Where to seek to.
    public enum SeekTarget: Equatable, Sendable {
        /// An event time (UTC epoch seconds).
        case absolute(Int64)
        /// A time of day (seconds after midnight UTC) on the day of the current replay position.
        case timeOfDay(Int64)
        /// Seconds ahead of the current position.
        case ahead(Int64)
    }

    /// Whether `text` asks for help (`help`, `help pause`, `?`, `h`): the front end lists the commands.
    public static func isHelp(_ text: String) -> Bool {
        let words = text.trimmingCharacters(in: .whitespaces).lowercased()
        return ["?", "h", "help"].contains(words) || words.hasPrefix("help ")
    }

    /// The words an operator can type, with their arguments, for help and error messages.
    public static let grammar = [
        "pause TASK", "resume TASK", "priority TASK N", "priority TASK +N|-N", "workers TASK N", "pin TASK",
        "unpin TASK", "policy strict|fair|adaptive", "speed X|max", "replay pause|resume", "step [10s]",
        "seek HH:MM[:SS] (UTC) | +10m | 2024-11-25T14:00:00Z",
        "inject slow TASK 200us [cpu|io] | stall TASK 5s | burst 5x 30s | malformed 5% | skew client 80% | clear",
        "focus path|client|status KEY | [in TASK] where FILTER | off",
    ]

    /// Parses one command, resolving task names with `task`.
    public static func parse(_ text: String, task: (String) -> TaskID?, taskNames: [String]) throws -> OperatorCommand {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else { throw CommandError("empty command") }
        func taskArg() throws -> TaskID { try taskNamed(words, for: verb, task: task, taskNames: taskNames) }
        func expectCount(_ n: Int, _ usage: String) throws {
            guard words.count == n else { throw CommandError("usage: \(usage)") }
        }
        switch verb {
        case "pause":
            try expectCount(2, "pause TASK")
            return .engine(.pause(try taskArg()))
        case "resume":
            try expectCount(2, "resume TASK")
            return .engine(.resume(try taskArg()))
        case "pin":
            try expectCount(2, "pin TASK")
            return .engine(.pin(try taskArg()))
        case "unpin":
            try expectCount(2, "unpin TASK")
            return .engine(.unpin(try taskArg()))
        case "priority", "prio":
            try expectCount(3, "priority TASK N  or  priority TASK +N|-N")
            let id = try taskArg()
            let arg = words[2]
            guard let n = Int(arg.hasPrefix("+") ? String(arg.dropFirst()) : arg), (-TaskPriority.limit...TaskPriority.limit).contains(n) else {
                throw CommandError("priority must be a whole number from -\(TaskPriority.limit) to \(TaskPriority.limit), got '\(arg)'")
            }
            return .engine(arg.hasPrefix("+") || arg.hasPrefix("-") ? .adjustPriority(id, n) : .setPriority(id, n))
        case "workers":
            try expectCount(3, "workers TASK N")
            let id = try taskArg()
            guard let n = Int(words[2]), (1...1024).contains(n) else { throw CommandError("workers must be a whole number from 1 to 1024, got '\(words[2])'") }
            return .engine(.setWorkers(id, n))
        case "policy":
            try expectCount(2, "policy strict|fair|adaptive")
            guard let p = SchedulingPolicy(name: words[1]) else {
                throw CommandError("unknown policy '\(words[1])' (strict-priority, fair-share, adaptive)")
            }
            return .engine(.setPolicy(p))
        case "speed":
            try expectCount(2, "speed X|max")
            guard let v = Quantity.speed(words[1]) else { throw CommandError("speed must be 0.1 to 1000 or max, got '\(words[1])'") }
            return .speed(v.isFinite ? v : nil)
        case "replay":
            try expectCount(2, "replay pause|resume")
            switch words[1].lowercased() {
            case "pause": return .replayPause(true)
            case "resume", "play": return .replayPause(false)
            case "toggle": return .replayPause(nil)
            default: throw CommandError("usage: replay pause|resume")
            }
        case "step":
            guard words.count <= 2 else { throw CommandError("usage: step [10s]") }
            guard let seconds = words.count == 2 ? ActionScript.seconds(words[1]) : 1, seconds >= 1 else {
                throw CommandError("step takes a duration of at least 1s, like 10s or 5m")
            }
            return .step(Int64(seconds))
        case "seek":
            try expectCount(2, "seek HH:MM[:SS] (UTC) | +10m | 2024-11-25T14:00:00Z")
            return .seek(try seekTarget(words[1]))
        case "inject":
            return .engine(.inject(try injection(Array(words.dropFirst()), task: task, taskNames: taskNames)))
        case "focus", "drill":
            return .focus(try focusKey(text, taskNames: taskNames))
        case "help":
            // Answered by the front end (the dashboard's help screen, the list over HTTP); it changes nothing.
            throw CommandError("help lists the commands and changes nothing: \(grammar.joined(separator: "; "))")
        default:
            let verbs = grammar.compactMap { $0.split(separator: " ").first.map(String.init) } + ["help"]
            throw CommandError("unknown command '\(verb)'\(didYouMean(verb, among: verbs)) (commands: \(grammar.joined(separator: "; ")); help)")
        }
    }
}

extension OperatorCommand {
    /// `: did you mean 'pause'?` for a word within two edits of a known one (the closest), else "".
    static func didYouMean(_ word: String, among known: [String]) -> String {
        let w = Array(word.lowercased())
        let best = Set(known).map { k in (k, editDistance(w, Array(k.lowercased()))) }.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        guard let (k, d) = best, d <= 2, d < max(w.count, 1) else { return "" }
        return ": did you mean '\(k)'?"
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions, and swaps of neighbours
    /// (`pasue` is one edit from `pause`).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// The task `words[1]` names, or an error that lists the tasks (and the closest name).
    static func taskNamed(_ words: [String], for verb: String, task: (String) -> TaskID?, taskNames: [String]) throws -> TaskID {
        let list = taskNames.joined(separator: ", ")
        guard words.count >= 2 else { throw CommandError("'\(verb)' needs a task name (tasks: \(list))") }
        guard let id = task(words[1]) else {
            throw CommandError("unknown task '\(words[1])'\(didYouMean(words[1], among: taskNames)) (tasks: \(list))")
        }
        return id
    }

    /// `slow TASK 200us [cpu|io]`, `stall TASK 5s`, `burst 5x 30s`, `malformed 5%`, `skew client 80%`, `clear`.
    static func injection(_ words: [String], task: (String) -> TaskID?, taskNames: [String]) throws -> Injection {
        let usage = "inject slow TASK 200us [cpu|io] | stall TASK 5s | burst 5x 30s | malformed 5% | skew client 80% | clear"
        guard let kind = words.first?.lowercased() else { throw CommandError("usage: \(usage)") }
        func taskArg() throws -> TaskID {
            let id = try taskNamed(words, for: "inject \(kind)", task: task, taskNames: taskNames)
            guard id.index != 0 else {
                throw CommandError("inject \(kind) works on a task: the source reads on its own thread (pause it to stop reading)")
            }
            return id
        }
        func percent(_ text: String) throws -> Double {
            let t = text.hasSuffix("%") ? String(text.dropLast()) : text
            guard let p = Double(t), (0...100).contains(p) else { throw CommandError("a share is 0% to 100%, got '\(text)'") }
            return p
        }
        switch kind {
        case "slow":
            guard (3...4).contains(words.count) else { throw CommandError("usage: inject slow TASK 200us [cpu|io]") }
            let id = try taskArg()
            guard let ns = Quantity.nanoseconds(words[2]) else {
                throw CommandError("inject slow wants a cost per record from 0ns to 10s, like 200us or 1.5ms; got '\(words[2])'")
            }
            let mode = words.count == 4 ? words[3].lowercased() : "cpu"
            guard mode == "cpu" || mode == "io" else { throw CommandError("inject slow spends its cost on a core (cpu) or waiting (io), not '\(words[3])'") }
            return .slow(id, nanosPerRecord: ns, io: mode == "io")
        case "stall":
            guard words.count == 3 else { throw CommandError("usage: inject stall TASK 5s") }
            let id = try taskArg()
            guard let s = Quantity.seconds(words[2]), s > 0, s <= 3600 else { throw CommandError("inject stall lasts more than 0 s and at most 1 h, like 5s; got '\(words[2])'") }
            return .stall(id, seconds: s)
        case "burst":
            guard words.count == 3 else { throw CommandError("usage: inject burst 5x 30s") }
            let f = words[1].lowercased()
            guard let factor = Double(f.hasSuffix("x") || f.hasSuffix("×") ? String(f.dropLast()) : f), factor > 1, factor <= 1000 else {
                throw CommandError("inject burst multiplies the replay's rate by more than 1 and at most 1000, like 5x; got '\(words[1])'")
            }
            guard let s = Quantity.seconds(words[2]), s > 0, s <= 3600 else { throw CommandError("inject burst lasts more than 0 s and at most 1 h, like 30s; got '\(words[2])'") }
            return .burst(factor: factor, seconds: s)
        case "malformed":
            guard words.count == 2 else { throw CommandError("usage: inject malformed 5%") }
            return .malformed(percent: try percent(words[1]))
        case "skew":
            guard words.count == 3, words[1].lowercased() == "client" else { throw CommandError("usage: inject skew client 80% (a hot client)") }
            return .skew(percent: try percent(words[2]))
        case "clear":
            guard words.count == 1 else { throw CommandError("usage: inject clear") }
            return .clear
        default:
            throw CommandError("unknown injection '\(kind)'\(didYouMean(kind, among: ["slow", "stall", "burst", "malformed", "skew", "clear"])) (\(usage))")
        }
    }

    /// `focus path /a b` (the key is the rest of the line, spaces kept), `focus client …`, `focus status
    /// 404`, `focus where FILTER` (the report's records a filter selects), `focus in TASK where FILTER`
    /// (an analytics task's); `focus` or `focus off` closes the drill-down.
    static func focusKey(_ text: String, taskNames: [String] = []) throws -> FocusKey? {
        let usage = "usage: focus path|client|status KEY | [in TASK] where FILTER | off"
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        func nextWord(_ s: Substring) -> (String, Substring) {
            let from = s.drop(while: blank)
            let w = String(from.prefix(while: { !blank($0) }))
            return (w, from.dropFirst(w.count))
        }
        var (kind, rest) = nextWord(nextWord(Substring(text)).1)
        var task: String?
        if kind.lowercased() == "in" {
            let (name, after) = nextWord(rest)
            guard !name.isEmpty else { throw CommandError(usage) }
            guard taskNames.isEmpty || taskNames.contains(name) else {
                throw CommandError("no task '\(name)'\(didYouMean(name, among: taskNames)) (tasks: \(taskNames.joined(separator: ", ")))")
            }
            task = name
            (kind, rest) = nextWord(after)
            guard kind.lowercased() == "where" else { throw CommandError("a task's drill-down takes a filter: focus in \(name) where FILTER") }
        }
        let key = String(rest).trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        if kind.isEmpty || (kind.lowercased() == "off" && key.isEmpty) { return nil }
        guard ["path", "client", "status", "where"].contains(kind.lowercased()) else {
            throw CommandError("focus looks at a path, client, status or filter, not '\(kind)'\(didYouMean(kind, among: ["path", "client", "status", "where", "off"])) (\(usage))")
        }
        if kind.lowercased() == "where" {
            guard !key.isEmpty else { throw CommandError("usage: focus [in TASK] where FILTER (as --filter takes it)") }
            do {
                _ = try FilterExpression.parse(key)
            } catch {
                throw CommandError("focus where: \(error)")
            }
        }
        guard let f = FocusKey.parse(kind: kind, key: key, task: task) else {
            throw CommandError(key.isEmpty ? "usage: focus \(kind.lowercased()) KEY" : "a status is a code from 100 to 999, got '\(key)'")
        }
        return f
    }

    static func seekTarget(_ text: String) throws -> SeekTarget {
        if text.hasPrefix("+"), let s = ActionScript.seconds(String(text.dropFirst())), s > 0 { return .ahead(Int64(s)) }
        let parts = text.split(separator: ":").map { Int($0) }
        if (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) {
            let (h, m, sec) = (parts[0]!, parts[1]!, parts.count == 3 ? parts[2]! : 0)
            if (0..<24).contains(h), (0..<60).contains(m), (0..<60).contains(sec) { return .timeOfDay(Int64(h * 3600 + m * 60 + sec)) }
        }
        let bytes = Array(text.utf8)
        if let t = bytes.withUnsafeBufferPointer({ LogTime.parseISO8601($0.baseAddress!, count: $0.count) }) { return .absolute(t) }
        throw CommandError("seek wants HH:MM[:SS], +DURATION or an ISO time like 2024-11-25T14:00:00Z; got '\(text)'")
    }
}

/// A command that cannot be understood, with a message for the operator.
public struct CommandError: Error, CustomStringConvertible, Equatable {
    /// What is wrong.
    public let description: String
    /// Creates an error.
    public init(_ d: String) { description = d }
}

/// A timed list of operator commands, e.g. `2s pause parse`, one per line; `#` starts a comment.
public struct ActionScript: Equatable, Sendable {
    /// One timed command.
    public struct Entry: Equatable, Sendable {
        /// Seconds after the start of the run.
        public var at: Double
        /// The command.
        public var command: OperatorCommand
        /// The text as written.
        public var text: String
        /// 1-based line in the script.
        public var line: Int
    }

    /// The entries, in time order (stable for equal times).
    public var entries: [Entry]

    /// Parses a script. Errors name the file and line: `actions.txt:3: unknown task 'prase' …`.
    public init(_ text: String, file: String, task: (String) -> TaskID?, taskNames: [String]) throws {
        var out: [Entry] = []
        for (i, raw) in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            // CRLF line ends (files written on Windows): the \r is whitespace here.
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
            guard let at = ActionScript.seconds(parts[0]) else {
                throw CommandError("\(file):\(i + 1): expected a time like 2s, 500ms or 1m first, got '\(parts[0])'")
            }
            guard parts.count == 2 else { throw CommandError("\(file):\(i + 1): a command must follow the time") }
            do {
                out.append(Entry(at: at, command: try OperatorCommand.parse(parts[1], task: task, taskNames: taskNames), text: parts[1], line: i + 1))
            } catch let e as CommandError {
                throw CommandError("\(file):\(i + 1): \(e.description)")
            }
        }
        entries = out.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    /// The longest duration accepted anywhere (see `Quantity.longestSeconds`).
    public static let longestSeconds = Quantity.longestSeconds

    /// `250ms`, `2s`, `1.5s`, `1m`, `1h`, `1d` → seconds (`Quantity.seconds`, the one duration parser).
    public static func seconds(_ text: String) -> Double? { Quantity.seconds(text) }
}
