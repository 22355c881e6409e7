import ArgumentParser
import Foundation
import StreamtopTUI

/// `streamtop attach URL`: the dashboard over a running instance (one started with `--listen`);
/// `streamtop attach URL URL …` or `--instances FILE`: the cluster view over several.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Open the dashboard on a running instance (started with --listen HOST:PORT), or the cluster view on several.",
        discussion: """
            One instance: every view and key works; keys become commands sent with the token. The header names the \
            instance and how old the data shown is; when the instance stops answering, the last frame stays, marked \
            UNREACHABLE since when, and the link is retried until it answers. Without --control-token-file the \
            dashboard is read-only.

            Several instances (or --instances FILE, one address per line): one row per instance with its state, input \
            rate, busiest task and last checkpoint; totals; and the analytics merged across instances (counts summed, \
            distinct counts by HyperLogLog union, top lists merged, served time from the merged histogram), marked as \
            estimates where they are. Distinct counts union only between instances started with the same \
            STREAMTOP_HASH_SEED. Enter opens an instance's own dashboard; q there comes back.
            """)

    @Argument(help: ArgumentHelp("The instances: HOST:PORT or http://HOST:PORT (their --listen addresses).", valueName: "url"))
    var urls: [String] = []

    @Option(help: ArgumentHelp("A file listing instances, one address per line (# starts a comment).", valueName: "file"))
    var instances: String?

    @Option(help: ArgumentHelp("A file holding the instances' control token (their --control-token-file): keys and : commands are then sent.", valueName: "file"))
    var controlTokenFile: String?

    @Option(help: ArgumentHelp("How often each instance is asked for a fresh frame, e.g. 250ms, 1s (default 250ms for one instance, 1s for a cluster).", valueName: "duration"))
    var every: Duration?

    @OptionGroup var dashboard: DashboardOptions

    func run() throws {
        let addresses = try self.addresses()
        let token = try controlTokenFile.map { path -> String in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read control token file \(path)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let interval = every ?? Duration(milliseconds: addresses.count == 1 ? 250 : 1000)
        guard (50...60_000).contains(interval.milliseconds) else { throw ValidationError("--every must be between 50ms and 60s for attach") }
        let keymap = try dashboard.keymap()
        // Bad settings (a --refresh typo) fail before anything connects.
        let settings = try dashboard.dashboardSettings()
        let links = try addresses.map { try InstanceLink(url: $0, token: token, interval: Double(interval.milliseconds) / 1000) }
        var seen: [InstanceHTTP.Endpoint: String] = [:]
        for (link, text) in zip(links, addresses) {
            if let first = seen[link.address] { throw CLIError("instance \(text) is listed twice (also as \(first))") }
            seen[link.address] = text
        }
        // One instance must answer before the terminal is taken; in a cluster, one that does not is listed
        // as unreachable and retried.
        if links.count == 1 { try links[0].connect() }
        let cluster = links.count > 1 ? ClusterDashboard(links: links, thresholds: settings.thresholds) : nil
        for l in links { l.start() }
        defer { for l in links { l.stop() } }
        let loop = try DashboardLoop(themeName: dashboard.themeName(), keymap: keymap, settings: settings)
        defer { loop.close() }
        if cluster == nil {
            let remote = RemoteDashboard(link: links[0])
            // The instance's end is shown, not followed: the operator reads the last frame and quits.
            loop.run(remote, finished: { remote.isFinished })
        } else {
            cluster?.run(on: loop)
        }
    }

    /// The addresses given on the command line, then those in --instances.
    func addresses() throws -> [String] {
        var all = urls
        if let path = instances {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read instance list \(path)") }
            for line in text.split(whereSeparator: \.isNewline) {
                let entry = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
                if !entry.isEmpty { all.append(entry) }
            }
        }
        guard !all.isEmpty else {
            throw ValidationError(instances == nil ? "give an instance's address (its --listen HOST:PORT), or several, or --instances FILE" : "\(instances!) lists no instance")
        }
        return all
    }
}
