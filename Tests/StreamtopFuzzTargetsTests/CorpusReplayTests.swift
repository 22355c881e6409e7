import Foundation
import Testing
import StreamtopFuzzTargets

/// Replays the saved fuzz corpus (seeds and every crash input found so far) through the same entry
/// points the fuzzer uses, so `swift test` catches a regression without building the fuzzer.
@Suite struct CorpusReplayTests {
    /// `fuzz/corpus` of this checkout, found from this file's path.
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus")

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplaysWithoutCrash(_ target: FuzzTarget) throws {
        let dir = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.hasDirectoryPath }
        #expect(!files.isEmpty, "no corpus for \(target.rawValue) in \(dir.path)")
        for file in files { target.run(Array(try Data(contentsOf: file))) }
    }

    @Test func everyCorpusFolderIsATarget() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
        for name in names { #expect(FuzzTarget.named(name) != nil, "fuzz/corpus/\(name) is not a target") }
    }
}
