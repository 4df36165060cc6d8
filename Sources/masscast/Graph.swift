import ArgumentParser
import Foundation
import PipelineCore
import PipelineYAML

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a pipeline's step graph as Mermaid or Graphviz DOT.",
        discussion: """
            Edges show what each step waits for (needs, references in expressions, and file order \
            for steps without needs), with implied edges removed. An edge into a step with `if` is \
            labelled with the condition. Sends are drawn with a double border, continue_on_error \
            steps dashed.

            Examples:
              masscast graph pipelines/video-to-tag.yaml                 # Mermaid, for Markdown
              masscast graph pipelines/video-to-tag.yaml --format dot | dot -Tsvg > graph.svg

            An invalid pipeline is not drawn: its errors are printed and the exit status is 2.
            """
    )

    @Argument(help: "The pipeline file.")
    var pipeline: String

    @Option(help: "mermaid or dot.")
    var format: GraphFormat = .mermaid

    func run() throws {
        let loaded = PipelineLoader().load(path: pipeline)
        guard let p = loaded.pipeline, !loaded.hasErrors else {
            let cache = SourceCache()
            let renderer = DiagnosticRenderer(color: useColor(2)) { cache.line($0, $1) }
            writeStderr(renderer.text(loaded.diagnostics, pipelines: 1, configs: []))
            throw Exit.invalid
        }
        writeStdout(StepGraph(p).render(format))
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the JSON Schema (draft-07) of the pipeline format.",
        discussion: """
            Editors use it for completion and checks: with yaml-language-server, put this line at \
            the top of a pipeline:

              # yaml-language-server: $schema=../schemas/pipeline.schema.json

            The copy in schemas/pipeline.schema.json is this output.
            """
    )

    func run() throws {
        writeStdout(PipelineSchema.json())
    }
}
