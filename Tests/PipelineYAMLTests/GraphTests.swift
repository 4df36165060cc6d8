import Foundation
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
        #expect(lines.contains("  s0[[\"send<br/>mass/sendall\"]]"))
        #expect(lines.contains("  s1[\"preview<br/>mass/preview\"]"))
        #expect(lines.contains("  s0 -->|\"if: steps.send.errcode == 48008\"| s1"))
        #expect(lines.contains("  s1 -->|\"if: always()\"| s2"))
        #expect(lines.filter { $0.contains("-->") }.count == 2)
        #expect(lines.contains("  class s0 continueOnError"))
    }

    @Test("DOT: nodes, edges and condition labels; quotes escaped")
    func dot() throws {
        let text = try graph(Self.conditional).render(.dot)
        #expect(text.hasPrefix("digraph \"test-broadcast\" {"))
        #expect(text.contains("s0 [label=\"send\\nmass/sendall\", peripheries=2, style=\"bold,dashed\"];"))
        #expect(text.contains("s0 -> s1 [label=\"if: steps.send.errcode == 48008\"];"))
        #expect(text.contains("s1 -> s2 [label=\"if: always()\"];"))
    }

    @Test("DOT output renders with graphviz")
    func dotRenders() throws {
        guard let dot = which("dot") else {
            if toolsRequired { Issue.record("graphviz `dot` is required (MASSCAST_REQUIRE_TOOLS=1) but not on PATH") }
            return
        }
        for url in Repo.files(in: Repo.pipelines) {
            let loaded = PipelineLoader().load(path: url.path)
            let p = try #require(loaded.pipeline)
            let result = try runProcess(dot, ["-Tsvg"], stdin: StepGraph(p).render(.dot))
            #expect(result.status == 0, "\(url.lastPathComponent): \(result.err)")
            #expect(result.out.contains("<svg"))
            let svg = result.out.replacingOccurrences(of: "&#45;", with: "-")
            for step in p.steps { #expect(svg.contains(step.id.value), "\(step.id.value) missing in SVG") }
        }
    }
}

@Suite("Graph drawing of conditions")
struct ConditionDrawingTests {
    @Test("a condition that reads a step that is not a predecessor gets a dotted, labelled edge from it")
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
        #expect(lines.contains("  s2 --> s3"))  // file order: cleanup before finish, unlabelled
        #expect(lines.contains("  s0 -.->|\"if: steps.send.outcome == 'success'\"| s3"))
    }
}
