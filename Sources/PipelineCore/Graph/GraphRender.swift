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

    /// One drawn edge: solid for a dependency, dotted for a condition's reference to a step
    /// that is not an immediate predecessor; labelled with the condition it gates.
    struct DrawnEdge: Hashable {
        var from: Int
        var to: Int
        var label: String?
        var dotted: Bool
    }

    /// The edges to draw. A condition's label sits on the edge from a step it reads (a dotted
    /// edge when no step it reads is drawn as a predecessor), once; every other step it reads
    /// gets an unlabelled dotted edge. A condition that reads no step (`always()`) labels the
    /// incoming edges.
    func drawnEdges() -> (edges: [DrawnEdge], unlabelled: [Int]) {
        let reduced = reducedEdges()
        let index = Dictionary(pipeline.steps.enumerated().map { ($1.id.value, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [DrawnEdge] = []
        var labelledTargets: Set<Int> = []
        for e in reduced {
            var label: String?
            if let c = pipeline.steps[e.to].condition {
                let reads = c.stepReferences.compactMap { index[$0] }
                if reads.isEmpty || reads.contains(e.from) { label = conditionLabel(pipeline.steps[e.to]) }
            }
            if label != nil { labelledTargets.insert(e.to) }
            out.append(DrawnEdge(from: e.from, to: e.to, label: label, dotted: false))
        }
        for (i, step) in pipeline.steps.enumerated() {
            guard let c = step.condition else { continue }
            for id in c.stepReferences {
                guard let j = index[id], j != i, !reduced.contains(where: { $0.from == j && $0.to == i }) else { continue }
                // The label is drawn once per condition; further dotted edges only show what it reads.
                let label = labelledTargets.contains(i) ? nil : conditionLabel(step)
                out.append(DrawnEdge(from: j, to: i, label: label, dotted: true))
                labelledTargets.insert(i)
            }
        }
        let unlabelled = pipeline.steps.indices.filter { pipeline.steps[$0].condition != nil && !labelledTargets.contains($0) }
        return (out, unlabelled)
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
        let (edges, unlabelled) = drawnEdges()
        for e in edges {
            let arrow = e.dotted ? "-.->" : "-->"
            if let label = e.label {
                lines.append("  s\(e.from) \(arrow)|\"\(esc(label))\"| s\(e.to)")
            } else {
                lines.append("  s\(e.from) \(arrow) s\(e.to)")
            }
        }
        // A conditional step whose condition found no edge to sit on gets a label node.
        for i in unlabelled {
            if let c = conditionLabel(pipeline.steps[i]) {
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
        let (edges, unlabelled) = drawnEdges()
        for e in edges {
            var attrs: [String] = []
            if let label = e.label { attrs.append("label=\(esc(label))") }
            if e.dotted { attrs.append("style=dotted") }
            lines.append("  s\(e.from) -> s\(e.to)" + (attrs.isEmpty ? ";" : " [\(attrs.joined(separator: ", "))];"))
        }
        for i in unlabelled {
            if let c = conditionLabel(pipeline.steps[i]) {
                lines.append("  s\(i)_if [shape=plaintext, label=\(esc(c))];")
                lines.append("  s\(i)_if -> s\(i) [style=dotted];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
