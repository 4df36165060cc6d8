// swift-tools-version:6.1
// The benchmarks' own executables, kept out of masscast's default build (as swift-nio and
// swift-log keep theirs). Build from the repository root, in a scratch path of its own:
//
//   swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks --product sandbox-bench-minimal
//   (or sandbox-bench-nio, runner-bench-bare)
//
// No executable uses a masscast module: each is the floor a masscast benchmark is
// measured against, so each depends only on the libraries masscast builds on, at the same
// versions as the root Package.swift.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "masscast-benchmarks",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sandbox-bench-minimal", targets: ["sandbox-bench-minimal"]),
        .executable(name: "sandbox-bench-nio", targets: ["sandbox-bench-nio"]),
        .executable(name: "runner-bench-bare", targets: ["runner-bench-bare"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The floor of the sandbox benchmark (sandbox/run.sh): one constant Hummingbird 2 route.
        .executableTarget(
            name: "sandbox-bench-minimal",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "sandbox/MinimalRoute",
            swiftSettings: strict
        ),
        // Under that floor (sandbox/floors.sh): the same answer from SwiftNIO's HTTP/1.1
        // pipeline and one channel handler, to tell the framework's cost from NIO's.
        .executableTarget(
            name: "sandbox-bench-nio",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "sandbox/NIORoute",
            swiftSettings: strict
        ),
        // The floor of the runner benchmark (runner/run.sh): the same calls from a bare
        // AsyncHTTPClient loop.
        .executableTarget(
            name: "runner-bench-bare",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "runner/Bare",
            swiftSettings: strict
        ),
    ]
)
