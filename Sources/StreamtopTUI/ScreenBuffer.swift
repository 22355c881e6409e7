/// A grid of cells, each a grapheme and a role: what the dashboard draws, independent of any terminal.
/// Tests render into it and read it back; the curses backend copies it to the screen.
public struct ScreenBuffer: Equatable, Sendable {
    /// One cell. A wide character occupies its cell and the next, which holds `continuation`.
    public struct Cell: Equatable, Sendable {
        /// The grapheme shown, "" for the right half of a wide character.
        public var text: String
        /// Its role.
        public var role: Role
    }

    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Cells, row by row.
    public private(set) var cells: [Cell]

    /// A blank buffer.
    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(text: " ", role: .normal), count: self.width * self.height)
    }

    /// The cell at a position.
    public subscript(x: Int, y: Int) -> Cell { cells[y * width + x] }

    /// Fills a rectangle's role (and blanks its text when `clear`).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int = 1, role: Role, clear: Bool = true) {
        for row in max(0, y)..<min(height, y + h) {
            for col in max(0, x)..<min(width, x + w) {
                if clear { cells[row * width + col].text = " " }
                cells[row * width + col].role = role
            }
        }
    }

    /// Writes text at a position, clipped to `maxWidth` columns and the buffer's edge. The text is
    /// sanitized, so untrusted content can be passed as is. Returns the number of columns used.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: Role, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = min(width, x + (maxWidth ?? width))
        var col = x
        for ch in Sanitizer.displayable(text) {
            let w = Sanitizer.columns(of: ch)
            if w == 0 { continue }
            if col + w > limit { break }
            if col >= 0 {
                cells[y * width + col] = Cell(text: String(ch), role: role)
                if w == 2 { cells[y * width + col + 1] = Cell(text: "", role: role) }
            }
            col += w
        }
        return col - x
    }

    /// Writes text right-aligned so that it ends at column `right` (exclusive).
    @discardableResult
    public mutating func putRight(_ text: String, right: Int, y: Int, role: Role) -> Int {
        let w = Sanitizer.width(of: text)
        return put(text, x: right - w, y: y, role: role)
    }

    /// The text of one row (wide characters once).
    public func rowText(_ y: Int) -> String {
        var s = ""
        for x in 0..<width { s += cells[y * width + x].text }
        return s
    }

    /// The role codes of one row, one character per column.
    public func rowRoles(_ y: Int) -> String {
        String((0..<width).map { cells[y * width + $0].role.code })
    }

    /// The whole text, rows separated by newlines, trailing spaces kept.
    public var text: String { (0..<height).map(rowText).joined(separator: "\n") }

    /// The whole role layer.
    public var roles: String { (0..<height).map(rowRoles).joined(separator: "\n") }

    /// Whether any row contains `needle`.
    public func contains(_ needle: String) -> Bool { (0..<height).contains { rowText($0).contains(needle) } }
}
