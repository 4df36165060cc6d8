/// Checks across the pipelines of one repository (validated together).
public enum PipelineSet {
    /// A broadcast's `name` is its identity in the state store: two files with one name would
    /// share keys and journal entries. Reports each later file at its `name`, noting the first.
    public static func duplicateNames(_ pipelines: [Pipeline]) -> [Diagnostic] {
        var first: [String: Pipeline] = [:]
        var diagnostics: [Diagnostic] = []
        for p in pipelines where !p.name.value.isEmpty {
            if let earlier = first[p.name.value] {
                diagnostics.append(.error(
                    .duplicatePipelineName, "the name '\(p.name.value)' is already used by \(earlier.file)",
                    at: p.name.location, note: .init("'\(p.name.value)' is defined here", at: earlier.name.location),
                    hint: "a name identifies one broadcast: give each pipeline its own"))
            } else {
                first[p.name.value] = p
            }
        }
        return diagnostics
    }
}
