import ArgumentParser
import Foundation
import StreamtopTUI

/// The dashboard's own options, shared by the commands that run a pipeline and by `attach`.
struct DashboardOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Dashboard theme: a name from themes/, a path to a .theme file, or auto (default: the settings file's, else auto: light on a terminal with a light background, else default).", valueName: "name"))
    var theme: String?

    @Option(help: ArgumentHelp("Dashboard settings (theme, graph span, health alert thresholds; default ~/.config/streamtop/settings.toml when it exists).", valueName: "file"))
    var settings: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Time between dashboard frames while the pipeline moves, like htop's -d (default: the settings file's, else 500ms; 100ms to 10s). A key is answered at once; with watch, a followed file is read as often.", valueName: "duration"))
    var refresh: String?

    /// The settings file's settings (defaults without one), with `--refresh` in force over the file's.
    func dashboardSettings() throws -> DashboardSettings {
        var s = try fileSettings()
        if let refresh {
            switch DashboardSettings.refreshSeconds(refresh) {
            case .success(let secs): s.refresh = secs
            case .failure(let e): throw ValidationError("--refresh: \(e.description)")
            }
        }
        return s
    }

    private func fileSettings() throws -> DashboardSettings {
        let home = ProcessInfo.processInfo.environment["HOME"].map { "\($0)/.config/streamtop/settings.toml" }
        guard let path = settings ?? home.flatMap({ FileManager.default.fileExists(atPath: $0) ? $0 : nil }) else { return DashboardSettings() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read settings file \(path)") }
        do {
            return try DashboardSettings.parse(text)
        } catch let e as SettingsError {
            throw ValidationError("settings \(path): \(e.description)")
        }
    }

    /// The theme in force: the command line's, else the settings file's, else `auto` (light on a terminal
    /// whose background is light, default otherwise).
    func themeName() throws -> String { try theme ?? dashboardSettings().theme ?? "auto" }

    @Option(help: ArgumentHelp("Rebind dashboard keys from a TOML file ([keys] quit = [\"q\"], pause = [\"p\", \"space\"] …; default ~/.config/streamtop/keys.toml when it exists).", valueName: "file"))
    var keys: String?

    /// The keymap: the standard one with the keymap file's bindings applied.
    func keymap() throws -> Keymap {
        let home = ProcessInfo.processInfo.environment["HOME"].map { "\($0)/.config/streamtop/keys.toml" }
        guard let path = keys ?? home.flatMap({ FileManager.default.fileExists(atPath: $0) ? $0 : nil }) else { return .standard }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read keymap file \(path)") }
        do {
            return try Keymap.standard.applying(keymapFile: text)
        } catch let e as KeymapError {
            throw ValidationError("keymap \(path): \(e.description)")
        }
    }
}
