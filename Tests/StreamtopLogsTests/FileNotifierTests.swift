import Foundation
import Testing
@testable import StreamtopLogs

/// An idle `watch` sleeps on inotify instead of polling: a write to a followed file, a rotation or a new
/// pattern match wakes it, writes to other files in the same folder do not, and a stop ends the sleep.
/// The fallback is set to minutes here, so a wait that ends at all was ended by an event.
@Suite struct FileNotifierTests {
    func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "streamtop-notify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func later(_ seconds: Double, _ body: @escaping @Sendable () -> Void) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: body)
    }

    @Test func writesToAFollowedFileAndItsRotationsWake() throws {
        let dir = try folder()
        let log = dir + "/access.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let n = try #require(FileNotifier(fallbackMilliseconds: 120_000))
        n.watchFolder(of: log)
        later(0.05) { try? "GET /\n".write(toFile: log, atomically: false, encoding: .utf8) }
        n.wait()
        #expect(!n.foldersChanged, "a write changes no folder")
        // The write's own later events (its close, which a loaded machine may deliver well after the
        // write) may end the next waits; the rename must end one of them as a folder change.
        later(0.05) { _ = rename(log, log + ".1") }
        let deadline = Date().addingTimeInterval(10)
        repeat { n.wait() } while !n.foldersChanged && Date() < deadline
        #expect(n.foldersChanged, "a rotation renames the log away")
    }

    @Test func otherFilesInTheFolderDoNotWake() throws {
        let dir = try folder()
        let log = dir + "/access.log"
        let n = try #require(FileNotifier(fallbackMilliseconds: 120_000))
        n.watchFolder(of: log)
        let start = Date()
        for i in 0..<5 { later(0.02 * Double(i)) { try? "x\n".write(toFile: dir + "/unrelated-\(i).txt", atomically: false, encoding: .utf8) } }
        n.wait(milliseconds: 400)
        #expect(Date().timeIntervalSince(start) >= 0.35, "unrelated files ended the sleep")
        #expect(!n.foldersChanged)
    }

    @Test func newPatternMatchesAndStopWake() throws {
        let dir = try folder()
        let n = try #require(FileNotifier(fallbackMilliseconds: 120_000))
        n.watchFolder(of: dir + "/*.log", isPattern: true)
        later(0.05) { FileManager.default.createFile(atPath: dir + "/new.log", contents: nil) }
        n.wait()
        #expect(n.foldersChanged)
        later(0.05) { n.wake() }
        n.wait()
        #expect(!n.foldersChanged, "woken by the stop, not by a folder change")
    }
}
