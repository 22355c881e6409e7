/// Something that yields blocks of whole log lines: a file, standard input, a followed file, a replay.
///
/// Called from one thread only (the engine's source thread); `stop()` may be called from any thread.
public protocol LineSource: AnyObject {
    /// Blocks until lines are available and returns them, or returns nil at the end of the input
    /// (or after `stop()`). Throws when the input cannot be read.
    func nextBlock() throws -> LineBlock?
    /// Asks a source that waits for more input (follow, stdin, paced replay) to return nil soon.
    func stop()
    /// A short description for the dashboard header, e.g. `replay access.log ×10`.
    var label: String { get }
}

/// An input that could not be opened or read, with a message fit for one line on stderr.
public struct SourceError: Error, CustomStringConvertible, Sendable {
    /// The message, naming the file and the system's reason.
    public let description: String
    /// Creates an error with a message.
    public init(_ description: String) { self.description = description }
}
