import Foundation
import MasscastTesting
import PipelineCore
import PipelineYAML
import Testing

@Suite("Step graph")
struct GraphTests {
    func graph(_ steps: String) throws -> StepGraph {
        let loaded = load(pipeline(steps))
        #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
        return StepGraph(try #require(loaded.pipeline))
    }

    func edges(_ g: StepGraph, reduced: Bool = true) -> Set<String> {
        let ids = g.pipeline.steps.map(\.id.value)
        return Set((reduced ? g.reducedEdges() : g.edges).map { "\(ids[$0.from])>\(ids[$0.to])" })
    }

    @Test("a step without needs waits for every step before it")
    func fileOrder() throws {
        let g = try graph("""
              - { id: a, uses: mass/speed }
              - { id: b, uses: mass/speed }
              - { id: c, uses: mass/speed }
            """)
        #expect(g.dependencies[2] == [0, 1])
        #expect(edges(g) == ["a>b", "b>c"])  // a>c is implied and not drawn
    }

    @Test("needs: [] waits for nothing, so branches run in parallel; references add edges")
    func branches() throws {
        let g = try graph("""
              - { id: up1, uses: media/upload, with: { type: image, file: a.jpg } }
              - { id: up2, uses: media/upload, needs: [], with: { type: image, file: b.jpg } }
              - id: send
                uses: mass/sendall
                needs: [up2]
                with:
                  filter: { is_to_all: true }
                  msgtype: image
                  images:
                    media_ids: ["${{ steps.up1.outputs.media_id }}", "${{ steps.up2.outputs.media_id }}"]
            """)
        #expect(g.dependencies[1].isEmpty)
        #expect(g.dependencies[2] == [0, 1])
        #expect(edges(g) == ["up1>send", "up2>send"])
        #expect(g.edges.contains { $0.from == 0 && $0.to == 2 && $0.reason == .reference })
    }

    @Test("a cycle is reported with its path at the needs entry that closes it")
    func cycle() throws {
        let loaded = load(pipeline("""
              - { id: a, uses: mass/speed, needs: [c] }
              - { id: b, uses: mass/speed }
              - { id: c, uses: mass/speed, needs: [b] }
            """))
        let d = try #require(loaded.diagnostics.first { $0.code == .cycle })
        #expect(d.message.contains("a → c → b → a"))
        #expect(d.location?.line == 6 && d.location?.column == 40)
    }

    @Test("needs of unknown steps, of itself, and twice")
    func needsChecks() {
        #expect(codes(pipeline("  - { id: a, uses: mass/speed, needs: [zz] }")) == ["MC4001"])
        #expect(codes(pipeline("  - { id: a, uses: mass/speed, needs: [a] }")) == ["MC4005"])
        #expect(codes(pipeline("""
              - { id: a, uses: mass/speed }
              - { id: b, uses: mass/speed, needs: [a, a] }
            """)) == ["MC4006"])
    }

    @Test("references to later, unknown steps and unknown outputs")
    func references() {
        #expect(codes(pipeline("""
              - { id: a, uses: mass/get, with: { msg_id: "${{ steps.b.outputs.msg_id }}" } }
              - { id: b, uses: mass/get, with: { msg_id: 1 } }
            """)) == ["MC4002"])
        #expect(codes(pipeline("  - { id: a, uses: mass/get, with: { msg_id: \"${{ steps.q.outputs.msg_id }}\" } }"))
            == ["MC4001"])
        #expect(codes(pipeline("""
              - { id: a, uses: mass/get, with: { msg_id: 1 } }
              - { id: b, uses: mass/get, with: { msg_id: "${{ steps.a.outputs.media_id }}" } }
            """)) == ["MC4003"])
    }

    static let conditional = """
          - { id: send, uses: mass/sendall, continue_on_error: true, with: { filter: { is_to_all: true }, msgtype: mpnews, mpnews: { media_id: m } } }
          - id: preview
            uses: mass/preview
            if: ${{ steps.send.errcode == 48008 }}
            with: { towxname: editor_01, msgtype: mpnews, mpnews: { media_id: m } }
          - { id: cleanup, uses: mass/speed, if: "always()" }
        """

    @Test("Mermaid: one node per step, reduced edges, conditions as edge labels, sends double-bordered")
    func mermaid() throws {
        let text = try graph(Self.conditional).render(.mermaid)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "flowchart TD")
        #expect(lines.contains("  s0[[\"send<br/>mass/sendall<br/>mpnews → ALL FOLLOWERS\"]]"))
        #expect(lines.contains("  s1[\"preview<br/>mass/preview\"]"))
        #expect(lines.contains("  s0 -->|\"if: steps.send.errcode == 48008\"| s1"))
        #expect(lines.contains("  s1 -.->|\"if: always()\"| s2"))  // order only: cleanup reads nothing of preview
        #expect(lines.filter { $0.contains("-->") }.count == 1)
        #expect(lines.contains("  class s0 continueOnError"))
    }

    @Test("DOT: nodes, edges and condition labels; quotes escaped")
    func dot() throws {
        let text = try graph(Self.conditional).render(.dot)
        #expect(text.hasPrefix("digraph \"test-broadcast\" {"))
        #expect(text.contains("s0 [label=\"send\\nmass/sendall\\nmpnews → ALL FOLLOWERS\", peripheries=2, style=\"bold,dashed\"];"))
        #expect(text.contains("s0 -> s1 [label=\"if: steps.send.errcode == 48008\"];"))
        #expect(text.contains("s1 -> s2 [label=\"if: always()\", style=dotted];"))
    }

    @Test("DOT output renders with graphviz")
    func dotRenders() async throws {
        guard let dot = which("dot") else {
            if toolsRequired { Issue.record("graphviz `dot` is required (MASSCAST_REQUIRE_TOOLS=1) but not on PATH") }
            return
        }
        for url in Repo.files(in: Repo.pipelines) {
            let loaded = PipelineLoader().load(path: url.path)
            let p = try #require(loaded.pipeline)
            let input = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-graph-\(UUID().uuidString).dot")
            try StepGraph(p).render(.dot).write(to: input, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: input) }
            let result = try await runProcess(dot, ["-Tsvg", input.path])
            #expect(result.status == 0, "\(url.lastPathComponent): \(result.err)")
            #expect(result.out.contains("<svg"))
            let svg = result.out.replacingOccurrences(of: "&#45;", with: "-")
            for step in p.steps { #expect(svg.contains(step.id.value), "\(step.id.value) missing in SVG") }
        }
    }
}

@Suite("Graph pictures say who gets what")
struct GraphGoldenTests {
    func example() throws -> StepGraph {
        let loaded = PipelineLoader().load(path: Repo.pipelines.appendingPathComponent("mpnews-with-preview-fallback.yaml").path)
        return StepGraph(try #require(loaded.pipeline))
    }

    @Test("Mermaid of the mpnews example: audience and msgtype on the send, a legend of the shapes used")
    func mermaidGolden() throws {
        let expected = #"""
            flowchart TD
              s0["thumb<br/>media/upload"]
              s1["news<br/>media/uploadnews"]
              s2[["send<br/>mass/sendall<br/>mpnews → tag ${{ inputs.tag_id }}"]]
              s3["preview-instead<br/>mass/preview"]
              s4["finish<br/>mass/wait"]
              s0 --> s1
              s1 --> s2
              s2 -->|"if: steps.send.errcode == 48001 #124;#124; steps.send.errcode == 48008"| s3
              s3 -.-> s4
              s2 ==>|"if: steps.send.outcome == 'success'"| s4
              subgraph legend["Legend"]
                direction LR
                legend_send[["send: double border (cannot be undone)"]]
                legend_continue["continue_on_error: dashed border"]
                legend_before["earlier step"] -.->|"dotted edge: order only (file order, no value passed)"| legend_after["later step"]
                legend_from["earlier step"] ==>|"thick edge: a step an if reads"| legend_to["step with if"]
              end
              classDef continueOnError stroke-dasharray: 5 5
              class s2 continueOnError
              class legend_continue continueOnError
            """#
        #expect(try example().render(.mermaid) == expected + "\n")
    }

    @Test("DOT of the mpnews example: audience and msgtype on the send, a legend of the shapes used")
    func dotGolden() throws {
        let expected = #"""
            digraph "mpnews-with-preview-fallback" {
              rankdir=TB;
              node [shape=box, fontname="Helvetica"];
              edge [fontname="Helvetica", fontsize=10];
              s0 [label="thumb\nmedia/upload"];
              s1 [label="news\nmedia/uploadnews"];
              s2 [label="send\nmass/sendall\nmpnews → tag ${{ inputs.tag_id }}", peripheries=2, style="bold,dashed"];
              s3 [label="preview-instead\nmass/preview", style="rounded"];
              s4 [label="finish\nmass/wait", style="rounded"];
              s0 -> s1;
              s1 -> s2;
              s2 -> s3 [label="if: steps.send.errcode == 48001 || steps.send.errcode == 48008"];
              s3 -> s4 [style=dotted];
              s2 -> s4 [label="if: steps.send.outcome == 'success'", style=bold];
              subgraph cluster_legend {
                label="Legend"; style=dashed; fontname="Helvetica";
                legend_send [label="send: double border (cannot be undone)", peripheries=2, style="bold"];
                legend_continue [label="continue_on_error: dashed border", style="dashed"];
                legend_before [label="earlier step"];
                legend_after [label="later step"];
                legend_before -> legend_after [style=dotted, label="dotted edge: order only (file order, no value passed)"];
                legend_from [label="earlier step"];
                legend_to [label="step with if: rounded corners", style="rounded"];
                legend_from -> legend_to [style=bold, label="thick edge: a step an if reads"];
              }
            }
            """#
        #expect(try example().render(.dot) == expected + "\n")
    }

    @Test("who gets what: tag, all followers, the OpenID file's name, an inline list")
    func audiences() throws {
        func who(_ with: String, uses: String = "mass/sendall") throws -> String? {
            let loaded = load(pipeline("  - { id: s, uses: \(uses), with: \(with) }"))
            return StepGraph.whoGetsWhat(try #require(loaded.pipeline?.steps.first))
        }
        #expect(try who("{ filter: { is_to_all: false, tag_id: 100 }, msgtype: text, text: { content: hi } }") == "text → tag 100")
        #expect(try who("{ filter: { is_to_all: true }, msgtype: mpnews, mpnews: { media_id: m } }") == "mpnews → ALL FOLLOWERS")
        #expect(try who("{ touser_file: ../audiences/vip.txt, msgtype: text, text: { content: hi } }", uses: "mass/send")
            == "text → vip.txt")
        #expect(try who("{ touser: [oAAAAAAAAAA1, oAAAAAAAAAA2], msgtype: text, text: { content: hi } }", uses: "mass/send")
            == "text → 2 OpenIDs")
        #expect(try who("{ type: image, file: a.jpg }", uses: "media/upload") == nil)
    }

    @Test("a pipeline without sends, dotted edges or continue_on_error has no legend")
    func noLegend() throws {
        let loaded = load(pipeline("  - { id: a, uses: mass/speed }\n  - { id: b, uses: mass/speed, needs: [a] }"))
        let g = StepGraph(try #require(loaded.pipeline))
        #expect(g.render(.mermaid) == "flowchart TD\n  s0[\"a<br/>mass/speed\"]\n  s1[\"b<br/>mass/speed\"]\n  s0 --> s1\n")
        #expect(!g.render(.dot).contains("Legend"))
    }

    @Test("an edge that only keeps file order is dotted and the legend says so; one that passes a value is solid")
    func orderOnlyEdges() throws {
        let loaded = load(pipeline("""
              - { id: a, uses: mass/speed }
              - { id: b, uses: mass/speed }
              - { id: c, uses: mass/get, with: { msg_id: "${{ steps.b.outputs.speed }}" } }
            """))
        let mermaid = StepGraph(try #require(loaded.pipeline)).render(.mermaid)
        #expect(mermaid.contains("  s0 -.-> s1\n"), "\(mermaid)")
        #expect(mermaid.contains("  s1 --> s2\n"), "\(mermaid)")
        #expect(mermaid.contains("dotted edge: order only"), "\(mermaid)")
    }

    @Test("several pipelines: one subgraph each, node ids kept apart, one legend")
    func several() throws {
        let graphs = try Repo.files(in: Repo.pipelines).map { url in
            StepGraph(try #require(PipelineLoader().load(path: url.path).pipeline))
        }
        let mermaid = StepGraph.render(graphs, format: .mermaid)
        #expect(mermaid.components(separatedBy: "\n  subgraph p").count - 1 == graphs.count)
        #expect(mermaid.components(separatedBy: "subgraph legend").count == 2)
        let dot = StepGraph.render(graphs, format: .dot)
        #expect(dot.hasPrefix("digraph \"masscast\" {"))
        #expect(dot.components(separatedBy: "subgraph cluster_p").count - 1 == graphs.count)
    }
}

@Suite("Graph drawing of conditions")
struct ConditionDrawingTests {
    @Test("a condition that reads a step that is not a predecessor gets a thick, labelled edge from it")
    func dottedConditionEdge() throws {
        let loaded = load(pipeline(GraphTests.conditional + """

              - id: finish
                uses: mass/wait
                if: ${{ steps.send.outcome == 'success' }}
                with: { msg_id: "${{ steps.send.outputs.msg_id }}" }
            """))
        #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
        let text = StepGraph(try #require(loaded.pipeline)).render(.mermaid)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("  s2 -.-> s3"))  // file order only: cleanup before finish, unlabelled
        #expect(lines.contains("  s0 ==>|\"if: steps.send.outcome == 'success'\"| s3"))
    }

    @Test("the direct waits a run schedules by are the graph's dependencies, on 300 generated pipelines")
    func directWaits() throws {
        var random = SeededRandom(seed: 0x5EED_CA57)
        var compared = 0
        for _ in 0..<300 {
            let n = Int.random(in: 1...24, using: &random)
            var lines: [String] = []
            for i in 0..<n {
                var line = "  - { id: s\(i), uses: mass/speed"
                if Bool.random(using: &random) {
                    // needs: earlier steps only (no cycles), sometimes one twice, sometimes none.
                    let count = i == 0 ? 0 : Int.random(in: 0...min(i, 4), using: &random)
                    var needs = (0..<count).map { _ in "s\(Int.random(in: 0..<i, using: &random))" }
                    if let first = needs.first, Int.random(in: 0..<5, using: &random) == 0 { needs.append(first) }
                    line += ", needs: [\(needs.joined(separator: ", "))]"
                }
                if i > 0, Int.random(in: 0..<3, using: &random) == 0 {
                    line += ", if: \"steps.s\(Int.random(in: 0..<i, using: &random)).outcome == 'success'\""
                }
                lines.append(line + " }")
            }
            let loaded = load(pipeline(lines.joined(separator: "\n")))
            guard let p = loaded.pipeline, !loaded.hasErrors else {
                Issue.record("generated pipeline did not load: \(loaded.diagnostics)")
                continue
            }
            let g = StepGraph(p)
            #expect(StepGraph.directWaits(p) == g.dependencies.map { $0.sorted() })
            compared += 1
        }
        #expect(compared == 300)
    }
}

