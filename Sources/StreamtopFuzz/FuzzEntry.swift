import Foundation
import StreamtopFuzzTargets

// Built with `-D FUZZING` and `--sanitize=fuzzer` (see fuzz/run.sh) this file is a libFuzzer target:
// libFuzzer supplies `main`, and the target comes from STREAMTOP_FUZZ_TARGET because libFuzzer owns the
// command line. Built normally it is a replayer with the same entry points, so plain `swift build`
// links it and a saved crash input reproduces without the fuzzer:
//     streamtop-fuzz json fuzz/corpus/json crash-1234

#if FUZZING
    /// The target for this process, read once.
    nonisolated(unsafe) private var fuzzTarget: FuzzTarget?

    /// libFuzzer calls this once before any input: fail fast on a missing or unknown target.
    @_cdecl("LLVMFuzzerInitialize")
    public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
        let name = ProcessInfo.processInfo.environment["STREAMTOP_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget.named(name) else {
            FileHandle.standardError.write(Data("set STREAMTOP_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        fuzzTarget = target
        return 0
    }

    /// libFuzzer calls this for every input.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        fuzzTarget?.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
#else
    /// Replays files (and every file under directories) through a fuzz target.
    @main
    struct FuzzReplay {
        static func main() {
            var args = Array(CommandLine.arguments.dropFirst())
            let fromEnvironment = ProcessInfo.processInfo.environment["STREAMTOP_FUZZ_TARGET"].flatMap(FuzzTarget.named)
            let target: FuzzTarget
            if let first = args.first, let named = FuzzTarget.named(first) {
                target = named
                args.removeFirst()
            } else if let fromEnvironment {
                target = fromEnvironment
            } else {
                let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
                print("usage: streamtop-fuzz [\(names)] FILE|DIR...   (or STREAMTOP_FUZZ_TARGET=NAME)")
                exit(2)
            }
            var count = 0
            for path in args {
                for file in files(under: path) {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        print("cannot read \(file)")
                        exit(1)
                    }
                    // Named first, so the last line before a crash says which input it was.
                    FileHandle.standardError.write(Data("\(target.rawValue): \(file)\n".utf8))
                    target.run(Array(data))
                    count += 1
                }
            }
            print("\(target.rawValue): \(count) input(s), no crash")
        }

        /// The path itself if it is a file, else the files under it, sorted.
        static func files(under path: String) -> [String] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
            let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
            return names.sorted().map { path + "/" + $0 }.filter { sub in
                var dir: ObjCBool = false
                return FileManager.default.fileExists(atPath: sub, isDirectory: &dir) && !dir.boolValue
            }
        }
    }
#endif
