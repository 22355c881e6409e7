import FlyingSocks

/// The body of `GET /api/v1/stream`: one JSON line per tick, each built when the client is ready for it.
///
/// Nothing is queued per client: a line is made only when the previous one was written, so a client that
/// reads slowly just gets fewer lines (frames are dropped, never buffered), and the engine never waits for
/// it. The stream ends after the line that reports the run finished.
struct SnapshotStream: AsyncBufferedSequence {
    typealias Element = UInt8
    /// Makes the next line from the last decision already sent: the line, the newest decision in it, and
    /// whether the run has finished.
    typealias Line = @Sendable (Int) -> (text: String, lastDecision: Int, finished: Bool)

    let intervalNanos: UInt64
    let line: Line

    func makeAsyncIterator() -> Iterator { Iterator(intervalNanos: intervalNanos, line: line) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        let intervalNanos: UInt64
        let line: Line
        private var pending: [UInt8] = []
        private var index = 0
        private var started = false
        private var ended = false
        private var lastDecision = 0

        init(intervalNanos: UInt64, line: @escaping Line) {
            self.intervalNanos = intervalNanos
            self.line = line
        }

        mutating func next() async throws -> UInt8? {
            guard let buffer = try await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async throws -> ArraySlice<UInt8>? {
            if index >= pending.count {
                guard !ended else { return nil }
                if started { try await Task.sleep(nanoseconds: intervalNanos) }
                started = true
                let next = line(lastDecision)
                lastDecision = next.lastDecision
                ended = next.finished
                pending = Array((next.text + "\n").utf8)
                index = 0
            }
            let n = Swift.min(Swift.max(1, count), pending.count - index)
            defer { index += n }
            return pending[index..<index + n]
        }
    }
}
