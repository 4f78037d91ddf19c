// swift-tools-version: 6.1
// swift-rq's dashboard: a package of its own, so the library's build and `swift build --build-tests` never build
// Hummingbird. `RQDashboard` is a router builder to mount in any Hummingbird app; `rq-dashboard-swift` is the
// example app that serves it, enqueues from a route and awaits the result, and runs a WorkerPool in the same
// ServiceGroup (with swift-otel exporting its traces when OTEL_* variables ask for it). It depends on the root package
// through the `Dashboard/swift-rq` symlink, as Fuzz/ and Benchmarks/ do.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-rq-dashboard",
    products: [
        .library(name: "RQDashboard", targets: ["RQDashboard"]),
        .executable(name: "rq-dashboard-swift", targets: ["DashboardApp"]),
    ],
    dependencies: [
        .package(path: "swift-rq"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // The example app's OpenTelemetry exporter, OTLP/HTTP only (its default traits add OTLP/gRPC, which would
        // build grpc-swift, its HTTP/2 transport and grpc-swift-protobuf as well).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(
            name: "RQDashboard",
            dependencies: [
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "DashboardApp",
            dependencies: [
                "RQDashboard",
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RQDashboardTests",
            dependencies: [
                "RQDashboard",
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "RQTesting", package: "swift-rq"),
                // The OTLP/HTTP receiver that TracingExportTests runs for the app's exporter.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
