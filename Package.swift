// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-rq",
    products: [
        .library(name: "RQ", targets: ["RQ"]),
        .library(name: "RQTesting", targets: ["RQTesting"]),
        .executable(name: "example-jobs", targets: ["ExampleJobs"]),
        .executable(name: "rq-demo", targets: ["Demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2")
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "RQ",
            dependencies: [
                "CHiredis",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
            ],
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
            dependencies: ["RQ", "ExampleFunctions"],
            path: "Examples/ExampleJobs",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Demo",
            dependencies: ["RQ", "RQTesting", "ExampleFunctions"],
            path: "Examples/Demo",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RQTests",
            dependencies: ["RQ"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RQIntegrationTests",
            dependencies: ["RQ", "RQTesting", "ExampleFunctions"],
            exclude: ["Python"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
