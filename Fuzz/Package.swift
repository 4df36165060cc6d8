// swift-tools-version:6.1
// libFuzzer targets for masscast's input readers, kept out of the main build (as Benchmarks/
// is). Build and run one with scripts/fuzz.sh TARGET SECONDS, which does:
//
//   swift build -c release --package-path Fuzz --scratch-path .build-fuzz \
//       -Xswiftc -sanitize=fuzzer,address --product fuzz-TARGET
//   .build-fuzz/release/fuzz-TARGET -max_total_time=SECONDS Fuzz/corpus/TARGET
//
// Each target is an executable: its `LLVMFuzzerTestOneInput` is the function fuzzed, and its
// Swift `main` hands it to libFuzzer's driver (`LLVMFuzzerRunDriver`, declared by the C
// target FuzzDriver): SwiftPM gives an executable's entry point a name of its own
// (`<module>_main`, linked as `main`), so libFuzzer's own `main` cannot be used.
import PackageDescription

let fuzzer: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "masscast-fuzz",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fuzz-yaml", targets: ["fuzz-yaml"]),
        .executable(name: "fuzz-expression", targets: ["fuzz-expression"]),
        .executable(name: "fuzz-push", targets: ["fuzz-push"]),
        .executable(name: "fuzz-audience", targets: ["fuzz-audience"]),
    ],
    dependencies: [
        .package(name: "masscast", path: ".."),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        // The located YAML reader, then the pipeline and masscast.yaml models built on its tree.
        .executableTarget(
            name: "fuzz-yaml",
            dependencies: [
                "FuzzDriver", .product(name: "PipelineYAML", package: "masscast")],
            swiftSettings: fuzzer
        ),
        // The `${{ }}` expression and template parsers, and the type checker.
        .executableTarget(
            name: "fuzz-expression",
            dependencies: [
                "FuzzDriver", .product(name: "PipelineCore", package: "masscast")],
            swiftSettings: fuzzer
        ),
        // The push path the listener's handler runs: signature, decryption, strict XML, MASSSENDJOBFINISH.
        .executableTarget(
            name: "fuzz-push",
            dependencies: ["FuzzDriver", .product(name: "WeChatPush", package: "masscast")],
            swiftSettings: fuzzer
        ),
        // The OpenID list / CSV reader (`touser_file`): validate's check and the runner's scan.
        .executableTarget(
            name: "fuzz-audience",
            dependencies: [
                "FuzzDriver", .product(name: "Audience", package: "masscast")],
            swiftSettings: fuzzer
        ),
    ]
)
