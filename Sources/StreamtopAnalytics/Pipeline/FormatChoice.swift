import StreamtopLogs
import Synchronization

/// The log format of a run: fixed from the start, or detected from the first block (`--format auto`).
///
/// Detection runs on the source thread before the first batch enters the pipeline, and the parse task
/// only reads the format after taking a batch from its queue (under the engine's lock), so the value is
/// settled before any reader sees it.
public final class FormatChoice: @unchecked Sendable {
    private var chosen: LogFormat
    private let needsDetection = Atomic<Bool>(false)
    /// Called once with the detection result (on the source thread; at once when set after detection).
    public var onDetected: ((FormatDetector.Detection) -> Void)? {
        didSet { if let d = detection { onDetected?(d) } }
    }
    /// The detection, once it happened.
    public private(set) var detection: FormatDetector.Detection?

    /// What was asked for: `auto`, or the fixed format's name (part of a checkpoint's shape).
    public private(set) var requested: String

    /// A fixed format.
    public init(_ format: LogFormat) {
        chosen = format
        requested = format.name
    }

    /// A format to detect from the first block.
    public static func auto() -> FormatChoice {
        let c = FormatChoice(.combined)
        c.requested = "auto"
        c.needsDetection.store(true, ordering: .relaxed)
        return c
    }

    /// The format in use.
    public var format: LogFormat { chosen }

    /// The detected format's name, for a checkpoint (nil when the format was given, or not detected yet).
    public var detectedName: String? { detection == nil ? nil : chosen.name }

    /// Takes the format a checkpointed run detected, so a resumed run parses as it did instead of
    /// detecting again from the middle of the input.
    public func adopt(detected name: String) {
        guard needsDetection.load(ordering: .relaxed), let preset = LogFormat.preset(name) else { return }
        chosen = preset
        needsDetection.store(false, ordering: .relaxed)
    }

    /// Detects the format from `block` the first time it is called with lines (auto mode only).
    public func detectIfNeeded(_ block: LineBlock) {
        guard needsDetection.load(ordering: .relaxed), block.lineCount > 0 else { return }
        let d = FormatDetector.detect(block)
        chosen = d.format
        detection = d
        needsDetection.store(false, ordering: .relaxed)
        onDetected?(d)
    }
}
