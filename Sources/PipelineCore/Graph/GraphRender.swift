import Foundation

/// Draws a step graph as Mermaid or Graphviz DOT text.
public enum GraphFormat: String, Sendable, CaseIterable {
    case mermaid, dot
}

extension StepGraph {
    /// The graph as text in `format`. Edges are the transitive reduction of the
    /// dependencies; an edge into a step with `if` carries the condition as its label;
    /// sends (irreversible) are drawn with a double border, `continue_on_error` dashed.
    public func render(_ format: GraphFormat) -> String {
        switch format {
        case .mermaid: renderMermaid()
        case .dot: renderDOT()
        }
    }

    private func label(_ step: Step) -> String {
        step.uses.value.isEmpty ? step.id.value : "\(step.id.value)\n\(step.uses.value)"
    }

    private func conditionLabel(_ step: Step) -> String? {
        step.condition.map { "if: \($0.source.trimmingCharacters(in: .whitespaces))" }
    }

    private func renderMermaid() -> String {
        func esc(_ s: String) -> String {
            var out = ""
            for c in s {
                switch c {
                case "\"": out += "#quot;"
                case "\n": out += "<br/>"
                case "<": out += "#lt;"
                case ">": out += "#gt;"
                case "|": out += "#124;"
                default: out.append(c)
                }
            }
            return out
        }
        var lines = ["flowchart TD"]
        for (i, step) in pipeline.steps.enumerated() {
            let text = esc(label(step))
            let shape = step.kind?.sends == true ? "[[\"\(text)\"]]" : "[\"\(text)\"]"
            lines.append("  s\(i)\(shape)")
        }
        for e in reducedEdges() {
            if let c = conditionLabel(pipeline.steps[e.to]) {
                lines.append("  s\(e.from) -->|\"\(esc(c))\"| s\(e.to)")
            } else {
                lines.append("  s\(e.from) --> s\(e.to)")
            }
        }
        // A conditional step with no incoming edge still shows its condition.
        let targets = Set(reducedEdges().map(\.to))
        for (i, step) in pipeline.steps.enumerated() where !targets.contains(i) {
            if let c = conditionLabel(step) {
                lines.append("  s\(i)_if{{\"\(esc(c))\"}} -.-> s\(i)")
            }
        }
        let dashed = pipeline.steps.indices.filter { pipeline.steps[$0].continueOnError }
        if !dashed.isEmpty {
            lines.append("  classDef continueOnError stroke-dasharray: 5 5")
            lines.append("  class " + dashed.map { "s\($0)" }.joined(separator: ",") + " continueOnError")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func renderDOT() -> String {
        func esc(_ s: String) -> String {
            var out = "\""
            for c in s {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default: out.append(c)
                }
            }
            return out + "\""
        }
        var lines = ["digraph \(esc(pipeline.name.value)) {", "  rankdir=TB;", "  node [shape=box, fontname=\"Helvetica\"];",
                     "  edge [fontname=\"Helvetica\", fontsize=10];"]
        for (i, step) in pipeline.steps.enumerated() {
            var attrs = ["label=\(esc(label(step)))"]
            var styles: [String] = []
            if step.kind?.sends == true { attrs.append("peripheries=2"); styles.append("bold") }
            if step.continueOnError { styles.append("dashed") }
            if step.condition != nil { styles.append("rounded") }
            if !styles.isEmpty { attrs.append("style=\(esc(styles.joined(separator: ",")))") }
            lines.append("  s\(i) [\(attrs.joined(separator: ", "))];")
        }
        let reduced = reducedEdges()
        for e in reduced {
            if let c = conditionLabel(pipeline.steps[e.to]) {
                lines.append("  s\(e.from) -> s\(e.to) [label=\(esc(c))];")
            } else {
                lines.append("  s\(e.from) -> s\(e.to);")
            }
        }
        let targets = Set(reduced.map(\.to))
        for (i, step) in pipeline.steps.enumerated() where !targets.contains(i) {
            if let c = conditionLabel(step) {
                lines.append("  s\(i)_if [shape=plaintext, label=\(esc(c))];")
                lines.append("  s\(i)_if -> s\(i) [style=dotted];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
