// libFuzzer target: the located YAML reader (PipelineYAML), then the pipeline and
// masscast.yaml models built on its tree. Any input must end in a result or diagnostics:
// never a crash, a hang or an unbounded allocation.
import PipelineYAML
import Foundation
import FuzzDriver

private let reader = YAMLReader()
private let pipelines = PipelineLoader(reader: reader, secretEnvironment: ["BRAND_MAIN_APP_SECRET"])
private let configs = ProjectConfigLoader(reader: reader)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let result = reader.read(bytes: bytes, file: "fuzz.yaml")
    // Every diagnostic says something.
    for diagnostic in result.diagnostics {
        precondition(!diagnostic.message.isEmpty, "a diagnostic without a message")
    }
    if result.root != nil, let text = String(validating: bytes, as: UTF8.self) {
        let loaded = pipelines.load(text: text, file: "fuzz.yaml")
        if loaded.pipeline == nil { precondition(loaded.hasErrors, "no pipeline and no error") }
        _ = configs.load(text: text, file: "masscast.yaml")
    }
    return 0
}

@main
enum FuzzYAMLMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzYAML))
    }
}
