/// A grid of cells, each a grapheme and a role: what the dashboard draws, independent of any terminal.
/// Tests render into it and read it back; the curses backend copies it to the screen.
///
/// A cell is stored packed (a scalar and a role, no reference count): a frame was 7,680 cells of `String`
/// at 160×48, built, compared and copied ten times a second, and its retains, releases and grapheme
/// iteration were about a quarter of a busy dashboard's CPU in a profile. Graphemes of several scalars (a letter with a
/// combining mark) are kept apart and stored by index.
public struct ScreenBuffer: Equatable, Sendable {
    /// One cell. A wide character occupies its cell and the next (an Indic cluster sometimes more), which
    /// hold "".
    public struct Cell: Equatable, Sendable {
        /// The grapheme shown, "" for the right half of a wide character.
        public var text: String
        /// Its role.
        public var role: Role
    }

    /// A cell as stored: a Unicode scalar (0 for the right half of a wide character, from `clusterBase`
    /// on an index into `clusters`) and a role.
    struct Packed: Equatable {
        var scalar: UInt32
        var role: Role
    }
    static let clusterBase: UInt32 = 0x11_0000

    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Cells, row by row.
    private var cells: [Packed]
    /// Graphemes of more than one scalar, referred to by cells.
    private var clusters: [String] = []

    /// A blank buffer.
    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Packed(scalar: 0x20, role: .normal), count: self.width * self.height)
    }

    /// The cell at a position.
    public subscript(x: Int, y: Int) -> Cell {
        let c = cells[y * width + x]
        return Cell(text: text(of: c.scalar), role: c.role)
    }

    private func text(of scalar: UInt32) -> String {
        if scalar == 0 { return "" }
        if scalar >= Self.clusterBase { return clusters[Int(scalar - Self.clusterBase)] }
        return String(Unicode.Scalar(scalar)!)
    }

    /// Whether row `y` shows the same as row `y` of `other` (same width).
    public func rowEquals(_ y: Int, _ other: ScreenBuffer) -> Bool {
        guard width == other.width, y < height, y < other.height else { return false }
        let start = y * width
        for i in start..<start + width {
            let a = cells[i], b = other.cells[i]
            if a == b && a.scalar < Self.clusterBase { continue }
            if a.role != b.role || text(of: a.scalar) != other.text(of: b.scalar) { return false }
        }
        return true
    }

    /// Calls `body` for each run of cells of one role in row `y`, left to right, with the run's first
    /// column and its scalars (a wide character's right half adds none).
    public func forEachRun(inRow y: Int, _ body: (_ start: Int, _ role: Role, _ scalars: [UInt32]) -> Void) {
        var run: [UInt32] = []
        run.reserveCapacity(width)
        var x = 0
        let base = y * width
        while x < width {
            let role = cells[base + x].role
            let start = x
            run.removeAll(keepingCapacity: true)
            while x < width && cells[base + x].role == role {
                let s = cells[base + x].scalar
                if s >= Self.clusterBase {
                    for u in clusters[Int(s - Self.clusterBase)].unicodeScalars { run.append(u.value) }
                } else if s != 0 {
                    run.append(s)
                }
                x += 1
            }
            body(start, role, run)
        }
    }

    public static func == (a: ScreenBuffer, b: ScreenBuffer) -> Bool {
        guard a.width == b.width && a.height == b.height else { return false }
        return (0..<a.height).allSatisfy { a.rowEquals($0, b) }
    }

    /// Fills a rectangle's role (and blanks its text when `clear`).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int = 1, role: Role, clear: Bool = true) {
        for row in max(0, y)..<min(height, y + h) {
            for col in max(0, x)..<min(width, x + w) {
                if clear { cells[row * width + col].scalar = 0x20 }
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
        // Printable ASCII, most of what a frame writes: a column per byte, nothing to sanitize.
        if let done = putASCII(text, x: x, y: y, role: role, limit: limit) { return done }
        var col = x
        for ch in Sanitizer.displayable(text) {
            let w = Sanitizer.columns(of: ch)
            if w == 0 { continue }
            if col + w > limit { break }
            if col >= 0 {
                let scalars = ch.unicodeScalars
                let scalar: UInt32
                if scalars.count == 1 {
                    scalar = scalars.first!.value
                } else {
                    scalar = Self.clusterBase + UInt32(clusters.count)
                    clusters.append(String(ch))
                }
                cells[y * width + col] = Packed(scalar: scalar, role: role)
                // The columns it covers (two for a wide character, more for an Indic cluster such as क्षि).
                for k in 1..<w { cells[y * width + col + k] = Packed(scalar: 0, role: role) }
            } else if col + w > 0 {
                // Cut by the left edge: its visible columns are blank, not what was there before.
                for c in 0..<(col + w) { cells[y * width + c] = Packed(scalar: 0x20, role: role) }
            }
            col += w
        }
        return col - x
    }

    /// `put` for printable ASCII; nil when the text is not.
    private mutating func putASCII(_ text: String, x: Int, y: Int, role: Role, limit: Int) -> Int? {
        var text = text
        return text.withUTF8 { bytes -> Int? in
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
            let end = min(limit, x + bytes.count)
            guard end > x else { return 0 }
            let row = y * width
            // Text that ends left of the first column writes nothing but still takes its columns.
            if end > 0 {
                cells.withUnsafeMutableBufferPointer { cells in
                    for col in max(0, x)..<end { cells[row + col] = Packed(scalar: UInt32(bytes[col - x]), role: role) }
                }
            }
            return end - x
        }
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
        for x in 0..<width { s += text(of: cells[y * width + x].scalar) }
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
