// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "masscast",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "masscast", targets: ["masscast"]),
        .library(name: "PipelineCore", targets: ["PipelineCore"]),
        .library(name: "PipelineYAML", targets: ["PipelineYAML"]),
        .library(name: "WeChatMP", targets: ["WeChatMP"]),
        .library(name: "WeChatPush", targets: ["WeChatPush"]),
        .library(name: "WeChatSandbox", targets: ["WeChatSandbox"]),
        .library(name: "RunState", targets: ["RunState"]),
        .library(name: "StateSQLite", targets: ["StateSQLite"]),
        .library(name: "StatePostgres", targets: ["StatePostgres"]),
        .library(name: "Runner", targets: ["Runner"]),
        .library(name: "MasscastTesting", targets: ["MasscastTesting"]),
        // For the fuzz targets (Fuzz/): the audience reader.
        .library(name: "Audience", targets: ["Audience"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // WeChat's documented limits, defined once (pure; read by PipelineCore and WeChatMP).
        .target(name: "WeChatLimits", swiftSettings: strict),
        .target(name: "PipelineCore", dependencies: ["WeChatLimits"], swiftSettings: strict),
        // The system libyaml (the C parser PipelineYAML walks event by event).
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        .target(
            name: "PipelineYAML",
            dependencies: ["PipelineCore", "CLibYAML"],
            swiftSettings: strict
        ),
        // The system OpenSSL's libcrypto: WeChatPush's AES-256-CBC, one call per message.
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]
        ),
        // The inbound push protocol: callback signatures and AES crypto, the strict XML reader,
        // MASSSENDJOBFINISH and other events. No HTTP client: the listener links this alone.
        .target(
            name: "WeChatPush",
            dependencies: [
                "CLibCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The outbound API client: typed requests and responses, errcodes, tokens, transport.
        .target(
            name: "WeChatMP",
            dependencies: [
                "WeChatLimits",
                "PipelineCore",  // Account's TokenMode
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // A server run in this process on a (free) loopback port and stopped gracefully: what
        // the in-process sandbox and listener are built on.
        .target(
            name: "ServiceHost",
            dependencies: [
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "WeChatSandbox",
            dependencies: [
                "WeChatMP", "WeChatPush", "WeChatLimits", "PipelineCore", "PipelineYAML", "ServiceHost",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [.embedInCode("Resources/default-fixture.yaml")],  // SandboxFixture.defaultYAML
            swiftSettings: strict
        ),
        // The records and the StateStore protocol (Foundation only), so that store
        // implementations and the runner build apart.
        .target(name: "RunState", swiftSettings: strict),
        .target(
            name: "StateSQLite",
            dependencies: ["RunState", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The PostgreSQL `StateStore` (postgres-nio): many runners and listeners over one database.
        // PostgresNIO types never leave the module.
        .target(
            name: "StatePostgres",
            dependencies: [
                "RunState",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // OpenID files read as a stream, validated, de-duplicated and split into batches.
        .target(
            name: "Audience",
            dependencies: ["PipelineCore", "WeChatLimits", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // `validate`'s checks of the files a pipeline names (media, content files, audiences)
        // and the repository root their paths must stay inside.
        .target(
            name: "FileChecks",
            dependencies: ["PipelineCore", "Audience", "WeChatMP"],
            swiftSettings: strict
        ),
        // Log handlers (JSON lines, text with progress), run reports, run timelines.
        .target(
            name: "RunLog",
            dependencies: ["PipelineCore", "RunState", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "Runner",
            dependencies: [
                "PipelineCore", "WeChatMP", "RunState", "Audience", "FileChecks", "RunLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The HTTP endpoint that receives WeChat pushes into the state store (`masscast listen`).
        .target(
            name: "CallbackServer",
            dependencies: [
                "WeChatPush", "RunState", "PipelineCore", "ServiceHost", "RunLog",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The application layer: pipeline path + config + flags + environment → a ready RunSession
        // (config discovery, secrets, account resolution, store, sandbox and listener wiring),
        // shared by the command line and the tests.
        .target(
            name: "MasscastApp",
            dependencies: [
                "PipelineCore", "PipelineYAML", "WeChatMP", "WeChatSandbox", "RunState", "StateSQLite", "StatePostgres",
                "RunLog", "Runner", "CallbackServer", "FileChecks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Test support, used only by tests (like HummingbirdTesting): the built binary run as a
        // child process (swift-subprocess) with a time limit, run reports decoded, and the
        // runner's rig (MasscastApp's run preparation against an in-process sandbox, on
        // virtual time when asked).
        .target(
            name: "MasscastTesting",
            dependencies: [
                "MasscastApp", "PipelineCore", "PipelineYAML", "RunLog", "RunState", "Runner", "StateSQLite", "StatePostgres",
                "WeChatMP", "WeChatSandbox",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "masscast",
            dependencies: [
                "MasscastApp", "PipelineCore", "PipelineYAML", "WeChatMP", "WeChatSandbox",
                "RunState", "StateSQLite", "Audience", "RunLog", "Runner", "CallbackServer", "FileChecks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PipelineCoreTests", dependencies: ["PipelineCore", "WeChatLimits"], swiftSettings: strict),
        .testTarget(
            name: "PipelineYAMLTests",
            dependencies: ["PipelineCore", "PipelineYAML", "MasscastTesting"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "WeChatMPTests",
            dependencies: [
                "WeChatMP", "PipelineCore", "MasscastTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "WeChatPushTests",
            dependencies: ["WeChatPush", "MasscastTesting"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "WeChatSandboxTests",
            dependencies: [
                "WeChatSandbox", "WeChatMP", "WeChatPush", "PipelineCore", "PipelineYAML", "ServiceHost", "MasscastTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "masscastTests",
            dependencies: [
                "MasscastTesting", "PipelineCore", "PipelineYAML", "WeChatSandbox", "WeChatMP", "RunState", "StateSQLite", "StatePostgres",
                "RunLog", "WeChatPush",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MasscastAppTests",
            dependencies: [
                "MasscastApp", "MasscastTesting", "PipelineCore", "PipelineYAML", "Runner", "RunState", "StateSQLite",
                "WeChatMP", "WeChatSandbox", "CallbackServer", "RunLog", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StateSQLiteTests", dependencies: ["RunState", "StateSQLite", "StatePostgres", "MasscastTesting"],
            swiftSettings: strict),
        .testTarget(name: "AudienceTests", dependencies: ["Audience", "MasscastTesting"], swiftSettings: strict),
        .testTarget(name: "FileChecksTests", dependencies: ["FileChecks", "PipelineCore", "PipelineYAML"],
                    swiftSettings: strict),
        .testTarget(
            name: "RunLogTests",
            dependencies: ["PipelineCore", "RunLog", "RunState", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnerTests",
            dependencies: [
                "MasscastTesting", "Runner", "RunState", "StateSQLite", "PipelineCore", "PipelineYAML", "WeChatMP", "WeChatSandbox", "RunLog",
                "CallbackServer", "StatePostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            // The plan comment's golden file, read from the source tree by PlanTests.
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CallbackServerTests",
            dependencies: [
                "CallbackServer", "WeChatPush", "WeChatMP", "RunState", "StateSQLite", "StatePostgres", "MasscastTesting", "WeChatSandbox", "RunLog", "ServiceHost",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)
