import StreamtopEngine

/// The shape of the task graph for the task table: a prefix per task (in the engine's order) drawn with
/// box-drawing connectors, so an operator sees which task feeds which. A chain stays in one column; where
/// a task feeds several, each gets `├ ` or `└ ` and its own branch below:
///
///     source
///     parse
///     enrich
///     ├ endpoints
///     ├ humans
///     │ └ visits
///     └ aggregate
///       sink
///
/// A task's place in the tree is its first input; a union's other inputs are listed in the detail line.
/// Pure.
public enum TaskTree {
    /// One prefix per task of `tasks` (same order).
    public static func prefixes(_ tasks: [TaskSnapshot]) -> [String] { layout(tasks).prefixes }

    /// The tasks in the tree's order (each under the task it reads, its branch whole before the next):
    /// the order the table lists them in, so each prefix sits under its parent. Tasks the walk does not
    /// reach (none in a built graph) come last, in the engine's order.
    public static func order(_ tasks: [TaskSnapshot]) -> [Int] {
        let visited = layout(tasks).order
        let missed = tasks.indices.filter { !visited.contains($0) }
        return visited + missed
    }

    /// The prefix of what follows a task under the same parent: its connector (├ or └) becomes the
    /// line going on (│) or nothing. (Without Foundation's `replacingOccurrences`: the tree is laid out
    /// every frame.)
    private static func continued(_ prefix: String) -> String {
        String(prefix.map { $0 == "├" ? "│" : $0 == "└" ? " " : $0 })
    }

    private static func layout(_ tasks: [TaskSnapshot]) -> (prefixes: [String], order: [Int]) {
        var children: [String: [Int]] = [:]
        for (i, t) in tasks.enumerated() {
            if let parent = t.inputs.first { children[parent, default: []].append(i) }
        }
        var out = [String](repeating: "", count: tasks.count)
        var order: [Int] = []
        var seen = Set<Int>()
        func walk(_ i: Int, _ prefix: String) {
            guard seen.insert(i).inserted else { return }
            out[i] = prefix
            order.append(i)
            let kids = children[tasks[i].name] ?? []
            if kids.count == 1 {
                // A chain continues under the same prefix, without a connector of its own.
                walk(kids[0], continued(prefix))
                return
            }
            let base = continued(prefix)
            for (k, kid) in kids.enumerated() {
                walk(kid, base + (k == kids.count - 1 ? "└ " : "├ "))
            }
        }
        if !tasks.isEmpty { walk(0, "") }
        return (out, order)
    }
}
