import Foundation

/// A key press, independent of the terminal library.
public enum Key: Hashable, Sendable {
    /// A printable character.
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end, enter, escape, backspace, tab
    /// A function key, F1…F12.
    case function(Int)
    /// The terminal was resized.
    case resize
    /// A left mouse click at a cell.
    case click(x: Int, y: Int)

    /// How the key is written in help and hints.
    public var label: String {
        switch self {
        case .char(" "): return "space"
        case .char(let c): return String(c)
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Backspace"
        case .tab: return "Tab"
        case .function(let n): return "F\(n)"
        case .resize: return "resize"
        case .click: return "click"
        }
    }
}

/// What a key asks for: plain data, applied by `DashboardReducer`.
public enum Action: String, Hashable, Sendable, CaseIterable {
    case selectNext = "select-next", selectPrevious = "select-previous"
    case togglePause = "pause"
    case priorityUp = "priority-up", priorityDown = "priority-down"
    case addWorker = "add-worker", removeWorker = "remove-worker"
    case replayFaster = "replay-faster", replaySlower = "replay-slower", replayPause = "replay-pause", replayStep = "replay-step"
    case togglePin = "pin"
    case cyclePolicy = "policy"
    case commandLine = "command"
    case toggleRejects = "rejects"
    case cycleTheme = "theme"
    case undo
    case chooseColumns = "columns"
    case nextView = "view"
    case filter
    case toggleSort = "sort"
    case scrollUp = "page-up", scrollDown = "page-down"
    case first, last
    case graphSpan = "graph-span"
    case nextPanel = "next-list", previousPanel = "previous-list"
    case open
    case toggleHelp = "help"
    case quit
}

/// One line of the keymap: the keys, the action, a short hint label and the help text.
public struct KeyBinding: Sendable, Equatable {
    /// Keys bound to the action (the first is shown in hints).
    public var keys: [Key]
    /// The action.
    public var action: Action
    /// Short label for the hint bar, or nil to leave it out of the hint bar.
    public var hint: String?
    /// Sentence for the help screen.
    public var help: String
    /// Importance in the hint bar (0 most important): on a narrow terminal the least important go first.
    public var rank: Int = 1
}

/// The single table of key bindings. The help screen and the hint bar are generated from it, so they
/// cannot drift from what the keys do. Users rebind keys with a keymap file (`Keymap.load`).
public struct Keymap: Sendable, Equatable {
    /// The bindings, in help order.
    public var bindings: [KeyBinding]

    /// A keymap with these bindings.
    public init(bindings: [KeyBinding]) { self.bindings = bindings }

    /// The built-in keymap.
    public static let standard = Keymap(bindings: [
        KeyBinding(keys: [.up, .char("k")], action: .selectPrevious, hint: "select", help: "select the previous task"),
        KeyBinding(keys: [.down, .char("j")], action: .selectNext, hint: nil, help: "select the next task"),
        KeyBinding(keys: [.char("p"), .char(" ")], action: .togglePause, hint: "pause", help: "pause or resume the selected task (its queue fills, upstream blocks, nothing is dropped)"),
        KeyBinding(keys: [.char("+"), .char("="), .function(8)], action: .priorityUp, hint: "priority", help: "raise the selected task's priority", rank: 2),
        KeyBinding(keys: [.char("-"), .function(7)], action: .priorityDown, hint: nil, help: "lower the selected task's priority"),
        KeyBinding(keys: [.char("]")], action: .addWorker, hint: "workers", help: "give the selected task one more worker", rank: 2),
        KeyBinding(keys: [.char("[")], action: .removeWorker, hint: nil, help: "take one worker from the selected task"),
        KeyBinding(keys: [.char("*")], action: .togglePin, hint: "pin", help: "pin the selected task's workers (the adaptive policy leaves them alone), or unpin", rank: 3),
        KeyBinding(keys: [.char("P")], action: .cyclePolicy, hint: "policy", help: "switch policy: strict-priority → fair-share → adaptive", rank: 3),
        KeyBinding(keys: [.char(">"), .char(".")], action: .replayFaster, hint: "speed", help: "replay faster (×2)", rank: 3),
        KeyBinding(keys: [.char("<"), .char(",")], action: .replaySlower, hint: nil, help: "replay slower (÷2)"),
        KeyBinding(keys: [.char("z")], action: .replayPause, hint: "replay", help: "pause or resume the replay clock (no catch-up burst on resume)", rank: 3),
        KeyBinding(keys: [.char("s")], action: .replayStep, hint: nil, help: "while the replay is paused, step 10 s of the recording"),
        KeyBinding(keys: [.char(":")], action: .commandLine, hint: "cmd", help: "type a command: pause T, resume T, priority T N, workers T N, pin T, policy P, speed X", rank: 2),
        KeyBinding(keys: [.char("r")], action: .toggleRejects, hint: "rejects", help: "show or hide the most recent malformed lines, with their reasons", rank: 3),
        KeyBinding(keys: [.tab], action: .nextView, hint: "view", help: "switch view: pipeline → decisions → analytics", rank: 1),
        KeyBinding(keys: [.char("/")], action: .filter, hint: "filter", help: "filter the decisions or analytics view (Enter applies, empty clears)", rank: 3),
        KeyBinding(keys: [.function(2), .char("C")], action: .chooseColumns, hint: "columns", help: "choose the task table's columns (htop's F2): Space shows or hides one", rank: 4),
        KeyBinding(keys: [.char("o"), .function(6)], action: .toggleSort, hint: "sort", help: "sort the task table by the next column (IN/s, OUT/s, p99, BUSY, QUEUE, W, PRI, then the graph's order); in analytics, by count or by name", rank: 4),
        KeyBinding(keys: [.char("g")], action: .graphSpan, hint: "graph", help: "throughput graph span: live (0.1 s a column) → 1 min → 5 min → 15 min → 1 h → 6 h → 24 h", rank: 4),
        KeyBinding(keys: [.enter], action: .open, hint: "drill", help: "in analytics: drill into the selected path, client or status (statuses, clients, serving time, per minute); on pipeline results, their whole tables", rank: 4),
        KeyBinding(keys: [.right], action: .nextPanel, hint: nil, help: "in analytics: the next list (paths → clients → status codes → pipeline results)"),
        KeyBinding(keys: [.left], action: .previousPanel, hint: nil, help: "in analytics: the previous list"),
        KeyBinding(keys: [.pageUp], action: .scrollUp, hint: "scroll", help: "scroll the decisions or analytics view up", rank: 4),
        KeyBinding(keys: [.pageDown], action: .scrollDown, hint: nil, help: "scroll down"),
        KeyBinding(keys: [.home], action: .first, hint: nil, help: "select the first task, or go to the top of the list"),
        KeyBinding(keys: [.end], action: .last, hint: nil, help: "select the last task, or go to the end of the list"),
        KeyBinding(keys: [.char("u")], action: .undo, hint: "undo", help: "undo the last operator action (pause, priority, workers, pin, policy, speed)", rank: 3),
        KeyBinding(keys: [.char("T")], action: .cycleTheme, hint: "theme", help: "switch to the next theme in themes/", rank: 4),
        KeyBinding(keys: [.char("?"), .char("h"), .function(1)], action: .toggleHelp, hint: "help", help: "show or hide this help", rank: 0),
        KeyBinding(keys: [.char("q"), .function(10)], action: .quit, hint: "quit", help: "quit and restore the terminal", rank: 0),
    ])

    /// The action bound to a key, if any.
    public func action(for key: Key) -> Action? {
        bindings.first { $0.keys.contains(key) }?.action
    }

    /// Hint bar entries: (keys as shown, label). A binding without a hint joins the one before it,
    /// e.g. `↑/↓ select`.
    public var hints: [(String, String)] { rankedHints.map { ($0.0, $0.1) } }

    /// Hint bar entries with their importance.
    public var rankedHints: [(String, String, Int)] {
        var out: [(String, String, Int)] = []
        for b in bindings {
            if let h = b.hint {
                out.append((b.keys[0].label, h, b.rank))
            } else if !out.isEmpty {
                out[out.count - 1].0 += "/" + b.keys[0].label
            }
        }
        return out
    }

    /// The hints that fit in `width` columns (each takes its keys, a space, its label and two spaces),
    /// dropping the least important first and keeping table order.
    public func hints(fitting width: Int) -> [(String, String)] {
        var items = rankedHints
        func needed(_ list: [(String, String, Int)]) -> Int {
            list.reduce(0) { $0 + $1.0.count + $1.1.count + 3 }
        }
        while needed(items) > width, let worst = items.indices.max(by: { items[$0].2 < items[$1].2 || (items[$0].2 == items[$1].2 && $0 < $1) }) {
            items.remove(at: worst)
        }
        return items.map { ($0.0, $0.1) }
    }
}

extension Key {
    /// Parses a key as a keymap file writes it: a character, `space`, `up`, `down`, `left`, `right`,
    /// `pgup`, `pgdn`, `home`, `end`, `enter`, `esc`, `tab`, `backspace`, `F1`…`F12`.
    public init?(name: String) {
        switch name.lowercased() {
        case "space": self = .char(" ")
        case "up": self = .up
        case "down": self = .down
        case "left": self = .left
        case "right": self = .right
        case "pgup", "pageup": self = .pageUp
        case "pgdn", "pagedown": self = .pageDown
        case "home": self = .home
        case "end": self = .end
        case "enter", "return": self = .enter
        case "esc", "escape": self = .escape
        case "tab": self = .tab
        case "backspace": self = .backspace
        default:
            if name.count == 1 {
                self = .char(name.first!)
            } else if name.lowercased().hasPrefix("f"), let n = Int(name.dropFirst()), (1...12).contains(n) {
                self = .function(n)
            } else {
                return nil
            }
        }
    }
}

extension Keymap {
    /// Rebinds actions from a keymap file (TOML):
    ///
    ///     [keys]
    ///     quit = ["q", "F10"]
    ///     pause = ["p", "space"]
    ///
    /// Listed actions get exactly the keys given; others keep theirs. Unknown actions, unknown key names
    /// and a key bound to two actions are errors with their line number.
    public func applying(keymapFile text: String) throws -> Keymap {
        var overrides: [Action: [Key]] = [:]
        var listedOn: [Action: Int] = [:]
        // Files written on Windows end lines with CRLF: the \r is whitespace here.
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        var inKeys = false
        for (i, raw) in lines.enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                inKeys = line == "[keys]"
                if !inKeys { throw KeymapError("line \(i + 1): unknown section \(line) (expected [keys])") }
                continue
            }
            guard inKeys else { throw KeymapError("line \(i + 1): bindings go under [keys]") }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw KeymapError("line \(i + 1): expected ACTION = [\"key\", …]") }
            let actionName = parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard let action = Action(rawValue: actionName) else {
                throw KeymapError("line \(i + 1): unknown action '\(actionName)' (\(Action.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let list = parts[1]
            guard list.hasPrefix("["), list.hasSuffix("]") else { throw KeymapError("line \(i + 1): keys must be a list like [\"q\", \"F10\"]") }
            var keys: [Key] = []
            for item in list.dropFirst().dropLast().split(separator: ",") {
                let name = item.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                guard let key = Key(name: name) else { throw KeymapError("line \(i + 1): unknown key '\(name)'") }
                keys.append(key)
            }
            guard !keys.isEmpty else { throw KeymapError("line \(i + 1): \(actionName) needs at least one key") }
            if let first = listedOn[action] {
                throw KeymapError("line \(i + 1): \(actionName) is already bound on line \(first); list all its keys once")
            }
            listedOn[action] = i + 1
            overrides[action] = keys
        }
        var out = self
        for i in out.bindings.indices {
            if let keys = overrides[out.bindings[i].action] { out.bindings[i].keys = keys }
        }
        var owner: [Key: Action] = [:]
        for b in out.bindings {
            for k in b.keys {
                if let other = owner[k], other != b.action {
                    // Named by the file's line that made the clash (a default binding has none).
                    let where_ = { (a: Action) in listedOn[a].map { " (line \($0))" } ?? " (by default)" }
                    let line = [listedOn[other], listedOn[b.action]].compactMap { $0 }.max().map { "line \($0): " } ?? ""
                    throw KeymapError("\(line)key \(k.label) is bound to both \(other.rawValue)\(where_(other)) and \(b.action.rawValue)\(where_(b.action))")
                }
                owner[k] = b.action
            }
        }
        return out
    }
}

/// A keymap file that cannot be used.
public struct KeymapError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, with the line.
    public let description: String
    init(_ d: String) { description = d }
}
