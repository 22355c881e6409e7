// swift-tools-version: 6.0
import PackageDescription

// Dependencies are kept few and light: every CI run builds them from a clean clone on 2 cores.
let package = Package(
    name: "streamtop",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "streamtop", targets: ["streamtop"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // HTTP for --listen: lightweight, no swift-nio (about 14 s of a clean 2-core build; nio-based servers take minutes).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // Blocks, bounded queues, task graph, scheduler, worker pool, metrics, decision log.
        .target(
            name: "StreamtopEngine",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        // Access-log formats, the byte-level parser, line sources and the demo generator.
        .target(name: "StreamtopLogs", dependencies: ["CZlib"], swiftSettings: hotPath),
        // zlib (system library) for gzipped logs.
        .systemLibrary(name: "CZlib"),
        // glibc's mallopt, to keep freed input blocks in the heap (see Streamtop.main).
        .systemLibrary(name: "CMalloc"),
        // A cache prefetch (a C builtin), for the report's table probes (see ByteKeyCounter.prefetch).
        .systemLibrary(name: "CPrefetch"),
        // The access-log tasks (parse, aggregate, sink), the default pipeline and the report.
        .target(
            name: "StreamtopAnalytics",
            dependencies: [
                "StreamtopEngine", "StreamtopLogs", "StreamtopKafka", "CPrefetch", "TOMLKit", .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: hotPath),
        // Screen buffer, layout, widgets, keymap, reducer and themes. No curses here.
        .target(
            name: "StreamtopTUI",
            dependencies: ["StreamtopEngine", "StreamtopAnalytics", "StreamtopLogs", "TOMLKit"]
        ),
        // The only C: ncursesw with the wide-character API, plus wrappers for its macros and globals.
        .target(name: "CNcurses", linkerSettings: [.linkedLibrary("ncursesw")]),
        // The real terminal backend: draws a screen buffer through ncurses and reads keys.
        .target(name: "StreamtopCurses", dependencies: ["CNcurses", "StreamtopTUI"]),
        // The files in demo-data/ and themes/, shipped as resources of one small target.
        .target(
            name: "StreamtopAssets",
            path: ".",
            exclude: ["Tests", "benchmarks", "examples", "README.md", "NOTICE", "demo-data/README.md", "Sources/CNcurses", "Sources/StreamtopEngine", "Sources/StreamtopLogs",
                      "Sources/StreamtopAnalytics", "Sources/StreamtopTUI", "Sources/StreamtopCurses", "Sources/streamtop", "Sources/StreamtopService",
                      "Sources/StreamtopFuzzTargets", "Sources/StreamtopFuzz", "fuzz", "Sources/CKafka", "Sources/StreamtopKafka"],
            sources: ["Sources/StreamtopAssets"],
            resources: [.copy("demo-data/demo-access.log"), .copy("themes")]
        ),
        // librdkafka's C API, bound at run time with dlopen: building needs neither the library nor its headers.
        .target(name: "CKafka", linkerSettings: [.linkedLibrary("dl")]),
        // Kafka topics as a line source, a result sink and a producer (kafka:// addresses).
        .target(name: "StreamtopKafka", dependencies: ["CKafka", "StreamtopLogs", "StreamtopEngine"]),
        // The service endpoint (--listen): Prometheus metrics and health over HTTP, from published snapshots.
        .target(
            name: "StreamtopService",
            dependencies: ["StreamtopEngine", "StreamtopLogs", "StreamtopAnalytics", .product(name: "FlyingFox", package: "FlyingFox")]
        ),
        .executableTarget(
            name: "streamtop",
            dependencies: [
                "StreamtopEngine", "StreamtopLogs", "StreamtopAnalytics", "StreamtopTUI", "StreamtopCurses", "StreamtopAssets", "StreamtopService", "StreamtopKafka", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `attach` asks instances over FlyingFox's HTTP client (see InstanceHTTP).
                .product(name: "FlyingFox", package: "FlyingFox"), .product(name: "FlyingSocks", package: "FlyingFox"),
            ],
        ),
        // Every parser of untrusted text as a function of one input's bytes (fuzz targets).
        .target(name: "StreamtopFuzzTargets", dependencies: ["StreamtopLogs", "StreamtopAnalytics", "StreamtopEngine", "StreamtopTUI"]),
        // libFuzzer binary with -D FUZZING (fuzz/run.sh), else a replayer of saved inputs.
        .executableTarget(name: "streamtop-fuzz", dependencies: ["StreamtopFuzzTargets"], path: "Sources/StreamtopFuzz"),
        .testTarget(
            name: "StreamtopEngineTests", dependencies: ["StreamtopEngine", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: tests),
        .testTarget(name: "StreamtopLogsTests", dependencies: ["StreamtopLogs"], swiftSettings: tests),
        .testTarget(
            name: "StreamtopAnalyticsTests",
            dependencies: ["StreamtopAnalytics", "StreamtopEngine", "StreamtopLogs", .product(name: "Histogram", package: "hdrhistogram-swift")],
            resources: [.copy("Samples")],
            swiftSettings: tests
        ),
        .testTarget(
            name: "StreamtopTUITests", dependencies: ["StreamtopTUI", "StreamtopEngine", "StreamtopAnalytics"],
            exclude: ["Snapshots"], swiftSettings: tests),
        .testTarget(name: "streamtopTests", dependencies: ["StreamtopAnalytics", "StreamtopKafka"], swiftSettings: tests),
        .testTarget(name: "StreamtopKafkaTests", dependencies: ["StreamtopKafka", "StreamtopLogs"], swiftSettings: tests),
        .testTarget(name: "StreamtopFuzzTargetsTests", dependencies: ["StreamtopFuzzTargets"], swiftSettings: tests),
    ],
    // The product's modules compile in the Swift 6 language mode (full data-race checking); the tests stay
    // in Swift 5 mode (`tests`): they share fixtures across threads in ways the checker cannot prove.
    swiftLanguageModes: [.v6]
)

var tests: [SwiftSetting] { [.swiftLanguageMode(.v5)] }

/// The per-record code (parsing, operators) mutates class-held state in tight loops; in release builds the
/// runtime's dynamic exclusivity checks took ~14% of a pipeline's perf samples there. They are
/// kept in debug builds, where the tests run; .ci/run also runs these targets' tests in a release build
/// (with the flag), so it never hides what a debug run would catch.
var hotPath: [SwiftSetting] { [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))] }
