import ArgumentParser
import Foundation
import StreamtopTUI

/// `streamtop attach URL`: the dashboard over a running instance (one started with `--listen`).
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Open the dashboard on a running instance (started with --listen HOST:PORT): every view and key works; keys become commands sent with the token.",
        discussion: """
            The header names the instance and how old the data shown is; when the instance stops answering, \
            the last frame stays, marked UNREACHABLE since when, and the link is retried until it answers. \
            Without --control-token-file the dashboard is read-only.
            """)

    @Argument(help: ArgumentHelp("The instance: HOST:PORT or http://HOST:PORT (its --listen address).", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("A file holding the instance's control token (its --control-token-file): keys and : commands are then sent to it.", valueName: "file"))
    var controlTokenFile: String?

    @Option(help: ArgumentHelp("How often the instance is asked for a fresh frame, e.g. 250ms, 1s.", valueName: "duration"))
    var every: Duration = Duration(milliseconds: 250)

    @OptionGroup var dashboard: DashboardOptions

    func run() throws {
        let token = try controlTokenFile.map { path -> String in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read control token file \(path)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard (50...60_000).contains(every.milliseconds) else { throw ValidationError("--every must be between 50ms and 60s for attach") }
        let keymap = try dashboard.keymap()
        let remote = try RemoteDashboard(url: url, token: token, interval: Double(every.milliseconds) / 1000)
        remote.start()
        defer { remote.stop() }
        let loop = try DashboardLoop(themeName: dashboard.theme, keymap: keymap)
        defer { loop.close() }
        // The instance's end is shown, not followed: the operator reads the last frame and quits.
        loop.run(remote, finished: { remote.isFinished })
    }
}
