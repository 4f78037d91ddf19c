// swift-tools-version: 6.1
// swift-rq inside a Vapor app: routes that enqueue jobs and await their results, and a WorkerPool that starts and
// stops with the application (README.md). A package of its own so the library's build never builds Vapor.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-rq-vapor-example",
    products: [
        .executable(name: "vapor-example", targets: ["VaporExample"])
    ],
    dependencies: [
        .package(path: "swift-rq"),  // a symlink to the repository root, so the identity is stable
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
    ],
    targets: [
        // The application: job functions, routes, and the worker pool's lifecycle handler.
        .target(
            name: "VaporExampleApp",
            dependencies: [
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "Vapor", package: "vapor"),
            ],
            swiftSettings: swiftSettings
        ),
        // `vapor-example`: the server, and its own runner when the pool runs jobs in horses.
        .executableTarget(
            name: "VaporExample",
            dependencies: [
                "VaporExampleApp",
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "Vapor", package: "vapor"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VaporExampleTests",
            dependencies: [
                "VaporExampleApp",
                .product(name: "RQ", package: "swift-rq"),
                .product(name: "RQTesting", package: "swift-rq"),
                .product(name: "VaporTesting", package: "vapor"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
