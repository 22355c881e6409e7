import ArgumentParser
import CMalloc
import Foundation
import StreamtopLogs

/// `streamtop`: top for a live stream-processing pipeline over web access logs.
@main
struct Streamtop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamtop",
        abstract: "top for a live stream-processing pipeline over web access logs.",
        discussion: """
            With no subcommand, streamtop replays the bundled demo traffic in the dashboard.

            Keys in the dashboard: ↑/↓ or j/k select a task, p or space pause/resume it, +/- change its \
            priority, ]/[ give it one more/one fewer worker, ? help, q quit.
            """,
        version: Streamtop.version,
        subcommands: [DemoCommand.self, ReplayCommand.self, WatchCommand.self, RunPipelineCommand.self, CheckPipelineCommand.self, GenerateCommand.self, ProduceCommand.self, AttachCommand.self, BenchCommand.self, ThemesCommand.self],
        defaultSubcommand: DemoCommand.self)

    /// The release, printed by `--version`.
    static let version = "streamtop 0.3.0"

    /// Parses arguments and runs; every error is one line on stderr (help goes to stdout as usual).
    static func main() {
        // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported like a full disk, instead
        // of killing the process.
        signal(SIGXFSZ, SIG_IGN)
        // A reader that closed its end of a pipe (`| head`) makes a write fail with EPIPE, reported like any
        // failed write (one line, exit status 1), instead of killing the process silently. `generate`
        // puts the default back: a generator piped into `head` ends quietly, as `yes | head` does.
        signal(SIGPIPE, SIG_IGN)
        // Blocks of input (256 KiB, up to 1 MiB) are allocated for every read and freed by a worker. Left to
        // glibc, such sizes were often mapped fresh and faulted in page by page (30–364 faults a second in
        // two 20 s runs following a log at 20 k lines/s, 10–14 with this); kept in the heap, a freed
        // block's pages serve the next read.
        // The heap then keeps up to 16 MiB of free memory before giving it back.
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 16 << 20)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as SourceErrorLike {
            fail(error.description)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            let message = Streamtop.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(message, code: exitCode(for: error).rawValue)
        }
    }

    static func fail(_ message: String, code: Int32 = 1) -> Never {
        warn(message)
        Foundation.exit(code == 0 ? 1 : code)
    }
}

/// Writes `streamtop: MESSAGE` on stderr, with control bytes escaped (messages quote file names, task
/// names and log content, which may hold escape sequences).
func warn(_ message: String) {
    FileHandle.standardError.write(Data("streamtop: \(Escaped.message(message))\n".utf8))
}

/// Errors whose description is already a complete one-line message.
protocol SourceErrorLike: Error, CustomStringConvertible {}
