// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// What a program that runs swift-rq in a ServiceGroup needs besides RQ (the service example, the README's
/// snippet and the test fixture that forgets `runHorseIfRequested()`).
let serviceDependencies: [Target.Dependency] = [
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "UnixSignals", package: "swift-service-lifecycle"),
]

let package = Package(
    name: "swift-rq",
    products: [
        .library(name: "RQ", targets: ["RQ"]),
        .library(name: "RQTesting", targets: ["RQTesting"]),
        .library(name: "RQCommandLine", targets: ["RQCommandLine"]),
        .executable(name: "swift-rq", targets: ["swift-rq"]),
        .executable(name: "example-jobs", targets: ["ExampleJobs"]),
        .executable(name: "rq-demo", targets: ["Demo"]),
        .executable(name: "service-example", targets: ["ServiceExample"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // `swift package generate-documentation --target RQ` (the DocC catalog in Sources/RQ/RQ.docc). A plugin
        // only: nothing of it is linked into the library, the command line or runners.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses with a warning on every build
        // (and which changes nothing on 64-bit Linux); the headers and library are in the default paths.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // OpenSSL for rediss:// (Debian's hiredis has no TLS); only Sources/RQ/Redis/TLS.swift imports it.
        .systemLibrary(
            name: "COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        // libcurl for webhooks, loaded with dlopen when the first one is sent — not linked, so a runner starts as
        // fast as before (see Sources/CCurl/include/rq_curl.h); only Sources/RQ/Support/HTTPClient.swift uses it, on
        // threads of its own. Building needs Debian's libcurl4-openssl-dev (its headers).
        .target(name: "CCurl"),
        .target(name: "CRQShims"),
        .target(
            name: "RQ",
            dependencies: [
                "CCurl",
                "CHiredis",
                "COpenSSL",
                "CZlib",
                "CRQShims",
                // The metrics API only (no Foundation, no backend): the application picks the backend.
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The tracing API only (Instrumentation and ServiceContext, no backend): the application picks the
                // tracer, e.g. swift-otel.
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RQCommandLine",
            dependencies: [
                "RQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                // The Prometheus exporter behind `worker --metrics-port` (see PrometheusEndpoint.swift).
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swift-rq",
            dependencies: ["RQCommandLine"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RQTesting",
            dependencies: ["RQ"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ExampleFunctions",
            dependencies: ["RQ"],
            path: "Examples/ExampleFunctions",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ExampleJobs",
            dependencies: ["RQ", "RQCommandLine", "ExampleFunctions"],
            path: "Examples/ExampleJobs",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Demo",
            dependencies: [
                "RQ", "RQTesting", "ExampleFunctions", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/Demo",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ServiceExample",
            dependencies: ["RQ", "ExampleFunctions"] + serviceDependencies,
            path: "Examples/ServiceExample",
            swiftSettings: swiftSettings
        ),
        // The README's code blocks, compiled (ReadmeTests checks they are the README's, verbatim).
        .target(
            name: "ReadmeSnippets",
            dependencies: [
                "RQ", "RQCommandLine", .product(name: "Tracing", package: "swift-distributed-tracing"),
            ] + serviceDependencies,
            path: "Examples/ReadmeSnippets",
            swiftSettings: swiftSettings
        ),
        // The DocC articles' code blocks, compiled (DocumentationTests checks they are the articles', verbatim).
        .target(
            name: "DocSnippets",
            dependencies: ["RQ", "RQCommandLine"] + serviceDependencies,
            path: "Examples/DocSnippets",
            swiftSettings: swiftSettings
        ),
        // Built for the integration tests: a service that forgets `runHorseIfRequested()`.
        .executableTarget(
            name: "ForgetfulService",
            dependencies: ["RQ"] + serviceDependencies,
            path: "Tests/Fixtures/ForgetfulService",
            swiftSettings: swiftSettings
        ),
        // Built for the tracing tests: a runner whose horses propagate W3C trace context.
        .executableTarget(
            name: "TracingRunner",
            dependencies: ["RQ", .product(name: "Tracing", package: "swift-distributed-tracing")],
            path: "Tests/Fixtures/TracingRunner",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RQTests",
            dependencies: ["RQ"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RQIntegrationTests",
            dependencies: [
                "RQ", "RQCommandLine", "RQTesting", "ExampleFunctions", .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["Python"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
