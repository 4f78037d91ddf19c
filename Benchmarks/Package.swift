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
        // malloc's count of the heap in use, for the result-waiters section.
        .target(name: "CHeapInfo"),
        .executableTarget(
            name: "rq-bench",
            dependencies: [
                "CHeapInfo",
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
            // run.sh builds it twice: tuned as the README advises (--static-swift-stdlib and a position-dependent
            // link, which needs no load-time relocation of 2 MB of Swift metadata: about a third less CPU per start)
            // and the default way, `swift build -c release`, into .build-default.
            path: "Sources/RQBenchRunner"
        ),
    ],
    swiftLanguageModes: [.v6]
)
