/// A task whose state a checkpoint keeps. The engine calls `saveState` only when the pipeline is quiet
/// (every queue drained, no worker inside an operator, the source between two blocks) and `restoreState`
/// before it starts, so neither races the operator's own work.
public protocol CheckpointableOperator: StreamOperator {
    /// What the state means: the operator's kind and every setting that shapes its state (window length,
    /// partitions, key field…). A checkpoint whose shape differs from the pipeline's is refused, never
    /// half restored.
    var stateShape: String { get }
    /// Writes the whole state.
    func saveState(_ w: inout StateWriter)
    /// Replaces the state with a saved one (the operator is fresh and not yet started). Checks its outputs
    /// (a results file still the one written, and long enough) but does not change them yet.
    func restoreState(_ r: inout StateReader) throws
    /// Once every task and the input accepted the checkpoint: cuts the outputs back to it.
    func commitRestore() throws
}

extension CheckpointableOperator {
    public func commitRestore() throws {}
}

/// A source whose read position a checkpoint keeps, so a restarted run reads on from there.
public protocol CheckpointableSource: StreamSource {
    /// Whether the position can be resumed (standard input cannot: its bytes are gone).
    var isResumable: Bool { get }
    /// Writes the position after the last batch handed out (called on the source thread, between batches).
    func savePosition(_ w: inout StateWriter)
    /// Moves to a saved position before the run starts; returns what it did, for the decision log
    /// ("access.log at byte 271,033,120"). Throws when the input no longer matches the checkpoint.
    func restorePosition(_ r: inout StateReader) throws -> String
    /// Where the source stands, in words, for the decision log.
    var positionSummary: String { get }
}
