import ArgumentParser
import Foundation
import StreamtopLogs
import StreamtopTUI

/// `streamtop themes`: list and validate dashboard themes.
struct ThemesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "themes",
        abstract: "List the dashboard themes, or check theme files for mistakes.",
        subcommands: [ListThemes.self, CheckThemes.self],
        defaultSubcommand: ListThemes.self)

    /// Every `.theme` file in the theme folders, by name (the first folder wins for a name).
    static func available() -> [(name: String, path: String)] {
        var seen = Set<String>()
        var out: [(String, String)] = []
        for dir in DashboardLoop.themeDirectories {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".theme") }.sorted()
            for f in files {
                let name = String(f.dropLast(".theme".count))
                if seen.insert(name).inserted { out.append((name, "\(dir)/\(f)")) }
            }
        }
        return out
    }
}

struct ListThemes: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the themes --theme can name.")
    func run() throws {
        for (name, path) in ThemesCommand.available() { print("\(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(path)") }
    }
}

struct CheckThemes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check themes (all of them by default): every warning with its file and line, and every role whose text has less than WCAG's contrast (4.5:1; 3:1 for bars and graphs) against its background; exit 1 if any.")

    @Argument(help: ArgumentHelp("Theme names or .theme files.", valueName: "theme"))
    var themes: [String] = []

    func run() throws {
        let targets = themes.isEmpty ? ThemesCommand.available().map(\.path) : themes
        var problems = 0
        for target in targets {
            do {
                let (theme, warnings) = try Theme.load(target, directories: DashboardLoop.themeDirectories)
                for w in warnings { print(Escaped.message("\(target):\(w.line): \(w.message)")) }
                // Readability: WCAG contrast of each role's text against its background.
                let hard = theme.contrastWarnings()
                for h in hard {
                    print(Escaped.message("\(target): role '\(h.role.rawValue)' is hard to read: contrast \(String(format: "%.1f", h.ratio)):1, WCAG asks \(String(format: "%.1f", h.needed)):1"))
                }
                problems += warnings.count + hard.count
                if warnings.isEmpty && hard.isEmpty { print(Escaped.message("\(target): ok (\(theme.name), \(theme.styles.count) roles, every text role at least 4.5:1)")) }
            } catch {
                print(Escaped.message("\(target): \(error)"))
                problems += 1
            }
        }
        if problems > 0 { throw ExitCode(1) }
    }
}
