import Foundation

/// Draws a step graph as Mermaid or Graphviz DOT text.
public enum GraphFormat: String, Sendable, CaseIterable {
    case mermaid, dot
}

extension StepGraph {
    /// The graph as text in `format`. Edges are the transitive reduction of the
    /// dependencies; an edge into a step with `if` carries the condition as its label;
    /// sends (irreversible) are drawn with a double border and say who gets what (the
    /// msgtype and the audience: `tag 100`, `ALL FOLLOWERS`, the OpenID file's name),
    /// `continue_on_error` steps dashed, order-only edges dotted, the edges from steps an `if`
    /// reads (when not direct predecessors) thick. A legend explains the shapes the graph uses.
    public func render(_ format: GraphFormat) -> String {
        Self.render([self], format: format)
    }

    /// Several pipelines in one picture (`masscast graph DIR`): one subgraph each, titled
    /// with the pipeline's name and file, and one legend. A single graph is drawn without
    /// a subgraph.
    public static func render(_ graphs: [StepGraph], format: GraphFormat) -> String {
        switch format {
        case .mermaid: renderMermaid(graphs)
        case .dot: renderDOT(graphs)
        }
    }

    private func label(_ step: Step) -> String {
        var text = step.uses.value.isEmpty ? step.id.value : "\(step.id.value)\n\(step.uses.value)"
        if let who = Self.whoGetsWhat(step) { text += "\n" + who }
        return text
    }

    /// `mpnews → tag 100`, `text → ALL FOLLOWERS`, `image → vip.txt`: a send's msgtype and
    /// audience, as written (an expression is shown as written too); `nil` for other steps.
    public static func whoGetsWhat(_ step: Step) -> String? {
        guard step.kind?.sends == true, let with = step.with else { return nil }
        func text(_ node: SourceNode?) -> String? {
            guard let scalar = node?.scalar?.text.trimmingCharacters(in: .whitespaces), !scalar.isEmpty else { return nil }
            return scalar
        }
        var audience: String?
        if let filter = with["filter"] {
            if filter["is_to_all"]?.typed == .bool(true) {
                audience = "ALL FOLLOWERS"
            } else if let tag = text(filter["tag_id"]) {
                audience = "tag \(tag)"
            }
        } else if let file = text(with["touser_file"]) {
            audience = (file as NSString).lastPathComponent
        } else if let list = with["touser"]?.items {
            audience = "\(list.count) \(list.count == 1 ? "OpenID" : "OpenIDs")"
        } else if let one = with["touser"], one.scalar != nil {
            audience = "preview to 1 OpenID"
        } else if let name = text(with["towxname"]) {
            audience = "preview to \(name)"
        }
        let msgtype = text(with["msgtype"])
        switch (msgtype, audience) {
        case let (m?, a?): return "\(m) → \(a)"
        case let (m?, nil): return m
        case let (nil, a?): return "→ \(a)"
        default: return nil
        }
    }

    private func conditionLabel(_ step: Step) -> String? {
        step.condition.map { "if: \($0.source.trimmingCharacters(in: .whitespaces))" }
    }

    /// How an edge is drawn.
    enum EdgeStyle: Hashable {
        /// A dependency that passes a value (`needs`, or an expression reading the step).
        case solid
        /// Order only: a step without `needs` waits for the steps listed before it.
        case order
        /// A condition reads a step that is not an immediate predecessor.
        case conditionRead
    }

    /// One drawn edge, labelled with the condition it gates.
    struct DrawnEdge: Hashable {
        var from: Int
        var to: Int
        var label: String?
        var style: EdgeStyle
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
            out.append(DrawnEdge(from: e.from, to: e.to, label: label, style: e.reason == .order ? .order : .solid))
        }
        for (i, step) in pipeline.steps.enumerated() {
            guard let c = step.condition else { continue }
            for id in c.stepReferences {
                guard let j = index[id], j != i, !reduced.contains(where: { $0.from == j && $0.to == i }) else { continue }
                // The label is drawn once per condition; further dotted edges only show what it reads.
                let label = labelledTargets.contains(i) ? nil : conditionLabel(step)
                out.append(DrawnEdge(from: j, to: i, label: label, style: .conditionRead))
                labelledTargets.insert(i)
            }
        }
        let unlabelled = pipeline.steps.indices.filter { pipeline.steps[$0].condition != nil && !labelledTargets.contains($0) }
        return (out, unlabelled)
    }

    /// What the legend must explain: the shapes `graphs` use.
    struct LegendNeeds {
        var send = false
        var continueOnError = false
        var orderEdge = false
        var conditionEdge = false
        /// A step with `if` (DOT draws it with rounded corners; Mermaid only labels its edge).
        var condition = false
        var isEmpty: Bool { !send && !continueOnError && !orderEdge && !conditionEdge }

        init(_ graphs: [StepGraph]) {
            for g in graphs {
                send = send || g.pipeline.steps.contains { $0.kind?.sends == true }
                continueOnError = continueOnError || g.pipeline.steps.contains(where: \.continueOnError)
                condition = condition || g.pipeline.steps.contains { $0.condition != nil }
                let (edges, unlabelled) = g.drawnEdges()
                orderEdge = orderEdge || edges.contains { $0.style == .order }
                conditionEdge = conditionEdge || edges.contains { $0.style == .conditionRead } || !unlabelled.isEmpty
            }
        }
    }

    static let legendSend = "send: double border (cannot be undone)"
    static let legendContinue = "continue_on_error: dashed border"
    static let legendOrder = "dotted edge: order only (file order, no value passed)"
    static let legendCondition = "thick edge: a step an if reads"

    private static func mermaidEscape(_ s: String) -> String {
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

    /// One pipeline's nodes and edges, node ids prefixed with `prefix`.
    private func mermaidBody(prefix: String, indent: String) -> (lines: [String], dashed: [String]) {
        let esc = Self.mermaidEscape
        var lines: [String] = []
        for (i, step) in pipeline.steps.enumerated() {
            let text = esc(label(step))
            let shape = step.kind?.sends == true ? "[[\"\(text)\"]]" : "[\"\(text)\"]"
            lines.append("\(indent)\(prefix)s\(i)\(shape)")
        }
        let (edges, unlabelled) = drawnEdges()
        for e in edges {
            let arrow = e.style == .order ? "-.->" : e.style == .conditionRead ? "==>" : "-->"
            if let label = e.label {
                lines.append("\(indent)\(prefix)s\(e.from) \(arrow)|\"\(esc(label))\"| \(prefix)s\(e.to)")
            } else {
                lines.append("\(indent)\(prefix)s\(e.from) \(arrow) \(prefix)s\(e.to)")
            }
        }
        // A conditional step whose condition found no edge to sit on gets a label node.
        for i in unlabelled {
            if let c = conditionLabel(pipeline.steps[i]) {
                lines.append("\(indent)\(prefix)s\(i)_if{{\"\(esc(c))\"}} ==> \(prefix)s\(i)")
            }
        }
        let dashed = pipeline.steps.indices.filter { pipeline.steps[$0].continueOnError }.map { "\(prefix)s\($0)" }
        return (lines, dashed)
    }

    private static func renderMermaid(_ graphs: [StepGraph]) -> String {
        let esc = mermaidEscape
        var lines = ["flowchart TD"]
        var dashed: [String] = []
        if graphs.count == 1 {
            let body = graphs[0].mermaidBody(prefix: "", indent: "  ")
            lines += body.lines
            dashed += body.dashed
        } else {
            for (n, g) in graphs.enumerated() {
                lines.append("  subgraph p\(n)[\"\(esc(g.pipeline.name.value + " (" + g.pipeline.file + ")"))\"]")
                let body = g.mermaidBody(prefix: "p\(n)_", indent: "    ")
                lines += body.lines
                dashed += body.dashed
                lines.append("  end")
            }
        }
        let legend = LegendNeeds(graphs)
        if !legend.isEmpty {
            lines.append("  subgraph legend[\"Legend\"]")
            lines.append("    direction LR")
            if legend.send { lines.append("    legend_send[[\"\(esc(legendSend))\"]]") }
            if legend.continueOnError {
                lines.append("    legend_continue[\"\(esc(legendContinue))\"]")
            }
            if legend.orderEdge {
                lines.append("    legend_before[\"earlier step\"] -.->|\"\(esc(legendOrder))\"| legend_after[\"later step\"]")
            }
            if legend.conditionEdge {
                lines.append("    legend_from[\"earlier step\"] ==>|\"\(esc(legendCondition))\"| legend_to[\"step with if\"]")
            }
            lines.append("  end")
        }
        if !dashed.isEmpty || legend.continueOnError {
            lines.append("  classDef continueOnError stroke-dasharray: 5 5")
        }
        if !dashed.isEmpty { lines.append("  class " + dashed.joined(separator: ",") + " continueOnError") }
        if legend.continueOnError { lines.append("  class legend_continue continueOnError") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func dotEscape(_ s: String) -> String {
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

    /// One pipeline's nodes and edges, node ids prefixed with `prefix`.
    private func dotBody(prefix: String, indent: String) -> [String] {
        let esc = Self.dotEscape
        var lines: [String] = []
        for (i, step) in pipeline.steps.enumerated() {
            var attrs = ["label=\(esc(label(step)))"]
            var styles: [String] = []
            if step.kind?.sends == true { attrs.append("peripheries=2"); styles.append("bold") }
            if step.continueOnError { styles.append("dashed") }
            if step.condition != nil { styles.append("rounded") }
            if !styles.isEmpty { attrs.append("style=\(esc(styles.joined(separator: ",")))") }
            lines.append("\(indent)\(prefix)s\(i) [\(attrs.joined(separator: ", "))];")
        }
        let (edges, unlabelled) = drawnEdges()
        for e in edges {
            var attrs: [String] = []
            if let label = e.label { attrs.append("label=\(esc(label))") }
            if e.style == .order { attrs.append("style=dotted") }
            if e.style == .conditionRead { attrs.append("style=bold") }
            lines.append("\(indent)\(prefix)s\(e.from) -> \(prefix)s\(e.to)" + (attrs.isEmpty ? ";" : " [\(attrs.joined(separator: ", "))];"))
        }
        for i in unlabelled {
            if let c = conditionLabel(pipeline.steps[i]) {
                lines.append("\(indent)\(prefix)s\(i)_if [shape=plaintext, label=\(esc(c))];")
                lines.append("\(indent)\(prefix)s\(i)_if -> \(prefix)s\(i) [style=bold];")
            }
        }
        return lines
    }

    private static func renderDOT(_ graphs: [StepGraph]) -> String {
        let esc = dotEscape
        let name = graphs.count == 1 ? graphs[0].pipeline.name.value : "masscast"
        var lines = ["digraph \(esc(name)) {", "  rankdir=TB;", "  node [shape=box, fontname=\"Helvetica\"];",
                     "  edge [fontname=\"Helvetica\", fontsize=10];"]
        if graphs.count == 1 {
            lines += graphs[0].dotBody(prefix: "", indent: "  ")
        } else {
            for (n, g) in graphs.enumerated() {
                lines.append("  subgraph cluster_p\(n) {")
                lines.append("    label=\(esc(g.pipeline.name.value + " (" + g.pipeline.file + ")"));")
                lines += g.dotBody(prefix: "p\(n)_", indent: "    ")
                lines.append("  }")
            }
        }
        let legend = LegendNeeds(graphs)
        if !legend.isEmpty || legend.condition {
            lines.append("  subgraph cluster_legend {")
            lines.append("    label=\"Legend\"; style=dashed; fontname=\"Helvetica\";")
            if legend.send { lines.append("    legend_send [label=\(esc(legendSend)), peripheries=2, style=\"bold\"];") }
            if legend.continueOnError { lines.append("    legend_continue [label=\(esc(legendContinue)), style=\"dashed\"];") }
            if legend.condition && !legend.conditionEdge {
                lines.append("    legend_if [label=\"step with if: rounded corners\", style=\"rounded\"];")
            }
            if legend.orderEdge {
                lines.append("    legend_before [label=\"earlier step\"];")
                lines.append("    legend_after [label=\"later step\"];")
                lines.append("    legend_before -> legend_after [style=dotted, label=\(esc(legendOrder))];")
            }
            if legend.conditionEdge {
                lines.append("    legend_from [label=\"earlier step\"];")
                lines.append("    legend_to [label=\"step with if: rounded corners\", style=\"rounded\"];")
                lines.append("    legend_from -> legend_to [style=bold, label=\(esc(legendCondition))];")
            }
            lines.append("  }")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
