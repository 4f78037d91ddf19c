// swift-tools-version: 6.1
// swift-rq's benchmark: its own package so the library and its CI never build HdrHistogram.
import PackageDescription

let package = Package(
    name: "swift-rq-benchmarks",
    dependencies: [
        .package(path: "swift-rq"),  // a symlink to the repository root, so the identity is stable
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "rq-bench",
            dependencies: [
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "RQTesting", package: "swift-rq"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/RQBench"
        ),
        .executableTarget(
            name: "rq-bench-runner",
            dependencies: [
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/RQBenchRunner",
            // A position-dependent executable needs no load-time relocation of its 2 MB of Swift metadata: it
            // starts with about a third less CPU, which is most of a horse's cost (see README, Performance).
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
