/// A pipeline's inputs file, `NAME.inputs.yaml` beside `NAME.yaml`: a mapping of the
/// pipeline's declared inputs to literal values, committed so that `masscast apply` (which
/// never reads inputs from the environment) knows them.
///
/// ```yaml
/// tag_id: 100
/// reviewer: editor_01
/// ```
public struct InputsFile: Sendable {
    /// The file, as diagnostics name it.
    public var file: String
    /// Each value given, typed by the input's declaration, with where it was written.
    public var values: [String: Located<Value>]

    public init(file: String, values: [String: Located<Value>]) {
        self.file = file
        self.values = values
    }

    /// The values, without their locations.
    public var plainValues: [String: Value] { values.mapValues(\.value) }

    /// The required inputs without a default that `values` give no value: what `masscast
    /// apply` (which takes no `--input`) cannot send without.
    public static func missing(_ values: [String: Value], pipeline: Pipeline) -> [String] {
        pipeline.inputs.filter { $0.required && $0.defaultValue == nil && values[$0.name] == nil }.map(\.name)
    }

    /// The inputs file of the pipeline at `pipelinePath`: `x.yaml` → `x.inputs.yaml`
    /// (`x.yml` → `x.inputs.yml`).
    public static func path(forPipeline pipelinePath: String) -> String {
        for ext in [".yaml", ".yml"] where pipelinePath.hasSuffix(ext) {
            return String(pipelinePath.dropLast(ext.count)) + ".inputs" + ext
        }
        return pipelinePath + ".inputs.yaml"
    }

    /// Whether `path` names an inputs file (not a pipeline).
    public static func isInputsFile(_ path: String) -> Bool {
        path.hasSuffix(".inputs.yaml") || path.hasSuffix(".inputs.yml")
    }

    /// Decodes the file's tree against `pipeline`'s declarations, reporting every problem:
    /// a key that is no declared input (with a "did you mean"), a value of another type.
    public static func decode(_ root: SourceNode, file: String, pipeline: Pipeline) -> (InputsFile, [Diagnostic]) {
        var bag = DiagnosticBag()
        var values: [String: Located<Value>] = [:]
        guard let entries = root.entries else {
            if case .scalar = root.content, case .null? = root.typed { return (InputsFile(file: file, values: [:]), []) }
            bag.error(
                .wrongType, "an inputs file is a mapping of input names to values, not \(root.kindDescription)",
                at: root.location, hint: "write one `name: value` line per input")
            return (InputsFile(file: file, values: [:]), bag.diagnostics)
        }
        let declared = Dictionary(pipeline.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for entry in entries {
            guard let declaration = declared[entry.key] else {
                let names = pipeline.inputs.map(\.name)
                let suggestion = Suggestion.closest(to: entry.key, among: names)
                bag.error(
                    .unknownKey,
                    "'\(entry.key)' is not an input of pipeline \(pipeline.name.value) "
                        + "(its inputs: \(names.isEmpty ? "none" : names.joined(separator: ", ")))",
                    at: entry.keyLocation,
                    hint: suggestion.map { "did you mean '\($0)'?" } ?? "remove it, or declare it under `inputs:` in \(pipeline.file)")
                continue
            }
            guard let value = PipelineDecoder.value(of: entry.value, as: declaration.type) else {
                let expected: String =
                    switch declaration.type {
                    case .string: "a string"
                    case .integer: "an integer"
                    case .boolean: "true or false"
                    case .list: "a list"
                    }
                bag.error(
                    .wrongType,
                    "input '\(entry.key)' is \(expected) (declared `type: \(declaration.type.rawValue)`), not \(entry.value.kindDescription)",
                    at: entry.value.location, hint: declaration.type == .string ? "quote it to make it a string" : nil)
                continue
            }
            values[entry.key] = Located(value, at: entry.value.location)
        }
        return (InputsFile(file: file, values: values), bag.diagnostics)
    }
}
