// swift-tools-version: 6.1
// swift-rq's libFuzzer targets: a package of their own, so the library's build and `swift build --build-tests` never
// build them. scripts/fuzz.sh builds them with `-sanitize=fuzzer,address` (which also instruments the library) and
// runs each over its corpus in Corpus/<target>/.
import PackageDescription

/// One executable per target; its `main.swift` hands its body to `fuzz` (FuzzSupport), which runs libFuzzer's driver.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, path: "Sources/\(name)")
}

let rq: Target.Dependency = .product(name: "RQ", package: "swift-rq")

let package = Package(
    name: "swift-rq-fuzz",
    dependencies: [
        .package(path: "swift-rq")  // a symlink to the repository root, as Benchmarks/ has
    ],
    targets: [
        .target(name: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"]),
        fuzzTarget("fuzz-job-hash", [rq]),
        fuzzTarget("fuzz-json", [rq]),
        fuzzTarget("fuzz-resp", [rq]),
        fuzzTarget("fuzz-cron", [rq]),
        fuzzTarget("fuzz-redis-url", [rq]),
        fuzzTarget("fuzz-settings", [rq, .product(name: "RQCommandLine", package: "swift-rq")]),
        fuzzTarget("fuzz-pickle", [rq]),
    ],
    swiftLanguageModes: [.v6]
)
